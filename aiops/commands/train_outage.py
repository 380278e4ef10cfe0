"""`aiops train-outage`: starting weights for outage forewarning, from generated scenarios."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiops.commands.train_links import rebuild_command, training_config
from aiops.training.outage import train


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train-outage",
        help="train the outage forewarning model's starting weights on generated scenarios",
        description="Replay generated training scenarios recording the forewarning stage's "
        "labelled snapshots, fit a logistic regression, pick the warning threshold, and write "
        "the model as JSON (point prediction.model at it).",
    )
    p.add_argument("--out", type=Path, required=True, help="model JSON to write")
    p.add_argument("--per-profile", type=int, default=4, help="randomised scenarios per profile")
    p.add_argument(
        "--standard",
        type=int,
        default=10,
        help="scenarios per profile with the profile's own parameters",
    )
    p.add_argument("--seed", type=int, default=2000, help="first training seed (>= 100)")
    p.add_argument("--max-false-alarms-per-day", type=float, default=5.0, help="false-alarm budget")
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    return p


def run(args: argparse.Namespace) -> int:
    config = training_config(args)
    model = train(
        config,
        args.per_profile,
        args.seed,
        args.max_false_alarms_per_day,
        log=lambda m: print(m, file=sys.stderr),
        standard=args.standard,
    )
    model.meta["command"] = rebuild_command(
        "train-outage", args, f"--max-false-alarms-per-day {args.max_false_alarms_per_day:g}"
    )
    model.save(args.out)
    print(f"wrote {args.out}: threshold {model.threshold}, {len(model.weights)} features")
    return 0
