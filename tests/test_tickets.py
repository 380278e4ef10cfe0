"""Ticket exports: the date parser, the fold of updates, dead letters."""

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.files import InputError
from connectors.tickets import load_tickets, parse_servicenow_time, update_from_row
from pipeline.tickets import TicketError, TicketFold, TicketUpdate

HEADER = (
    "number,incident_state,reopen_count,sys_mod_count,opened_at,sys_updated_at,"
    "category,cmdb_ci,priority,assignment_group,closed_code,resolved_at,closed_at"
)


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("29/2/2016 01:16", epoch(2016, 2, 29, 1, 16)),
        ("1/12/2016 23:05", epoch(2016, 12, 1, 23, 5)),
        ("05/03/2016 00:00", epoch(2016, 3, 5)),
        (" 7/4/2016 9:30:15 ", epoch(2016, 4, 7, 9, 30, 15)),
    ],
)
def test_parses_day_first_dates(text: str, expected: float) -> None:
    assert parse_servicenow_time(text) == expected


@pytest.mark.parametrize(
    "text", ["31/2/2016 10:00", "2016-02-29 10:00", "29/2/2016", "?", "13/13/2016 10:00", ""]
)
def test_rejects_unreadable_or_impossible_dates(text: str) -> None:
    with pytest.raises(TicketError):
        parse_servicenow_time(text)


def row(**cells: str) -> dict[str, str]:
    base = dict.fromkeys(HEADER.split(","), "?")
    base.update(number="INC1", opened_at="1/3/2016 10:00")
    base.update(cells)
    return base


def test_question_mark_is_missing_and_counts_are_numbers() -> None:
    up = update_from_row(row(priority="?", category="Category 5", sys_mod_count="3"))
    assert up.priority is None
    assert up.category == "Category 5"
    assert up.mod_count == 3
    assert up.resolved_at is None


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"number": "?"}, "missing number"),
        ({"opened_at": "?"}, "missing opened_at"),
        ({"resolved_at": "yesterday"}, "resolved_at"),
        ({"sys_mod_count": "two"}, "sys_mod_count"),
    ],
)
def test_bad_rows_raise_with_reason(cells: dict[str, str], reason: str) -> None:
    with pytest.raises(TicketError, match=reason):
        update_from_row(row(**cells))


def upd(mod: int, **fields: object) -> TicketUpdate:
    values: dict = {"number": "INC1", "opened_at": epoch(2016, 3, 1, 10), "mod_count": mod}
    values.update(fields)
    return TicketUpdate(**values)


def test_newest_update_wins_and_missing_values_do_not_erase() -> None:
    fold = TicketFold()
    fold.add(upd(0, state="New", priority="3 - Moderate", assignment_group="Group 1"))
    ticket = fold.add(upd(1, state="Active", priority="2 - High", assignment_group=None))
    assert ticket.priority == "2 - High"
    assert ticket.assignment_group == "Group 1"
    assert ticket.updates == 2
    assert len(fold) == 1


def test_late_older_update_only_fills_gaps() -> None:
    fold = TicketFold()
    fold.add(upd(5, state="Resolved", priority="2 - High"))
    ticket = fold.add(upd(2, state="Active", priority="4 - Low", category="Category 9"))
    assert ticket.state == "Resolved"
    assert ticket.priority == "2 - High"
    assert ticket.category == "Category 9"


def test_reopen_clears_resolution_until_resolved_again() -> None:
    fold = TicketFold()
    resolved = epoch(2016, 3, 2, 12)
    fold.add(upd(1, state="Resolved", resolved_at=resolved))
    assert not fold.tickets["INC1"].is_open
    ticket = fold.add(upd(2, state="Active", reopen_count=1))
    assert ticket.is_open
    assert ticket.reopen_count == 1
    again = epoch(2016, 3, 4, 9)
    ticket = fold.add(upd(3, state="Resolved", resolved_at=again, reopen_count=1))
    assert ticket.resolved_at == again
    assert not ticket.is_open


def test_conflicting_opened_at_is_refused_and_changes_nothing() -> None:
    fold = TicketFold()
    fold.add(upd(0, priority="3 - Moderate"))
    with pytest.raises(TicketError, match="opened_at"):
        fold.add(upd(1, opened_at=epoch(2016, 3, 9), priority="1 - Critical"))
    assert fold.tickets["INC1"].priority == "3 - Moderate"
    assert fold.tickets["INC1"].updates == 1


def write_export(path: Path, lines: list[str]) -> Path:
    text = "\n".join([HEADER, *lines]) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["export.csv", "export.csv.gz"])
def test_load_folds_rows_and_dead_letters_bad_ones(tmp_path: Path, name: str) -> None:
    lines = [
        "INC1,New,0,0,1/3/2016 10:00,1/3/2016 10:05,Category 1,?,3 - Moderate,Group 1,?,?,?",
        "INC2,New,0,0,1/3/2016 11:00,1/3/2016 11:02,Category 2,?,4 - Low,?,?,?,?",
        "INC1,Resolved,0,1,1/3/2016 10:00,2/3/2016 09:00,Category 1,?,3 - Moderate,Group 1,"
        "code 6,2/3/2016 09:00,?",
        "INC3,New,0,0,32/3/2016 10:00,1/3/2016 10:05,Category 1,?,3 - Moderate,?,?,?,?",
        "INC4,New,0,0",
        "?,New,0,0,1/3/2016 10:00,1/3/2016 10:05,Category 1,?,3 - Moderate,?,?,?,?",
        "",
        "INC1,Closed,0,2,3/3/2016 10:00,7/3/2016 09:00,Category 1,?,3 - Moderate,Group 1,"
        "code 6,2/3/2016 09:00,7/3/2016 09:00",
    ]
    load = load_tickets(write_export(tmp_path / name, lines))
    assert load.rows == 7
    assert sorted(load.fold.tickets) == ["INC1", "INC2"]
    inc1 = load.fold.tickets["INC1"]
    assert inc1.resolved_at == epoch(2016, 3, 2, 9)
    assert inc1.closed_at is None  # the closing row contradicts opened_at and was refused
    assert inc1.closed_code == "code 6"
    letters = {d.line: d.error for d in load.dead_letters}
    assert set(letters) == {5, 6, 7, 9}
    assert "opened_at" in letters[5]
    assert "columns" in letters[6]
    assert "missing number" in letters[7]
    assert "opened_at differs" in letters[9]
    assert all(d.raw for d in load.dead_letters)
    assert load.fold.known_until == epoch(2016, 3, 2, 9)


def test_header_without_required_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("number,priority\nINC1,3 - Moderate\n")
    with pytest.raises(InputError, match="opened_at"):
        load_tickets(path)


def test_missing_or_empty_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_tickets(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_tickets(tmp_path / "empty.csv")
