"""`aiops capacity`: staff needed per hour and per shift to meet a service-level target."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiops.errors import UsageError
from aiops.forecasting.engine import forecast_series
from aiops.forecasting.inputs import (
    add_model_options,
    add_ticket_options,
    calendar_from,
    load_history,
    pick_model,
    positive_int,
    source_of,
)
from aiops.forecasting.outputs import atomic_paths, check_writable, plot_path
from aiops.forecasting.staffing import (
    DEFAULT_EFFORT,
    PlanSettings,
    mean_handling_minutes,
    parse_effort,
    parse_sla,
    shift_summary,
    staffing_plan,
)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), not {value}")
    return value


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    effort = ",".join(f"{k}={v:g}" for k, v in DEFAULT_EFFORT.items())
    p = sub.add_parser(
        "capacity",
        help="staffing plan per hour and shift from the hourly forecast (Erlang C)",
        description="Forecast hourly arrivals, turn them into workload with the handling "
        "effort per priority, and compute with Erlang C the agents needed each hour for the "
        "service-level target, for the forecast and for its 80% upper bound. Writes PLAN.csv "
        "and PLAN.png; prints the staff per shift.",
    )
    add_ticket_options(p, freqs="H")
    p.add_argument("--horizon", type=positive_int, required=True, metavar="N", help="hours ahead")
    p.add_argument("--out", type=Path, required=True, metavar="PLAN.csv", help="output CSV")
    p.add_argument(
        "--sla", default="80/30", metavar="PCT/MIN",
        help="share of tickets to pick up within MIN minutes (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--effort", default=effort, metavar="PRIO=MIN,...",
        help="minutes of work per ticket by priority (its leading number or full value), "
        "'default' for the rest, or one number for all (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--shrinkage", type=_share, default=0.3, metavar="S",
        help="share of rostered time not on tickets (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--max-occupancy", type=float, default=0.85, metavar="O",
        help="highest share of time an agent is busy on tickets (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--shift-hours", type=int, default=8, choices=[1, 2, 3, 4, 6, 8, 12, 24],
        metavar="H", help="shift length for the per-shift summary (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--no-plot", action="store_true", help="do not write PLAN.png")
    add_model_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.freq != "H":
        raise UsageError("capacity plans are hourly: use --freq H")
    if not 0 < args.max_occupancy <= 1:
        raise UsageError("--max-occupancy must lie in (0, 1]")
    try:
        target = parse_sla(args.sla)
        effort = parse_effort(args.effort)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_writable(args.out, args.dead_letters)
    calendar = calendar_from(args)
    history = load_history(args, by="priority")
    total = history.counts.sum(axis=1)
    model = pick_model(args, history, calendar, args.horizon)
    try:
        fc = forecast_series("total", total, "H", args.horizon, model, calendar)
    except ValueError as exc:
        raise UsageError(f"{source_of(args)}: {exc}") from None
    aht = mean_handling_minutes(history.counts, effort)
    settings = PlanSettings(target, aht, args.shrinkage, args.max_occupancy, args.shift_hours)
    plan = staffing_plan(fc, settings)
    targets = [args.out] if args.no_plot else [args.out, plot_path(args.out)]
    with atomic_paths(*targets) as temps:
        plan.to_csv(temps[0], index=False)
        if not args.no_plot:
            from aiops.forecasting.plots import plot_plan

            plot_plan(plan, temps[1])
    print(
        f"{args.horizon} hours from {plan['timestamp'].iloc[0]} ({model} model), "
        f"{aht:.1f} min per ticket, target {target.level:.0%} within {target.wait_minutes:g} "
        f"min, shrinkage {args.shrinkage:.0%} -> {', '.join(map(str, targets))}"
    )
    print(f"{'shift start':<21} {'tickets':>8} {'staff':>6} {'upper':>6}")
    for row in shift_summary(plan).itertuples():
        print(f"{row.Index:<21} {row.tickets:8.1f} {row.staff:6d} {row.staff_upper:6d}")
    return 0
