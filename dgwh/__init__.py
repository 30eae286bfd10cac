"""The one command line of the warehouse: ``dgwh <command> [arguments]`` (see ``dgwh.cli``)."""
