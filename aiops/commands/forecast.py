"""`aiops forecast` (CONTRACT.md §2.3): ticket arrivals for the next N periods, 80 % bounds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from kafka.errors import KafkaError
from tqdm import tqdm

from aiops.errors import UsageError
from aiops.forecasting.engine import SeriesForecast, forecast_series
from aiops.forecasting.inputs import (
    add_group_options,
    add_model_options,
    add_ticket_options,
    calendar_from,
    load_history,
    pick_model,
    positive_int,
    source_of,
)
from aiops.forecasting.outputs import atomic_paths, check_writable, plot_path
from connectors.kafka.topics import FORECASTS
from pipeline.arrivals import FREQS
from pipeline.times import format_time

COLUMNS = ["timestamp", "series", "yhat", "yhat_lower", "yhat_upper"]


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "forecast",
        help="forecast ticket arrivals per hour or day, with 80%% intervals",
        description="Forecast ticket arrivals (distinct numbers by opened_at) for the N periods "
        "after the last complete one in the export. Writes timestamp,series,yhat,yhat_lower,"
        "yhat_upper (bounds of an 80% interval) and a PNG chart beside the CSV.",
    )
    add_ticket_options(p)
    p.add_argument("--horizon", type=positive_int, required=True, metavar="N", help="periods ahead")
    p.add_argument("--out", type=Path, required=True, metavar="FORECAST.csv", help="output CSV")
    p.add_argument("--no-plot", action="store_true", help="do not write FORECAST.png")
    p.add_argument(
        "--forecasts-topic", default=FORECASTS,
        help="with --bootstrap-servers: where the rows go too, keyed series|timestamp "
        "(default: %(default)s)",
    )  # fmt: skip
    add_group_options(p)
    add_model_options(p)
    return p


def forecast_frame(forecasts: list[SeriesForecast]) -> pd.DataFrame:
    """The contract's rows: one per series and period, period starts in ISO 8601 UTC."""
    parts = [
        pd.DataFrame(
            {
                "timestamp": [format_time(t.timestamp()) for t in fc.index],
                "series": fc.series,
                "yhat": fc.yhat.round(3),
                "yhat_lower": fc.lower.round(3),
                "yhat_upper": fc.upper.round(3),
            }
        )
        for fc in forecasts
    ]
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def run(args: argparse.Namespace) -> int:
    check_writable(args.out, args.dead_letters)
    calendar = calendar_from(args)
    history = load_history(args, by=args.by, top=args.top if args.by else None)
    model = pick_model(args, history, calendar, args.horizon)
    forecasts = []
    columns = list(history.counts.columns)
    for name in tqdm(columns, desc="series", file=sys.stderr, leave=False,
                     disable=args.no_progress or len(columns) == 1):  # fmt: skip
        try:
            forecasts.append(
                forecast_series(
                    str(name), history.counts[name], args.freq, args.horizon, model, calendar
                )
            )
        except ValueError as exc:
            raise UsageError(f"{source_of(args)}: {exc}") from None
    frame = forecast_frame(forecasts)
    targets = [args.out] if args.no_plot else [args.out, plot_path(args.out)]
    with atomic_paths(*targets) as temps:
        frame.to_csv(temps[0], index=False)
        if not args.no_plot:
            from aiops.forecasting.plots import plot_forecasts

            plot_forecasts(history.counts, forecasts, FREQS[args.freq], temps[1])
    destinations = list(map(str, targets))
    if args.bootstrap_servers is not None:
        from connectors.kafka.tickets import forecast_messages, produce

        try:
            produce(
                args.bootstrap_servers,
                args.forecasts_topic,
                forecast_messages(frame.to_dict("records")),
            )
        except KafkaError as exc:
            raise UsageError(f"cannot write to {args.forecasts_topic}: {exc}") from None
        destinations.append(args.forecasts_topic)
    print(
        f"{len(forecasts)} series x {args.horizon} {args.freq} periods from "
        f"{frame['timestamp'].iloc[0]} ({model} model) -> {', '.join(destinations)}"
    )
    return 0
