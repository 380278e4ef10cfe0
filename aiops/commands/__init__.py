"""One module per `aiops` command: `register(subparsers)` adds its parser, `run(args)` runs it."""
