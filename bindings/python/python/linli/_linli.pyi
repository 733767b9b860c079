"""Type stubs for the compiled extension module ``linli._linli``."""

import datetime
import os
from decimal import Decimal
from pathlib import Path
from collections.abc import Iterator
from typing import Optional, Union, final


_Path = Union[str, "os.PathLike[str]"]

# PyO3 records every name added to the module in its `__all__`.
__all__ = [
    "__version__",
    "core_version",
    "LinliError",
    "ValidationError",
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
]

__version__: str

def core_version() -> str:
    """Returns the version of the linli node crate this extension was built against."""

class LinliError(Exception):
    """Base class of every error raised by linli."""

class ValidationError(LinliError):
    """An input or a document failed validation."""

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
    def close(self) -> None:
        """Stops the node and closes its store (idempotent)."""
    def __enter__(self) -> Node: ...
    def __exit__(self, *_args: object) -> bool: ...
    def status(self) -> NodeStatus: ...
    def documents(self) -> list[DocumentInfo]: ...
    def create_federation(self) -> str: ...
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
    ) -> str: ...
    def redeem(
        self,
        ledger: str,
        volunteer: str,
        item: str,
        cost: Union[Decimal, int, str],
        outlet: str,
    ) -> str: ...
    def balance(self, volunteer: str) -> Decimal: ...
    def leaderboard(self, ledger: str, team: Optional[str] = None) -> list[Standing]: ...
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
    ) -> str: ...
    def confirm_booking(self, resource: str, booking: str) -> None: ...
    def bookings(self, resource: str) -> list[Booking]: ...
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
    ) -> str: ...
    def wishes(self, wishes: str) -> list[Wish]: ...
    def rejected(self) -> list[Rejected]: ...
    def subscribe(self) -> Events:
        """Events of this node from now on, as an iterator."""
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

@final
class Rejected:
    """A change refused for good, as listed by ``Node.rejected()``."""

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
