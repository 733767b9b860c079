"""linli (邻里, "neighbours"): federated, signed CRDT documents for community governance.

This package is a thin wrapper around the compiled extension module ``linli._linli``.
"""

from ._linli import (
    AuthorizationError,
    ConflictError,
    LinliError,
    StorageError,
    SyncError,
    ValidationError,
    __version__,
    core_version,
)

__all__ = [
    "AuthorizationError",
    "ConflictError",
    "LinliError",
    "StorageError",
    "SyncError",
    "ValidationError",
    "__version__",
    "core_version",
]
