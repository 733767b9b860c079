"""linli (邻里, "neighbours"): federated, signed CRDT documents for community governance.

This package is a thin wrapper around the compiled extension module ``linli._linli``.
"""

from ._linli import (
    AuthorizationError,
    Booking,
    CertificateInfo,
    CompoundInfo,
    ConflictError,
    DocumentInfo,
    Event,
    Events,
    ExportSummary,
    ImportReport,
    LinliError,
    Node,
    NodeStatus,
    Rejected,
    Standing,
    StorageError,
    SyncError,
    ValidationError,
    Wish,
    __version__,
    core_version,
)

__all__ = [
    "AuthorizationError",
    "Booking",
    "CertificateInfo",
    "CompoundInfo",
    "ConflictError",
    "DocumentInfo",
    "Event",
    "Events",
    "ExportSummary",
    "ImportReport",
    "LinliError",
    "Node",
    "NodeStatus",
    "Rejected",
    "Standing",
    "StorageError",
    "SyncError",
    "ValidationError",
    "Wish",
    "__version__",
    "core_version",
]
