"""`aiops train-links`: train the correlator's link model on generated scenarios."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiops.errors import UsageError
from aiops.training.links import KINDS, extend, train
from models.linkmodel import LinkModel, TreeLinkModel
from pipeline.config import Config, ConfigError, load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train-links",
        help="train the correlator's link model on generated scenarios",
        description="Generate training scenarios (every profile, randomised parameters, seeds "
        "from --seed), replay them recording every candidate link with its truth, fit a "
        "logistic regression (or gradient-boosted trees), and write it as JSON (point "
        "correlation.link_model at it).",
    )
    p.add_argument("--out", type=Path, required=True, help="model JSON to write")
    p.add_argument("--per-profile", type=int, default=6, help="scenarios per profile")
    p.add_argument(
        "--standard",
        type=int,
        default=0,
        help="more scenarios per profile with the profile's own parameters",
    )
    p.add_argument("--seed", type=int, default=100, help="first training seed (>= 100)")
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="logistic",
        help="model to fit (default: %(default)s, the shipped kind; see README)",
    )
    p.add_argument(
        "--extend",
        type=Path,
        metavar="MODEL",
        help="keep this trained logistic model and fit only the features it lacks, its own "
        "score held fixed (see README, Learned parts)",
    )
    return p


def training_config(args: argparse.Namespace) -> Config:
    """Checks shared by the training commands; the configuration to train under."""
    if args.seed < 100:
        raise UsageError("--seed must be 100 or more (seeds below 100 are for evaluation)")
    if args.per_profile < 1:
        raise UsageError("--per-profile must be at least 1")
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def rebuild_command(name: str, args: argparse.Namespace, *extra: str) -> str:
    """The command that makes this model again (same scenarios, same weights), for its meta."""
    return " ".join(
        [
            f"aiops {name} --out",
            str(args.out),
            f"--per-profile {args.per_profile} --standard {args.standard} --seed {args.seed}",
            *extra,
            *(["--config", str(args.config)] if args.config else []),
        ]
    )


def run(args: argparse.Namespace) -> int:
    config = training_config(args)
    if args.standard < 0:
        raise UsageError("--standard must be 0 or more")
    if args.extend is not None:
        return run_extend(args, config)
    model = train(
        config,
        args.per_profile,
        args.seed,
        log=lambda m: print(m, file=sys.stderr),
        standard=args.standard,
        kind=args.kind,
    )
    model.meta["command"] = rebuild_command("train-links", args, f"--kind {args.kind}")
    model.save(args.out)
    if isinstance(model, TreeLinkModel):
        size = f"{len(model.roots)} trees"
    else:
        size = f"{len(model.weights)} features"
    print(f"wrote {args.out}: threshold {model.threshold}, {size}")
    return 0


def run_extend(args: argparse.Namespace, config: Config) -> int:
    if args.kind != "logistic" or args.standard:
        raise UsageError("--extend takes a logistic model and neither --kind trees nor --standard")
    try:
        base = LinkModel.load(args.extend)
    except ValueError as exc:  # read_model's one-line reason
        raise UsageError(str(exc)) from None
    model = extend(
        config, base, args.per_profile, args.seed, log=lambda m: print(m, file=sys.stderr)
    )
    how = rebuild_command("train-links", args, f"--extend {args.extend}")
    model.meta["command"] = f"{base.meta.get('command', '(unrecorded)')}; then {how}"
    model.save(args.out)
    print(f"wrote {args.out}: threshold {model.threshold}, {len(model.weights)} features")
    return 0
