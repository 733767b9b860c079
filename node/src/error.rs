//! Errors of the node: [`StoreError`] for the SQLite store and the files beside it,
//! [`ExportError`] for export files, [`NodeError`] for everything the [`Node`](crate::Node)
//! handle returns.

use std::path::PathBuf;

use rusqlite::ffi::ErrorCode;

/// Errors of the store: the SQLite database, the key file and the data directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory holds no store yet.
    #[error("no linli store in {0} (run init first)")]
    NotInitialized(PathBuf),
    /// `init` on a directory that already holds a store.
    #[error("{0} already holds a linli store; open it instead of initialising it again")]
    AlreadyInitialized(PathBuf),
    /// The database file is not a linli store (another SQLite database, or not SQLite at
    /// all). Nothing was changed.
    #[error("{path} is not a linli store: {reason}; nothing was changed")]
    NotALinliStore {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The store was written by a newer version of linli. Nothing was changed.
    #[error(
        "{path} was written by a newer linli (store schema {found}; this build reads up to \
         {supported}); upgrade linli to open it; nothing was changed"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Highest schema version this build knows.
        supported: i64,
    },
    /// Another running node holds the store.
    #[error("the store in {0} is in use by another running node")]
    Locked(PathBuf),
    /// The database is damaged.
    #[error("the store is damaged: {0} (restore it from a copy or an export file)")]
    Corrupt(String),
    /// A change in the log could not be read back.
    #[error("the store is damaged: change #{pos} of the log cannot be read ({detail})")]
    CorruptChange {
        /// Position of the change in the log.
        pos: i64,
        /// What was wrong.
        detail: String,
    },
    /// The disk (or the store's size limit) is full; the write was not stored.
    #[error("disk full: the write was not stored ({0})")]
    DiskFull(String),
    /// The store's files cannot be written (read-only directory or file, permissions).
    #[error("the store cannot be written: {0}")]
    ReadOnly(String),
    /// The key file is missing, unreadable or does not belong to this store.
    #[error("key file {path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A setting of the store is missing or malformed.
    #[error("store setting {key:?} is missing or malformed: {reason}")]
    Setting {
        /// The setting.
        key: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The integrity check found problems.
    #[error("the store is damaged (SQLite integrity check): {0}")]
    Integrity(String),
    /// Any other SQLite error.
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
    /// An earlier write failed and the in-memory state could not be rebuilt from the store;
    /// the node must be reopened.
    #[error("the node stopped after a failed write and must be reopened: {0}")]
    Failed(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull(e.to_string()),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt(e.to_string())
            }
            Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
                StoreError::ReadOnly(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Errors of export files (reading or writing).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file does not start with the export magic bytes.
    #[error("{0} is not a linli export file (wrong magic bytes)")]
    NotAnExport(PathBuf),
    /// The export format version is not one this build reads.
    #[error("{path} is export format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Errors returned by the [`Node`](crate::Node) handle.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// linli-core refused the operation or the change (validation, authorization, write
    /// policy). For [`Node::apply`](crate::Node::apply), [`linli_core::Error::Rejected`]
    /// means the change is refused; it is stored with its reason (and stays refused unless
    /// linli-core judges it again: see [`ChangeStatus::Refused`](crate::ChangeStatus::Refused)).
    #[error(transparent)]
    Core(#[from] linli_core::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Exporting or importing failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The node has shut down (or its actor thread stopped).
    #[error("the node has shut down")]
    Shutdown,
    /// A query closure passed to [`Node::read`](crate::Node::read) panicked.
    #[error("a read query panicked: {0}")]
    QueryPanicked(String),
}
