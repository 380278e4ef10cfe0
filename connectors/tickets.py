"""ServiceNow-style incident exports (CONTRACT.md §1.4): CSV or CSV.gz, one row per update.

Rows become `TicketUpdate`s and are folded into tickets; a row that cannot be used (no number,
an unreadable date, a wrong column count, a contradiction with the ticket's earlier rows) is a
dead letter with its reason. Dates are the export's wall clock, `d/m/Y H:M` (seconds
optional); `?` or an empty cell is a missing value. Wall-clock times are kept as if UTC, since
calendars (weekdays, hours, holidays) are read in the desk's own local time.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from connectors.files import DeadLetter, InputError, iter_lines
from pipeline.tickets import TicketError, TicketFold, TicketUpdate

REQUIRED_COLUMNS = ("number", "opened_at")
MISSING = frozenset({"", "?"})
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_servicenow_time(text: str) -> float:
    """Epoch seconds of a `d/m/Y H:M[:S]` wall-clock time read as UTC.

    Raises `TicketError` for anything else, including impossible dates (31/2/2016).
    """
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise TicketError(f"unreadable date {text!r} (expected d/m/Y H:M)")
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise TicketError(f"impossible date {text!r}: {exc}") from None


def _value(row: Mapping[str, str | None], name: str) -> str | None:
    raw = row.get(name)
    if raw is None:
        return None
    text = raw.strip()
    return None if text in MISSING else text


def _time(row: Mapping[str, str | None], name: str) -> float | None:
    text = _value(row, name)
    if text is None:
        return None
    try:
        return parse_servicenow_time(text)
    except TicketError as exc:
        raise TicketError(f"{name}: {exc}") from None


def _count(row: Mapping[str, str | None], name: str) -> int | None:
    text = _value(row, name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise TicketError(f"{name}: not a whole number: {text!r}") from None


def update_from_row(row: Mapping[str, str | None]) -> TicketUpdate:
    """One export row (column name → cell text) as an update; raises `TicketError`."""
    number = _value(row, "number")
    if number is None:
        raise TicketError("missing number")
    opened_at = _time(row, "opened_at")
    if opened_at is None:
        raise TicketError("missing opened_at")
    return TicketUpdate(
        number=number,
        opened_at=opened_at,
        updated_at=_time(row, "sys_updated_at"),
        mod_count=_count(row, "sys_mod_count"),
        state=_value(row, "incident_state"),
        priority=_value(row, "priority"),
        category=_value(row, "category"),
        assignment_group=_value(row, "assignment_group"),
        cmdb_ci=_value(row, "cmdb_ci"),
        resolved_at=_time(row, "resolved_at"),
        closed_at=_time(row, "closed_at"),
        closed_code=_value(row, "closed_code"),
        reopen_count=_count(row, "reopen_count"),
    )


def read_ticket_rows(
    path: Path, progress: Callable[[int], object] | None = None
) -> Iterator[tuple[int, dict[str, str] | str, str]]:
    """(line number, row by column name, raw line) for each data row; a malformed row comes
    with the reason in place of the row.

    Raises `InputError` if the file cannot be read or its header lacks a required column.
    """
    lines = iter_lines(path, progress)
    current: list[tuple[int, str]] = []

    def texts() -> Iterator[str]:
        for lineno, text in lines:
            current[:] = [(lineno, text)]
            yield text

    reader = csv.reader(texts())
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise InputError(f"{path} is empty (no CSV header)") from None
    except csv.Error as exc:
        raise InputError(f"{path}: unreadable CSV header: {exc}") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InputError(f"{path}: header lacks column(s) {', '.join(missing)}")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lineno, text = current[0]
            yield lineno, f"unreadable CSV: {exc}", text
            continue
        lineno, text = current[0]
        if len(cells) != len(header):
            yield lineno, f"{len(cells)} columns where the header has {len(header)}", text
        else:
            yield lineno, dict(zip(header, cells, strict=True)), text


@dataclass(slots=True)
class TicketLoad:
    """The tickets of one export and the rows that could not be used."""

    fold: TicketFold
    dead_letters: list[DeadLetter] = field(default_factory=list)
    rows: int = 0


def load_tickets(path: Path, progress: Callable[[int], object] | None = None) -> TicketLoad:
    """Fold every row of an export; bad rows become dead letters, nothing is dropped silently."""
    load = TicketLoad(fold=TicketFold())
    name = str(path)
    for lineno, row, raw in read_ticket_rows(path, progress):
        load.rows += 1
        if isinstance(row, str):
            load.dead_letters.append(DeadLetter(name, lineno, row, raw))
            continue
        try:
            load.fold.add(update_from_row(row))
        except TicketError as exc:
            load.dead_letters.append(DeadLetter(name, lineno, str(exc), raw))
    return load
