"""`aiops backtest`: every candidate model scored over rolling weekly origins."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from aiops.forecasting.backtest import (
    AUTOETS,
    Score,
    autoets_available,
    averages,
    choose_model,
    reference_models,
    run_backtest,
)
from aiops.forecasting.engine import CANDIDATES
from aiops.forecasting.inputs import (
    add_group_options,
    add_ticket_options,
    calendar_from,
    load_history,
    positive_int,
    say,
)
from aiops.forecasting.outputs import check_writable
from models.forecasters import season_length
from pipeline.times import format_time


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "backtest",
        help="score the forecasting models over rolling origins (MASE, sMAPE, coverage)",
        description="Fit every candidate model at each of the last K weekly origins on the "
        "data before it, forecast the periods after it, and print per origin MASE (scaled by "
        "the seasonal naive error of the training data), sMAPE and the share of actuals inside "
        "the 80% interval, then the averages and the model `forecast --model auto` would "
        "choose. statsforecast's AutoETS runs beside them for daily data when installed.",
    )
    add_ticket_options(p)
    p.add_argument(
        "--origins", type=positive_int, default=3, metavar="K",
        help="weekly origins, the latest ending with the data (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--horizon", type=positive_int, metavar="N",
        help="periods forecast from each origin (default: one week)",
    )  # fmt: skip
    p.add_argument("--no-autoets", action="store_true", help="skip the AutoETS reference")
    add_group_options(p)
    return p


def _print_table(series: str, scores: list[Score]) -> None:
    print(f"series {series}")
    print(f"  {'model':<9} {'origin':<21} {'MASE':>7} {'sMAPE%':>7} {'cover80':>7}")
    for s in scores:
        origin = format_time(s.origin.timestamp())
        print(f"  {s.model:<9} {origin:<21} {s.mase:7.3f} {s.smape:7.2f} {s.coverage:7.3f}")
    for model, avg in averages(scores).items():
        print(
            f"  {model:<9} {'mean':<21} {avg['mase']:7.3f} {avg['smape']:7.2f} "
            f"{avg['coverage']:7.3f}"
        )
    print(f"  chosen: {choose_model(scores)}")


def run(args: argparse.Namespace) -> int:
    check_writable(args.dead_letters)
    calendar = calendar_from(args)
    history = load_history(args, by=args.by, top=args.top if args.by else None)
    horizon = args.horizon or season_length(args.freq)
    with_autoets = not args.no_autoets and autoets_available()
    if not args.no_autoets and not with_autoets:
        say("statsforecast not installed: no AutoETS reference (pip install '.[baselines]')")
    models = [*CANDIDATES, *reference_models(args.freq, with_autoets)]
    if with_autoets and AUTOETS not in models:
        say("AutoETS runs on daily data only (its seasons stop at 24 periods)")
    columns = list(history.counts.columns)
    print(f"backtest: {args.freq} periods, horizon {horizon}, {args.origins} weekly origins")
    with tqdm(
        total=len(columns) * len(models) * args.origins, desc="backtest", file=sys.stderr,
        leave=False, disable=args.no_progress,
    ) as bar:  # fmt: skip
        for name in columns:
            try:
                scores = run_backtest(
                    history.counts[name], args.freq, horizon, args.origins, calendar,
                    models=models, on_step=bar.update,
                )  # fmt: skip
            except ValueError as exc:
                say(f"series {name}: {exc}")
                continue
            _print_table(str(name), scores)
    return 0
