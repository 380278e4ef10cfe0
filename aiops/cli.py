"""`aiops` console entry point.

Each command lives in `aiops/commands/<name>.py` with `register(subparsers)` and `run(args)`;
this module only dispatches. Bad usage and unreadable input end with a one-line reason on
stderr and a non-zero exit (CONTRACT.md §2).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aiops.errors import UsageError

# Command modules in the order `aiops --help` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "replay",
    "generate",
    "evaluate",
    "bench",
    "train-links",
    "train-outage",
    "train-rca",
    "feedback",
    "change-impact",
    "rca-bench",
    "forecast",
    "backtest",
    "capacity",
    "anomalies",
    "nab",
    "run",
    "webhook",
    "produce",
    "bench-kafka",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage block; the contract asks for one line.
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aiops", description="AIOps event correlation and prediction pipeline")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"aiops.commands.{name.replace('-', '_')}")
        command = module.register(sub)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        if not getattr(exc, "stale_build", False):  # pipeline/_build.py: rebuild needed
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
