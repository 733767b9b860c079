//! Why a request failed, and the error table every surface looks a refusal up in.

use super::*;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The request itself is malformed (a bad time, key or amount).
    #[error("{0}")]
    Invalid(String),
    /// A named (or the implied) document or record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// linli-core refused the operation (validation, authorization).
    #[error("{0}")]
    Refused(linli_core::Error),
    /// The node failed (store, shut down).
    #[error(transparent)]
    Node(NodeError),
    /// The network failed.
    #[error("network: {0}")]
    Network(String),
}

impl From<NodeError> for OpsError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Core(c) => OpsError::from(c),
            other => OpsError::Node(other),
        }
    }
}

impl From<linli_core::Error> for OpsError {
    fn from(e: linli_core::Error) -> Self {
        match e.class() {
            ErrorClass::NotFound => OpsError::NotFound(e.to_string()),
            // The store could not give back stored changes: the node's fault, not a refusal.
            ErrorClass::Storage => OpsError::Node(NodeError::Core(e)),
            _ => OpsError::Refused(e),
        }
    }
}

/// One row of the error table: how every surface reports a refusal of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRow {
    /// The class (decided by linli-core, once: `linli_core::Error::class`).
    pub class: ErrorClass,
    /// HTTP status of the local API.
    pub http: u16,
    /// Exit code of the `linli` command.
    pub exit: u8,
    /// Python exception raised by the bindings.
    pub python: &'static str,
}

/// The error table: every surface looks a refusal's class up here (HTTP status, CLI exit
/// code, Python exception), so one refusal reads the same everywhere.
pub const CLASSES: [ClassRow; 6] = [
    ClassRow {
        class: ErrorClass::Malformed,
        http: 400,
        exit: crate::cli::EXIT_FAILED,
        python: "ValidationError",
    },
    ClassRow {
        class: ErrorClass::Invalid,
        http: 422,
        exit: crate::cli::EXIT_FAILED,
        python: "ValidationError",
    },
    ClassRow {
        class: ErrorClass::NotFound,
        http: 404,
        exit: crate::cli::EXIT_FAILED,
        python: "NotFoundError",
    },
    ClassRow {
        class: ErrorClass::Unauthorized,
        http: 403,
        exit: crate::cli::EXIT_FAILED,
        python: "AuthorizationError",
    },
    ClassRow {
        class: ErrorClass::Conflict,
        http: 409,
        exit: crate::cli::EXIT_FAILED,
        python: "ConflictError",
    },
    ClassRow {
        class: ErrorClass::Storage,
        http: 500,
        exit: crate::cli::EXIT_STORE,
        python: "StorageError",
    },
];

/// The table's row for `class`.
pub fn class_row(class: ErrorClass) -> ClassRow {
    // Invariant: CLASSES has one row per class (checked by a test).
    CLASSES
        .iter()
        .copied()
        .find(|r| r.class == class)
        .unwrap_or(CLASSES[1])
}

impl OpsError {
    /// The HTTP status for this error: a refusal's from the error table ([`CLASSES`]);
    /// 400 for a malformed request, 404 for an unknown document or record, 503 when the
    /// node or the network is down, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            OpsError::Invalid(_) => 400,
            OpsError::NotFound(_) => 404,
            OpsError::Refused(e) => class_row(e.class()).http,
            OpsError::Node(NodeError::Shutdown) | OpsError::Network(_) => 503,
            OpsError::Node(_) => 500,
        }
    }

    /// linli-core's refusal in Chinese ([`linli_core::zh`]), for the dashboard; `None` for
    /// what linli-core did not decide (a malformed request, a node or network failure).
    pub fn zh(&self) -> Option<String> {
        use linli_core::zh::Chinese;
        match self {
            OpsError::Refused(e) => Some(e.zh()),
            _ => None,
        }
    }

    /// A short machine-readable kind: a refusal's class (`malformed`, `invalid`,
    /// `unauthorized`, `conflict`), else `malformed` (a request that does not parse),
    /// `not_found`, `node` or `network`.
    pub fn kind(&self) -> &'static str {
        match self {
            OpsError::Invalid(_) => ErrorClass::Malformed.label(),
            OpsError::NotFound(_) => ErrorClass::NotFound.label(),
            OpsError::Refused(e) => e.class().label(),
            OpsError::Node(_) => "node",
            OpsError::Network(_) => "network",
        }
    }
}
