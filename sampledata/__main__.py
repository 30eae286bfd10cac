from sampledata.generate import main

main()
