"""Type stubs for the compiled extension module ``linli._linli``."""

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
