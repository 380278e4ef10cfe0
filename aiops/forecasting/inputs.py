"""What the forecast, backtest and capacity commands share: options, loading the tickets into
an arrival history, and choosing the model by backtest."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from kafka.errors import KafkaError
from tqdm import tqdm

from aiops.errors import UsageError
from aiops.forecasting.backtest import choose_model, run_backtest
from aiops.forecasting.engine import CANDIDATES
from connectors.files import InputError, write_jsonl_atomic
from connectors.kafka.topics import TICKETS
from connectors.tickets import TicketLoad, load_tickets
from models.calendar import HolidayCalendar, validate_country
from models.forecasters import season_length
from pipeline.arrivals import GROUP_FIELDS, History, arrival_history
from pipeline.times import format_time

AUTO = "auto"


def _freq(text: str) -> str:
    value = text.strip().upper()
    if value not in ("H", "D"):
        raise argparse.ArgumentTypeError(f"must be H (hourly) or D (daily), not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _dates(text: str) -> list[date]:
    try:
        return [date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"dates must be YYYY-MM-DD: {exc}") from None


def add_ticket_options(parser: argparse.ArgumentParser, freqs: str = "H|D") -> None:
    parser.add_argument(
        "--tickets", type=Path, metavar="TICKETS.csv[.gz]",
        help="ServiceNow-style export, one row per ticket update",
    )  # fmt: skip
    parser.add_argument(
        "--bootstrap-servers", metavar="HOST:PORT",
        help="instead of --tickets: read the tickets topic whole (one message per update)",
    )  # fmt: skip
    parser.add_argument("--tickets-topic", default=TICKETS, help="default: %(default)s")
    parser.add_argument("--freq", type=_freq, required=True, metavar=freqs, help="period length")
    parser.add_argument(
        "--holidays", default="BR", metavar="COUNTRY",
        help="country whose public holidays count as off days (python-holidays code, e.g. "
        "US, DE, BR; 'none' for none; default: %(default)s, the sample data's)",
    )  # fmt: skip
    parser.add_argument(
        "--extra-holidays", type=_dates, default=[], metavar="DATES",
        help="more off days, comma-separated YYYY-MM-DD (company shutdowns)",
    )  # fmt: skip
    parser.add_argument(
        "--dead-letters", type=Path, metavar="FILE",
        help="write rows that could not be used here (JSONL); they are counted on stderr anyway",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=AUTO, choices=[AUTO, *CANDIDATES],
        help="forecasting model; auto (default) picks the best mean MASE of a backtest",
    )  # fmt: skip
    parser.add_argument(
        "--origins", type=positive_int, default=3, metavar="K",
        help="weekly backtest origins for --model auto (default: %(default)s)",
    )  # fmt: skip


def add_group_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by", choices=GROUP_FIELDS, metavar="FIELD",
        help=f"one series per value of FIELD ({', '.join(GROUP_FIELDS)})",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=positive_int, default=10, metavar="N",
        help="with --by: the N busiest values get their own series, the rest '(other)' "
        "(default: %(default)s)",
    )  # fmt: skip


def calendar_from(args: argparse.Namespace) -> HolidayCalendar:
    country = None if str(args.holidays).lower() == "none" else str(args.holidays).upper()
    try:
        validate_country(country)
    except ValueError as exc:
        raise UsageError(f"--holidays: {exc}") from None
    return HolidayCalendar(country, extra=args.extra_holidays)


def say(message: str) -> None:
    print(message, file=sys.stderr)


def _every(n: int, tick: Callable[[int], object]) -> Callable[[int], None]:
    """A per-line progress callback that ticks the bar once every `n` lines."""
    seen = 0

    def count(_chars: int) -> None:
        nonlocal seen
        seen += 1
        if seen % n == 0:
            tick(n)

    return count


def source_of(args: argparse.Namespace) -> str:
    """Where the tickets come from, for messages."""
    if args.bootstrap_servers is not None:
        return f"topic {args.tickets_topic} at {args.bootstrap_servers}"
    return f"--tickets {args.tickets}"


def _load(args: argparse.Namespace) -> TicketLoad:
    if (args.tickets is None) == (args.bootstrap_servers is None):
        raise UsageError("give --tickets FILE or --bootstrap-servers HOST:PORT (one of them)")
    if args.bootstrap_servers is not None:
        from connectors.kafka.tickets import fold_messages, read_topic

        try:
            messages = read_topic(args.bootstrap_servers, args.tickets_topic)
        except (KafkaError, LookupError, TimeoutError) as exc:
            raise UsageError(f"{source_of(args)}: {exc}") from None
        return fold_messages(args.tickets_topic, messages)
    path: Path = args.tickets
    if not path.is_file():
        raise UsageError(f"--tickets {path}: no such file")
    with tqdm(
        desc="tickets", unit="row", unit_scale=True, file=sys.stderr, leave=False,
        disable=args.no_progress,
    ) as bar:  # fmt: skip
        try:
            return load_tickets(path, progress=_every(1000, bar.update))
        except InputError as exc:
            raise UsageError(str(exc)) from None


def load_history(
    args: argparse.Namespace, by: str | None = None, top: int | None = None
) -> History:
    """Arrival counts of the --tickets file (or topic); a usage error if it cannot be read or
    used."""
    load = _load(args)
    if load.dead_letters:
        first = load.dead_letters[0]
        say(
            f"{len(load.dead_letters)} of {load.rows} rows unusable "
            f"(first: {first.file} line {first.line}: {first.error})"
        )
    if args.dead_letters is not None:
        write_jsonl_atomic(args.dead_letters, (d.to_dict() for d in load.dead_letters))
    if not load.fold.tickets or load.fold.known_until is None:
        raise UsageError(f"{source_of(args)}: no usable ticket")
    try:
        history = arrival_history(load.fold, args.freq, load.fold.known_until, by=by, top=top)
    except ValueError as exc:
        raise UsageError(f"{source_of(args)}: {exc}") from None
    index = history.counts.index
    say(
        f"{len(load.fold)} tickets, {len(index)} {args.freq} periods "
        f"{format_time(index[0].timestamp())} .. {format_time(index[-1].timestamp())} "
        f"(known until {format_time(history.known_until.timestamp())})"
    )
    if history.dropped_partial is not None:
        say(f"left out the partial last period {history.dropped_partial}")
    return history


def pick_model(
    args: argparse.Namespace, history: History, calendar: HolidayCalendar, horizon: int
) -> str:
    """--model, or with auto the candidate with the best backtest on the total series."""
    if args.model != AUTO:
        return str(args.model)
    total = history.counts.sum(axis=1)
    span = min(horizon, season_length(args.freq))
    steps = len(CANDIDATES) * args.origins
    with tqdm(
        total=steps, desc="backtest", file=sys.stderr, leave=False, disable=args.no_progress
    ) as bar:
        try:
            scores = run_backtest(
                total, args.freq, span, args.origins, calendar, on_step=bar.update
            )
        except ValueError as exc:
            say(f"no backtest ({exc}); using the calendar model")
            return "calendar"
    chosen = choose_model(scores)
    say(f"model chosen by backtest over {args.origins} weekly origins: {chosen}")
    return chosen
