"""Type stubs for the compiled extension module ``linli._linli``."""

import datetime
import os
from decimal import Decimal
from pathlib import Path
from collections.abc import Iterator
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union, final

# The result classes are the generated dataclasses of `linli.results`.
from .results import (
    Appointment,
    AppointmentState,
    Booking,
    CertificateInfo,
    Claim,
    CompositeScore,
    CompoundInfo,
    DocumentInfo,
    Event,
    ExportSummary,
    ImportReport,
    Inspection,
    KitchenDay,
    LedgerEntry,
    MealOrder,
    MonthlyReport,
    NodeStatus,
    Peer,
    Rejected,
    ScoreSheet,
    Standing,
    SyncReport,
    Wish,
    YearlyReport,
)
from .results import ClaimCount, PointsInfo, StarCertificate, StoreItem
from .results import SessionInfo


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
    "Events",
    "LedgerEntries",
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
    @staticmethod
    def connect(path: _Path, *, timeout: float = 120.0) -> Node:
        """Connects to the daemon (``linli run``) serving the data directory ``path``."""
    @property
    def remote(self) -> bool:
        """Whether this handle talks to a running daemon (``Node.connect``)."""
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
        sync_interval: int = 120,
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
        self,
        year: int,
        street: str,
        community: Optional[str] = None,
        hand_points: bool = False,
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
    def store(self, ledger: str) -> list[StoreItem]: ...
    def points(self, volunteer: str) -> PointsInfo: ...
    def star_certificate(self, volunteer: str) -> StarCertificate: ...
    def sessions(self, ledger: str) -> list[SessionInfo]: ...
    def claim_counts(self, wishes: str, year: int) -> list[ClaimCount]: ...
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
    def monthly_report(self, month: str, community: Optional[str] = None) -> MonthlyReport: ...
    def yearly_report(self, year: int, community: Optional[str] = None) -> YearlyReport: ...
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
class Events:
    """An iterator over the events of a node (see ``Node.subscribe()``)."""

    def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or ``None`` after ``timeout`` seconds or once the node is closed."""
    def __iter__(self) -> Iterator[Event]: ...
    def __next__(self) -> Event: ...

@final
class LedgerEntries:
    """An iterator over a ledger's entries, read from the node a page at a time."""

    def __iter__(self) -> Iterator[LedgerEntry]: ...
    def __next__(self) -> LedgerEntry: ...
