//! Record schema checks: each map of each kind has one record type and one key shape.

use crate::document::DocKind;

/// Why a record does not fit its map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{map}/{key}: {reason}")]
pub(crate) struct SchemaError {
    pub(crate) map: String,
    pub(crate) key: String,
    pub(crate) reason: String,
}

/// Checks the key shape and that `value` decodes as the record type of `map`.
pub(crate) fn check_record(
    kind: DocKind,
    map: &str,
    key: &str,
    value: &str,
) -> Result<(), SchemaError> {
    crate::kind::of(kind)
        .check_record(map, key, value)
        .map_err(|reason| SchemaError {
            map: map.to_string(),
            key: key.to_string(),
            reason,
        })
}

/// Decodes `value` as `T`, turning the error into text.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
    serde_json::from_str(value).map_err(|e| format!("record does not decode: {e}"))
}

/// Parses a key made of `/`-separated typed ids.
pub(crate) fn key_parts<const N: usize>(key: &str) -> Result<[&str; N], String> {
    let parts: Vec<&str> = key.split('/').collect();
    parts
        .try_into()
        .map_err(|_| format!("key {key:?} must have {N} part(s) separated by '/'"))
}

/// Parses one key part as an id type.
pub(crate) fn id<T: std::str::FromStr>(part: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    part.parse().map_err(|e: T::Err| e.to_string())
}
