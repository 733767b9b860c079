//! Helpers for the record checks each kind writes: decoding a record, splitting a key.

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
