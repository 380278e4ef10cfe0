"""Service-desk tickets: updates folded into one record per ticket (CONTRACT.md §1.4).

An export holds one row per update of a ticket; a Kafka topic would carry one message per
update. Both end here as `TicketUpdate`s fed to `TicketFold.add`, one at a time and in any
order, so the same fold serves a file and a stream. Reading a format (dates, missing markers)
is the connector's work; this module sees parsed values only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# States after which a ticket counts as done; a later update in another state reopens it.
DONE_STATES = frozenset({"resolved", "closed", "canceled", "cancelled"})


class TicketError(ValueError):
    """An update that cannot be folded; the message is the dead letter's reason."""


@dataclass(slots=True, frozen=True)
class TicketUpdate:
    """One update of one ticket, values parsed; None is a missing value.

    `updated_at` and `mod_count` order updates that arrive out of order; either may be missing.
    """

    number: str
    opened_at: float
    updated_at: float | None = None
    mod_count: int | None = None
    state: str | None = None
    priority: str | None = None
    category: str | None = None
    assignment_group: str | None = None
    cmdb_ci: str | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    closed_code: str | None = None
    reopen_count: int | None = None


# Fields whose newest known value wins; a missing value never erases a known one.
_LATEST_WINS = ("state", "priority", "category", "assignment_group", "cmdb_ci", "closed_code")


@dataclass(slots=True)
class Ticket:
    """What is known of one ticket after the updates folded so far."""

    number: str
    opened_at: float
    state: str | None = None
    priority: str | None = None
    category: str | None = None
    assignment_group: str | None = None
    cmdb_ci: str | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    closed_code: str | None = None
    reopen_count: int = 0
    updates: int = 0
    _newest: tuple[float, float] = (float("-inf"), float("-inf"))

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None and self.closed_at is None

    def field(self, name: str) -> str | None:
        """A grouping field's value (`priority`, `category`, `assignment_group`, `cmdb_ci`)."""
        if name not in _LATEST_WINS:
            raise KeyError(name)
        return getattr(self, name)  # type: ignore[no-any-return]


def _order_key(update: TicketUpdate) -> tuple[float, float]:
    """Newer updates sort later: by modification count, then by update time."""
    mod = float("-inf") if update.mod_count is None else float(update.mod_count)
    at = float("-inf") if update.updated_at is None else update.updated_at
    return (mod, at)


def _reopens(ticket: Ticket, update: TicketUpdate) -> bool:
    """A newer update that says the ticket is being worked again after it was done."""
    if update.reopen_count is not None and update.reopen_count > ticket.reopen_count:
        return True
    was_done = ticket.state is not None and ticket.state.lower() in DONE_STATES
    now_open = update.state is not None and update.state.lower() not in DONE_STATES
    return was_done and now_open


class TicketFold:
    """Tickets by number, built from updates fed one at a time (`add`).

    The newest update (by `mod_count`, then `updated_at`) sets the mutable fields; an older one
    arriving late only fills what is still unknown. A reopening update clears the resolution
    and closure times unless it carries its own.
    """

    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.known_until: float | None = None  # the latest time any update mentions

    def __len__(self) -> int:
        return len(self.tickets)

    def __iter__(self) -> Iterator[Ticket]:
        return iter(self.tickets.values())

    def add(self, update: TicketUpdate) -> Ticket:
        """Fold one update in; raises `TicketError` (and changes nothing) if it contradicts
        what the ticket's earlier updates said."""
        ticket = self.tickets.get(update.number)
        if ticket is None:
            ticket = Ticket(number=update.number, opened_at=update.opened_at)
        elif update.opened_at != ticket.opened_at:
            raise TicketError(f"ticket {update.number}: opened_at differs from its earlier updates")
        self._apply(ticket, update)
        self.tickets[update.number] = ticket
        seen = max(update.opened_at, update.updated_at or update.opened_at)
        self.known_until = seen if self.known_until is None else max(self.known_until, seen)
        return ticket

    @staticmethod
    def _apply(ticket: Ticket, update: TicketUpdate) -> None:
        ticket.updates += 1
        key = _order_key(update)
        newer = key >= ticket._newest
        if newer and ticket.updates > 1 and _reopens(ticket, update):
            ticket.resolved_at = update.resolved_at
            ticket.closed_at = update.closed_at
        for name in (*_LATEST_WINS, "resolved_at", "closed_at"):
            value = getattr(update, name)
            if value is not None and (newer or getattr(ticket, name) is None):
                setattr(ticket, name, value)
        if update.reopen_count is not None:
            ticket.reopen_count = max(ticket.reopen_count, update.reopen_count)
        if newer:
            ticket._newest = key
