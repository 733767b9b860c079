"""Type stubs for the compiled extension module ``linli._linli``."""

import datetime
import os
from decimal import Decimal
from pathlib import Path
from collections.abc import Iterator
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union, final


_Path = Union[str, "os.PathLike[str]"]

# PyO3 records every name added to the module in its `__all__`.
__all__ = [
    "__version__",
    "core_version",
    "LinliError",
    "ValidationError",
    "NotFoundError",
    "AuthorizationError",
    "ConflictError",
    "StorageError",
    "SyncError",
    "Node",
    "NodeStatus",
    "DocumentInfo",
    "Standing",
    "CompoundInfo",
    "ExportSummary",
    "ImportReport",
    "Booking",
    "Event",
    "Events",
    "Wish",
    "Rejected",
    "CertificateInfo",
    "LedgerEntries",
    "LedgerEntry",
    "MealOrder",
    "KitchenDay",
    "Appointment",
    "AppointmentState",
    "Inspection",
    "ScoreSheet",
    "CompositeScore",
    "Claim",
    "Peer",
    "SyncReport",
]

__version__: str

def core_version() -> str:
    """Returns the version of the linli node crate this extension was built against."""

class LinliError(Exception):
    """Base class of every error raised by linli."""

class ValidationError(LinliError):
    """An input or a document failed validation."""

class NotFoundError(ValidationError):
    """A named document or record does not exist here."""

class AuthorizationError(LinliError):
    """The actor is not allowed to perform the operation."""

class ConflictError(LinliError):
    """The operation conflicts with the current state."""

class StorageError(LinliError):
    """Reading from or writing to storage failed."""

class SyncError(LinliError):
    """Synchronising with a peer failed."""

