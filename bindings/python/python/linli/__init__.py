"""linli (邻里, "neighbours"): federated, signed CRDT documents for community governance.

This package is a thin wrapper around the compiled extension module ``linli._linli``;
its result classes are the generated dataclasses of ``linli.results``.
"""

import os
from typing import Union

from . import results
from ._linli import (
    AuthorizationError,
    ConflictError,
    Events,
    LedgerEntries,
    LinliError,
    Node,
    NotFoundError,
    StorageError,
    SyncError,
    ValidationError,
    __version__,
    core_version,
)
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
    LedgerPage,
    MealOrder,
    MonthlyReport,
    NodeStatus,
    Peer,
    Rejected,
    ScoreSheet,
    Standing,
    SyncReport,
    TeamLine,
    Wish,
    YearlyReport,
)
from .results import (
    ClaimCount,
    PointsInfo,
    StarCertificate,
    StoreItem,
    YearHours,
)
from .results import Activity, CheckinInfo, RotaShift, SessionInfo

__all__ = [
    "results",
    "connect",
    "Appointment",
    "AppointmentState",
    "AuthorizationError",
    "Booking",
    "CertificateInfo",
    "Claim",
    "CompositeScore",
    "CompoundInfo",
    "ConflictError",
    "DocumentInfo",
    "Event",
    "Events",
    "ExportSummary",
    "ImportReport",
    "Inspection",
    "KitchenDay",
    "LedgerEntries",
    "LedgerEntry",
    "LedgerPage",
    "LinliError",
    "MealOrder",
    "MonthlyReport",
    "Node",
    "NodeStatus",
    "NotFoundError",
    "Peer",
    "SyncReport",
    "TeamLine",
    "Rejected",
    "ScoreSheet",
    "Standing",
    "StorageError",
    "SyncError",
    "ValidationError",
    "Wish",
    "YearlyReport",
    "ClaimCount",
    "PointsInfo",
    "StarCertificate",
    "StoreItem",
    "YearHours",
    "Activity",
    "CheckinInfo",
    "RotaShift",
    "SessionInfo",
    "__version__",
    "core_version",
]


def connect(path: Union[str, "os.PathLike[str]"], *, timeout: float = 120.0) -> Node:
    """A ``Node`` talking to the daemon (``linli run``) of the data directory ``path``.

    Calls go to the running daemon through its local HTTP API, with the address and token it
    wrote into the data directory; results are the same classes and errors the same
    exceptions as on a store opened with ``Node.open``. Events and the network need the store
    in this process and raise ``LinliError`` saying so. ``timeout`` bounds
    each call, in seconds. The same as ``Node.connect(path)``.
    """
    return Node.connect(path, timeout=timeout)

