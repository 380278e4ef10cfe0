"""`aiops generate`: a synthetic scenario with ground truth.

Writes alerts.jsonl (canonical alerts in delivery order), changes.jsonl, topology.yaml and
truth.json into --out. Every field of `aiops.scenarios.Params` is an option here, named after
it (`hop_delay` → `--hop-delay MIN MAX`); the profile gives the defaults.

Node alerts (NodeNotReady, a node's DiskUsageHigh, …) have `resource` = the node name, no
`service`, and labels `node` and `team: infra`. Their truth noise entry has `service: null`.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any

from aiops.errors import UsageError
from aiops.scenarios import PROFILES, Params, generate_for_target, profile_params, validate
from aiops.scenarios.profiles import PROFILE_NOTES
from aiops.scenarios.writer import write_scenario

_HINTS = typing.get_type_hints(Params)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _add_knob(parser: argparse.ArgumentParser, f: dataclasses.Field[Any]) -> None:
    """One option for one `Params` field, typed after the field's annotation."""
    flag = "--" + f.name.replace("_", "-")
    hint = _HINTS[f.name]
    help_text = f.metadata.get("help", "")
    metavar = f.metadata.get("metavar")
    if metavar is None:
        share = f.name.endswith("_share") or f.name.startswith("propagation")
        metavar = "P" if share else "N" if hint is int else "X"
    if hint is bool:
        parser.add_argument(flag, action="store_true", default=None, help=help_text)
    elif typing.get_origin(hint) is not tuple:
        parser.add_argument(flag, type=hint, metavar=metavar, help=help_text)
    elif (args := typing.get_args(hint))[-1] is Ellipsis:
        parser.add_argument(flag, type=_csv, metavar=metavar, help=help_text)
    else:
        if len(args) == 2:
            metavar = ("MIN", "MAX")
        parser.add_argument(flag, type=args[0], nargs=len(args), metavar=metavar, help=help_text)


def register(subparsers: Any) -> argparse.ArgumentParser:
    profiles = "\n".join(f"  {name:8} {note}" for name, note in PROFILE_NOTES.items())
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="write a synthetic scenario (alerts, changes, topology) with ground truth",
        description=(
            "Write a synthetic scenario into DIR: alerts.jsonl (in delivery order),\n"
            "changes.jsonl, topology.yaml and truth.json (which fault or noise source\n"
            "each alert comes from). Same seed and options, same bytes."
        ),
        epilog=f"profiles:\n{profiles}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--profile",
        default="default",
        choices=list(PROFILES),
        help="preset of parameters (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    knobs = parser.add_argument_group("scenario parameters (defaults from the profile)")
    for f in dataclasses.fields(Params):
        _add_knob(knobs, f)  # type: ignore[arg-type]
    return parser


def params_from_args(args: argparse.Namespace) -> Params:
    """The profile's parameters with the options given on the command line."""
    overrides: dict[str, Any] = {}
    for f in dataclasses.fields(Params):
        value = getattr(args, f.name, None)
        if value is not None:
            overrides[f.name] = tuple(value) if isinstance(value, list) else value
    try:
        params = profile_params(args.profile, **overrides)
        validate(params)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return params


def run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    progress = not args.no_progress
    scenario = generate_for_target(params, args.seed, args.profile, progress)
    try:
        write_scenario(scenario, out, progress)
    except OSError as exc:
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from None
    print(
        f"{len(scenario.events)} alerts, {len(scenario.changes)} changes, "
        f"{len(scenario.topology.services)} services, {len(scenario.faults)} faults, "
        f"{len(scenario.noise)} noise sources -> {out}"
    )
    return 0