@final
class Node:
    """A linli node: a data directory served by a background actor, with its own identity."""

    @staticmethod
    def init(
        path: _Path,
        *,
        org: str,
        root: Optional[str] = None,
        secret: Optional[bytes] = None,
        durability: str = "full",
        snapshot_every: Optional[int] = None,
        max_size_bytes: Optional[int] = None,
        check_integrity: bool = True,
    ) -> Node:
        """Creates a node in ``path`` and opens it (without ``root``: the district root)."""
    @staticmethod
    def open(
        path: _Path,
        *,
        config: Optional[_Path] = None,
        durability: str = "full",
        snapshot_every: Optional[int] = None,
        max_size_bytes: Optional[int] = None,
        check_integrity: bool = True,
    ) -> Node:
        """Opens the node stored in ``path``."""
    @property
    def node_id(self) -> str: ...
    @property
    def org(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def closed(self) -> bool: ...
    @property
    def config_path(self) -> Optional[Path]:
        """The configuration file given to ``open``, if any."""
    def close(self) -> None:
        """Stops the node and closes its store (idempotent)."""
    def __enter__(self) -> Node: ...
    def __exit__(self, *_args: object) -> bool: ...
    def status(self) -> NodeStatus: ...
    def documents(self) -> list[DocumentInfo]: ...
    def heads(self, doc: str) -> list[str]:
        """Current heads of a document (hex change hashes, sorted)."""
    def peers(self) -> list[Peer]: ...
    def listen(
        self,
        addrs: Optional[Sequence[str]] = None,
        *,
        bootstrap: Optional[Sequence[str]] = None,
        sync_interval: int = 30,
    ) -> list[str]:
        """Starts the network; returns the addresses to give other nodes."""
    def sync_with(self, addr: str, *, timeout: float = 30.0) -> SyncReport:
        """Connects to ``addr``, runs one sync session and returns what moved."""
    def create_federation(
        self,
        *,
        checklist_id: Optional[str] = None,
        checklist: Optional[Sequence[tuple[str, str, str, int]]] = None,
        weights: Optional[Mapping[str, int]] = None,
        pass_mark: Optional[int] = None,
    ) -> str: ...
    def set_district_config(
        self,
        federation: str,
        *,
        checklist_id: Optional[str] = None,
        checklist: Optional[Sequence[tuple[str, str, str, int]]] = None,
        weights: Optional[Mapping[str, int]] = None,
        pass_mark: Optional[int] = None,
    ) -> None:
        """Replaces the district settings (root only): checklist, scoring weights, pass mark."""
    def issue_certificate(
        self,
        federation: str,
        subject: str,
        role: str,
        org: str,
        parent: Optional[str] = None,
        *,
        name: Optional[str] = None,
        not_before: Optional[datetime.datetime] = None,
        not_after: Optional[datetime.datetime] = None,
    ) -> None: ...
    def revoke_certificate(self, federation: str, subject: str, reason: str) -> None: ...
    def certificates(self, federation: str) -> list[CertificateInfo]: ...
    def create_ledger(
        self, year: int, street: str, community: Optional[str] = None
    ) -> str: ...
    def record_service(
        self,
        ledger: str,
        volunteer: str,
        activity: str,
        date: Union[datetime.date, str],
        hours: float,
        team: Optional[str] = None,
        evidence: Optional[str] = None,
        *,
        dry_run: bool = False,
    ) -> str:
        """Records service; with ``dry_run=True`` only checks it against the ledger's rules."""
    def redeem(
        self,
        ledger: str,
        volunteer: str,
        item: str,
        cost: Union[Decimal, int, str],
        outlet: str,
    ) -> str: ...
    def correct(
        self,
        ledger: str,
        volunteer: str,
        delta: Union[Decimal, int, str],
        reason: str,
        corrects: Optional[str] = None,
    ) -> str: ...
    def balance(self, volunteer: str) -> Decimal: ...
    def leaderboard(
        self,
        ledger: str,
        team: Optional[str] = None,
        *,
        across: bool = False,
        home: Optional[str] = None,
    ) -> list[Standing]: ...
    def ledger_entries(
        self, ledger: str, *, volunteer: Optional[str] = None, page_size: int = 256
    ) -> LedgerEntries:
        """The entries of a ledger, read ``page_size`` at a time."""
    def create_registry(
        self, street: str, title: str, community: Optional[str] = None
    ) -> str: ...
    def add_compound(
        self,
        registry: str,
        name: str,
        address: str,
        households: int,
        mode: str = "property_firm",
    ) -> str: ...
    def compounds(self, registry: str) -> list[CompoundInfo]: ...
    def appoint(
        self,
        registry: str,
        compound: str,
        manager: str,
        start: Union[datetime.date, str],
        *,
        end: Union[datetime.date, str, None] = None,
        mode: str = "property_firm",
        status: str = "appointed",
    ) -> None: ...
    def appointment(self, registry: str, compound: str) -> AppointmentState: ...
    def inspect(
        self,
        registry: str,
        compound: str,
        date: Union[datetime.date, str],
        results: Mapping[str, bool],
        note: str = "",
    ) -> str: ...
    def inspections(self, registry: str, compound: str) -> list[Inspection]: ...
    def score(
        self,
        registry: str,
        compound: str,
        year: int,
        role: str,
        marks: Mapping[str, int],
        comment: str = "",
    ) -> None: ...
    def score_sheets(self, registry: str, compound: str, year: int) -> list[ScoreSheet]: ...
    def composite_score(self, registry: str, compound: str, year: int) -> CompositeScore: ...
    def create_room(
        self, street: str, name: str, capacity: int, community: Optional[str] = None
    ) -> str: ...
    def request_booking(
        self,
        resource: str,
        booker: str,
        purpose: str,
        start: datetime.datetime,
        end: datetime.datetime,
        attendees: int,
        *,
        organisation: Optional[str] = None,
        contact: Optional[str] = None,
        alternates: Optional[Sequence[tuple[datetime.datetime, datetime.datetime]]] = None,
        weeks: Optional[int] = None,
    ) -> str: ...
    def confirm_booking(self, resource: str, booking: str) -> None: ...
    def reject_booking(self, resource: str, booking: str, reason: str) -> None: ...
    def waitlist_booking(self, resource: str, booking: str) -> None: ...
    def revoke_booking(self, resource: str, booking: str, reason: str) -> None: ...
    def cancel_booking(self, resource: str, booking: str, reason: str = "") -> None: ...
    def promote_waitlist(self, resource: str) -> list[str]: ...
    def waitlist(self, resource: str) -> list[Booking]: ...
    def bookings(self, resource: str) -> list[Booking]: ...
    def create_kitchen(
        self,
        street: str,
        name: str,
        capacity: int,
        daily_capacity: int,
        community: Optional[str] = None,
    ) -> str: ...
    def place_order(
        self,
        kitchen: str,
        household: str,
        date: Union[datetime.date, str],
        portions: int,
        items: Sequence[str],
    ) -> str: ...
    def accept_order(self, kitchen: str, order: str) -> None: ...
    def refuse_order(self, kitchen: str, order: str, reason: str) -> None: ...
    def mark_collected(self, kitchen: str, order: str, collected: bool = True) -> None: ...
    def cancel_order(self, kitchen: str, order: str) -> None: ...
    def kitchen_day(self, kitchen: str, date: Union[datetime.date, str]) -> KitchenDay: ...
    def orders(self, kitchen: str) -> list[MealOrder]: ...
    def create_wishes(
        self, street: str, title: str, community: Optional[str] = None
    ) -> str: ...
    def post_wish(
        self,
        wishes: str,
        kind: str,
        title: str,
        text: str,
        category: str,
        channel: str = "app",
        place: Optional[str] = None,
        *,
        resident_name: Optional[str] = None,
        resident_contact: Optional[str] = None,
        resident_address: Optional[str] = None,
    ) -> str: ...
    def operations(self, kind: Optional[str] = None) -> list[dict[str, Any]]: ...
    def operation(self, op: str, doc: Optional[str] = None, **fields: Any) -> Any: ...
    def identify_volunteer(
        self,
        ledger: str,
        volunteer: str,
        name: str,
        phone: Optional[str] = None,
        id_number: Optional[str] = None,
    ) -> None: ...
    def erase_personal(self, doc: str, record: str) -> None: ...
    def personal_records(self, doc: Optional[str] = None) -> list[dict[str, Any]]: ...
    def wishes(self, wishes: str) -> list[Wish]: ...
    def claim_wish(
        self, wishes: str, wish: str, note: str = "", volunteer: Optional[str] = None
    ) -> str: ...
    def assign_claim(self, wishes: str, wish: str, claim: str) -> None: ...
    def release_claim(self, wishes: str, wish: str, claim: str) -> None: ...
    def advance_wish(self, wishes: str, wish: str, stage: str, text: str = "") -> None: ...
    def claims(self, wishes: str, wish: str) -> list[Claim]: ...
    def rejected(self) -> list[Rejected]: ...
    def subscribe(self) -> Events:
        """Events of this node from now on, as an iterator."""
    def events(self) -> Events:
        """The same as ``subscribe()``."""
    def export(self, path: _Path) -> ExportSummary: ...
    def import_(self, path: _Path) -> ImportReport: ...

@final
class NodeStatus:
    """Identity and counts of a node, as returned by ``Node.status()``."""

    @property
    def node_id(self) -> str: ...
    @property
    def org(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def documents(self) -> dict[str, int]: ...
    @property
    def log(self) -> int: ...
    @property
    def accepted(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def snapshots(self) -> int: ...
    @property
    def incarnation(self) -> str: ...
    @property
    def equivocating(self) -> list[str]: ...

@final
class DocumentInfo:
    """One document held by a node, as listed by ``Node.documents()``."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def street(self) -> str: ...
    @property
    def community(self) -> Optional[str]: ...
    @property
    def year(self) -> Optional[int]: ...
    @property
    def title(self) -> str: ...
    @property
    def created(self) -> datetime.datetime: ...

@final
class Standing:
    """A row of a ledger's leaderboard."""

    @property
    def volunteer(self) -> str: ...
    @property
    def earned(self) -> Decimal: ...
    @property
    def minutes(self) -> int: ...
    @property
    def stars(self) -> int: ...

@final
class CompoundInfo:
    """A compound of a registry."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def households(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def status(self) -> str: ...

@final
class ExportSummary:
    """What ``Node.export()`` wrote."""

    @property
    def path(self) -> Path: ...
    @property
    def changes(self) -> int: ...
    @property
    def bytes(self) -> int: ...

@final
class ImportReport:
    """What ``Node.import_()`` did."""

    @property
    def entries(self) -> int: ...
    @property
    def applied(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def invalid(self) -> list[tuple[int, str]]: ...
    @property
    def complete(self) -> bool: ...
    @property
    def problem(self) -> Optional[str]: ...

@final
class Booking:
    """A booking of a resource, as listed by ``Node.bookings()``."""

    @property
    def id(self) -> str: ...
    @property
    def booker(self) -> str: ...
    @property
    def organisation(self) -> Optional[str]: ...
    @property
    def contact(self) -> Optional[str]: ...
    @property
    def purpose(self) -> str: ...
    @property
    def attendees(self) -> int: ...
    @property
    def start(self) -> datetime.datetime: ...
    @property
    def end(self) -> datetime.datetime: ...
    @property
    def requested_at(self) -> datetime.datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def confirmed_start(self) -> Optional[datetime.datetime]: ...
    @property
    def confirmed_end(self) -> Optional[datetime.datetime]: ...
    @property
    def status_reason(self) -> Optional[str]: ...

@final
class Event:
    """Something that happened in a node (see ``Node.subscribe()``)."""

    @property
    def kind(self) -> str: ...
    @property
    def doc(self) -> Optional[str]: ...
    @property
    def origin(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def peer(self) -> Optional[str]: ...

@final
class Events:
    """An iterator over the events of a node (see ``Node.subscribe()``)."""

    def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or ``None`` after ``timeout`` seconds or once the node is closed."""
    def __iter__(self) -> Iterator[Event]: ...
    def __next__(self) -> Event: ...

@final
class Wish:
    """An item of a wishes document."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def place(self) -> Optional[str]: ...
    @property
    def by(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def status(self) -> str: ...

@final
class Rejected:
    """A change refused, as listed by ``Node.rejected()``."""

    @property
    def doc(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def signer(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def received_at(self) -> datetime.datetime: ...

@final
class CertificateInfo:
    """A certificate of the federation document."""

    @property
    def subject(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def org(self) -> str: ...
    @property
    def parent(self) -> Optional[str]: ...
    @property
    def name(self) -> str: ...
    @property
    def not_before(self) -> datetime.datetime: ...
    @property
    def not_after(self) -> datetime.datetime: ...
    @property
    def issuer(self) -> str: ...


@final
class LedgerEntries:
    """An iterator over a ledger's entries, read from the node a page at a time."""

    def __iter__(self) -> Iterator[LedgerEntry]: ...
    def __next__(self) -> LedgerEntry: ...

@final
class LedgerEntry:
    """An entry of a service ledger: a service record, a redemption or a correction."""

    @property
    def id(self) -> str: ...
    @property
    def volunteer(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def points(self) -> Decimal: ...
    @property
    def activity(self) -> Optional[str]: ...
    @property
    def team(self) -> Optional[str]: ...
    @property
    def date(self) -> Optional[datetime.date]: ...
    @property
    def minutes(self) -> Optional[int]: ...
    @property
    def evidence(self) -> Optional[str]: ...
    @property
    def item(self) -> Optional[str]: ...
    @property
    def outlet(self) -> Optional[str]: ...
    @property
    def corrects(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...

@final
class MealOrder:
    """A meal order of a shared kitchen."""

    @property
    def id(self) -> str: ...
    @property
    def household(self) -> str: ...
    @property
    def date(self) -> datetime.date: ...
    @property
    def portions(self) -> int: ...
    @property
    def items(self) -> list[str]: ...
    @property
    def placed_at(self) -> datetime.datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> Optional[str]: ...

@final
class KitchenDay:
    """One service day of a shared kitchen: its orders against the daily capacity."""

    @property
    def date(self) -> datetime.date: ...
    @property
    def service(self) -> str: ...
    @property
    def cutoff(self) -> datetime.datetime: ...
    @property
    def capacity(self) -> int: ...
    @property
    def accepted_portions(self) -> int: ...
    @property
    def waiting_portions(self) -> int: ...
    @property
    def orders(self) -> tuple[MealOrder, ...]: ...

@final
class Appointment:
    """A property-management appointment of a compound, written by the street."""

    @property
    def manager(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def start(self) -> datetime.date: ...
    @property
    def end(self) -> Optional[datetime.date]: ...
    @property
    def status(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...

@final
class AppointmentState:
    """Whom a compound's appointment record names: vacant, current or contested."""

    @property
    def compound(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def appointments(self) -> tuple[Appointment, ...]: ...

@final
class Inspection:
    """An inspection of a compound against the district checklist."""

    @property
    def id(self) -> str: ...
    @property
    def compound(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def date(self) -> datetime.date: ...
    @property
    def results(self) -> dict[str, bool]: ...
    @property
    def points(self) -> int: ...
    @property
    def max_points(self) -> int: ...
    @property
    def note(self) -> str: ...
    @property
    def by(self) -> str: ...

@final
class ScoreSheet:
    """One scorer's yearly sheet for a compound's manager."""

    @property
    def compound(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def manager(self) -> str: ...
    @property
    def marks(self) -> dict[str, int]: ...
    @property
    def total(self) -> int: ...
    @property
    def comment(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...

@final
class CompositeScore:
    """The yearly composite score of a compound's manager."""

    @property
    def compound(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def totals(self) -> dict[str, int]: ...
    @property
    def score(self) -> Optional[float]: ...
    @property
    def complete(self) -> bool: ...
    @property
    def below_threshold(self) -> bool: ...

@final
class Claim:
    """An offer to take up a wish or an offer."""

    @property
    def id(self) -> str: ...
    @property
    def wish(self) -> str: ...
    @property
    def claimant(self) -> str: ...
    @property
    def volunteer(self) -> Optional[str]: ...
    @property
    def note(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def assigned(self) -> bool: ...

@final
class Peer:
    """A peer this node has synchronised with."""

    @property
    def node_id(self) -> str: ...
    @property
    def last_seen(self) -> datetime.datetime: ...
    @property
    def sync_state(self) -> bytes: ...

@final
class SyncReport:
    """What one sync session moved."""

    @property
    def received(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...
