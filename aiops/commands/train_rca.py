"""`aiops train-rca`: learn the root-cause scorers from generated incidents with ground truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiops.errors import UsageError
from aiops.rca.training import train
from pipeline.config import ConfigError, load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train-rca",
        help="train the root-cause ranker on generated scenarios",
        description="Generate training scenarios (every profile, randomised parameters, seeds "
        "from --seed), replay them with a simulated problem manager confirming the true root "
        "of some final incidents, label every candidate and change of every incident by the "
        "truth, fit pairwise logistic regressions and write them as JSON (point "
        "root_cause.model at it).",
    )
    p.add_argument("--out", type=Path, required=True, help="model JSON to write")
    p.add_argument("--per-profile", type=int, default=12, help="scenarios per profile")
    p.add_argument("--seed", type=int, default=10_000, help="first training seed (>= 1000)")
    p.add_argument(
        "--feedback-share",
        type=float,
        default=0.5,
        help="share of final incidents the simulated problem manager confirms",
    )
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    return p


def run(args: argparse.Namespace) -> int:
    if args.seed < 1000:
        raise UsageError("--seed must be 1000 or more (1-99 evaluate, 100-999 train links)")
    if args.per_profile < 1:
        raise UsageError("--per-profile must be at least 1")
    if not 0.0 <= args.feedback_share <= 1.0:
        raise UsageError("--feedback-share must be between 0 and 1")
    if args.out.exists() and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a directory")
    try:
        config = load_config(args.config, {"root_cause": {"model": None}})
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    model = train(
        config,
        args.per_profile,
        args.seed,
        feedback_share=args.feedback_share,
        log=lambda m: print(m, file=sys.stderr),
    )
    try:
        model.save(args.out)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(
        f"wrote {args.out}: {model.meta['entity_rows']} candidate rows "
        f"({model.meta['entity_positive']} roots), {model.meta['change_rows']} change rows"
    )
    return 0
