from dgwh.cli import main

raise SystemExit(main())
