//! The node's configuration file, `<data-dir>/linli.toml`.
//!
//! `linli init` writes it with every default present as a comment; uncomment a line to
//! change it. Sections:
//!
//! * `[node]` — identity facts written by `init` (organisation, root key, this node's key;
//!   informational: the store holds the authoritative values), and the write quota for
//!   changes received from peers (`quota_changes_per_day`, `quota_bytes_per_day`).
//! * `[network]` — [`NetConfig`]: listen addresses, bootstrap peers, mDNS, sync interval,
//!   peer limit.
//! * `[store]` — how many documents stay in memory (`resident_documents`) and after how long
//!   unused a document is dropped from memory (`idle_secs`); dropped documents load again
//!   from the store on use.
//! * `[api]` — the local HTTP API: listen address (default `127.0.0.1:4711`) and token file.
//! * `[log]` — `format` (`"human"` or `"json"`) and `level` (a tracing filter such as `info`
//!   or `linli_node=debug`).
//!
//! Unknown keys, syntax errors and bad values fail to load with a [`ConfigError`] naming the
//! file, the line and the key.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use linli_core::quota::Quota;
use serde::{Deserialize, Serialize};

use crate::net::NetConfig;

/// File name of the configuration file in a data directory.
pub const CONFIG_FILE: &str = "linli.toml";
/// Default address of the local HTTP API.
pub const DEFAULT_API_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4711);
/// Default token file name (relative to the data directory).
pub const DEFAULT_TOKEN_FILE: &str = "api.token";

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[node]`: identity facts written by `init`.
    pub node: NodeSection,
    /// `[network]`: libp2p settings.
    pub network: NetConfig,
    /// `[store]`: documents kept in memory.
    pub store: StoreSection,
    /// `[api]`: the local HTTP API.
    pub api: ApiConfig,
    /// `[log]`: logging.
    pub log: LogConfig,
}

/// `[store]`: which documents stay in memory. Documents beyond the budget, least recently
/// used first, and documents unused for `idle_secs` are dropped from memory and loaded from
/// the store again on their next use (see [`linli_core::replica::Docs`]); the federation
/// document and documents with waiting changes always stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// Most documents in memory (default 1,000).
    pub resident_documents: usize,
    /// Seconds after which an unused document leaves memory (default 3,600).
    pub idle_secs: u64,
}

/// Default of `[store] resident_documents`.
pub const DEFAULT_RESIDENT_DOCUMENTS: usize = 1000;
/// Default of `[store] idle_secs`.
pub const DEFAULT_IDLE_SECS: u64 = 3600;

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            resident_documents: DEFAULT_RESIDENT_DOCUMENTS,
            idle_secs: DEFAULT_IDLE_SECS,
        }
    }
}

/// `[node]`: identity facts (informational; the store is authoritative) and the write quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// Organisation code this node acts for.
    pub org: Option<String>,
    /// The district root key (`ln…`).
    pub root: Option<String>,
    /// This node's key (`ln…`).
    pub id: Option<String>,
    /// Most changes received from peers that one signer may add to one document per UTC day
    /// (default 10,000; see [`linli_core::quota`]).
    pub quota_changes_per_day: u64,
    /// Most bytes of such changes per signer, document and day (default 16 MiB).
    pub quota_bytes_per_day: u64,
}

impl Default for NodeSection {
    fn default() -> Self {
        let q = Quota::default();
        NodeSection {
            org: None,
            root: None,
            id: None,
            quota_changes_per_day: q.changes_per_day,
            quota_bytes_per_day: q.bytes_per_day,
        }
    }
}

impl NodeSection {
    /// The write quota for changes received from peers.
    pub fn quota(&self) -> Quota {
        Quota {
            changes_per_day: self.quota_changes_per_day,
            bytes_per_day: self.quota_bytes_per_day,
        }
    }
}

/// `[api]`: the local HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to bind (default `127.0.0.1:4711`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// File holding the bearer token, relative to the data directory unless absolute.
    pub token_file: PathBuf,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: DEFAULT_API_LISTEN,
            token_file: PathBuf::from(DEFAULT_TOKEN_FILE),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        })
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A tracing filter: `error`, `warn`, `info`, `debug`, `trace` or directives such as
    /// `linli_node=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// A configuration file that cannot be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}{}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default(), message)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based), when known.
    pub line: Option<usize>,
    /// The key (`section.key`), when known.
    pub key: Option<String>,
    /// What was wrong.
    pub message: String,
}

impl Config {
    /// Path of the configuration file in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(CONFIG_FILE)
    }

    /// Loads `<dir>/linli.toml`; a missing file gives the defaults.
    pub fn load_dir(dir: &Path) -> Result<Config, ConfigError> {
        let path = Self::path_in(dir);
        if !path.exists() {
            return Ok(Config::default());
        }
        Self::load(&path)
    }

    /// Loads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks configuration text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, key) = match e.span() {
                Some(span) => locate(text, span.start),
                None => (None, None),
            };
            ConfigError {
                path: path.to_path_buf(),
                line,
                key,
                message: e.message().trim().to_string(),
            }
        })?;
        cfg.check().map_err(|(key, message)| ConfigError {
            path: path.to_path_buf(),
            line: find_key_line(text, &key),
            key: Some(key),
            message,
        })?;
        Ok(cfg)
    }

    /// Checks values serde cannot: the log filter and network numbers.
    fn check(&self) -> Result<(), (String, String)> {
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            (
                "log.level".to_string(),
                format!("{:?} is not a log filter: {e}", self.log.level),
            )
        })?;
        if self.store.resident_documents == 0 {
            return Err((
                "store.resident_documents".into(),
                "must be at least 1".to_string(),
            ));
        }
        if self.store.idle_secs == 0 {
            return Err((
                "store.idle_secs".into(),
                "must be at least 1 second".to_string(),
            ));
        }
        if self.network.max_peers == 0 {
            return Err(("network.max_peers".into(), "must be at least 1".to_string()));
        }
        let relay = &self.network.relay;
        for (key, v) in [
            ("network.relay.probe_secs", relay.probe_secs),
            ("network.relay.max_circuit_secs", relay.max_circuit_secs),
            ("network.relay.max_circuit_bytes", relay.max_circuit_bytes),
        ] {
            if v == 0 {
                return Err((key.into(), "must be at least 1".to_string()));
            }
        }
        if relay.max_circuit_secs > u64::from(u32::MAX) {
            return Err((
                "network.relay.max_circuit_secs".into(),
                format!("must be at most {}", u32::MAX),
            ));
        }
        if self.network.sync_interval_secs == 0 {
            return Err((
                "network.sync_interval_secs".into(),
                "must be at least 1 second".to_string(),
            ));
        }
        for (key, v) in [("node.root", &self.node.root), ("node.id", &self.node.id)] {
            if let Some(v) = v {
                linli_core::identity::node_id_from_base32(v)
                    .map_err(|e| (key.to_string(), format!("{v:?} is not a node id: {e}")))?;
            }
        }
        self.node
            .quota()
            .validate()
            .map_err(|(field, message)| (format!("node.quota_{field}"), message))?;
        if let Some(org) = &self.node.org {
            linli_core::OrgId::new(org.clone())
                .map_err(|e| ("node.org".to_string(), e.to_string()))?;
        }
        Ok(())
    }

    /// The token file path, resolved against `dir`.
    pub fn token_path(&self, dir: &Path) -> PathBuf {
        if self.api.token_file.is_absolute() {
            self.api.token_file.clone()
        } else {
            dir.join(&self.api.token_file)
        }
    }

    /// The file text: every default as a comment, non-default values as settings.
    pub fn render(&self) -> String {
        let d = Config::default();
        let mut s = String::new();
        s.push_str(
            "# linli node configuration (written by `linli init`).\n\
             # Commented lines show the defaults; uncomment a line to change it.\n\n",
        );
        s.push_str(
            "[node]\n# Identity facts written by `linli init` (the store is authoritative).\n",
        );
        opt_line(
            &mut s,
            "org",
            &self.node.org,
            "organisation code, e.g. \"dianye\"",
        );
        opt_line(&mut s, "root", &self.node.root, "district root key (ln…)");
        opt_line(&mut s, "id", &self.node.id, "this node's key (ln…)");
        s.push_str(
            "# Write quota for changes received from peers, per signer, per document and per UTC\n\
             # day (today's, or the day a change is dated if earlier): a change beyond it is not\n\
             # stored (it may come again another day by sync).\n\
             # This node's own writes are not limited; counts restart with the node. 10,000\n\
             # changes covers a month of service hours imported at once in the largest\n\
             # community (~7,500 rows, ~3 MB); 16 MiB stops a flood of large records.\n",
        );
        line(
            &mut s,
            "quota_changes_per_day",
            &self.node.quota_changes_per_day.to_string(),
            self.node.quota_changes_per_day == d.node.quota_changes_per_day,
        );
        line(
            &mut s,
            "quota_bytes_per_day",
            &self.node.quota_bytes_per_day.to_string(),
            self.node.quota_bytes_per_day == d.node.quota_bytes_per_day,
        );

        s.push_str("\n[network]\n# Multiaddrs to listen on.\n");
        line(
            &mut s,
            "listen",
            &strings(&self.network.listen),
            self.network.listen == d.network.listen,
        );
        s.push_str(
            "# Peers to dial at start (multiaddrs; `linli federation join --peer` adds one).\n",
        );
        line(
            &mut s,
            "bootstrap",
            &strings(&self.network.bootstrap),
            self.network.bootstrap == d.network.bootstrap,
        );
        s.push_str("# Discover peers on the local network with mDNS.\n");
        line(
            &mut s,
            "mdns",
            &self.network.mdns.to_string(),
            self.network.mdns == d.network.mdns,
        );
        s.push_str("# Seconds between anti-entropy sync sessions with each peer.\n");
        line(
            &mut s,
            "sync_interval_secs",
            &self.network.sync_interval_secs.to_string(),
            self.network.sync_interval_secs == d.network.sync_interval_secs,
        );
        s.push_str("# Most connected peers.\n");
        line(
            &mut s,
            "max_peers",
            &self.network.max_peers.to_string(),
            self.network.max_peers == d.network.max_peers,
        );
        s.push_str(
            "# A node holding nothing yet takes its first peer's documents as snapshots, usable \
             at once\n# and verified in the background (fast join).\n",
        );
        line(
            &mut s,
            "fast_join",
            &self.network.fast_join.to_string(),
            self.network.fast_join == d.network.fast_join,
        );

        let (r, dr) = (&self.network.relay, &d.network.relay);
        s.push_str(
            "\n[network.relay]\n# Offices behind NAT: a node that cannot be dialled reserves a \
             slot on peers that serve as\n# relays and is reached through them; nodes met over \
             a relay then try to connect directly.\n# Serve as a relay (turn on on nodes with a \
             public address, e.g. street nodes).\n",
        );
        line(&mut s, "serve", &r.serve.to_string(), r.serve == dr.serve);
        s.push_str("# When to reserve a slot on relays: \"auto\" (when unreachable), \"always\", \"never\".\n");
        let reserve = serde_json::to_string(&r.reserve).unwrap_or_default();
        line(&mut s, "reserve", &reserve, r.reserve == dr.reserve);
        s.push_str("# Serving: most reservations, relayed connections (in all, per node), bytes and seconds per connection.\n");
        for (key, v, dv) in [
            (
                "max_reservations",
                r.max_reservations as u64,
                dr.max_reservations as u64,
            ),
            (
                "max_circuits",
                r.max_circuits as u64,
                dr.max_circuits as u64,
            ),
            (
                "max_circuits_per_peer",
                r.max_circuits_per_peer as u64,
                dr.max_circuits_per_peer as u64,
            ),
            (
                "max_circuit_bytes",
                r.max_circuit_bytes,
                dr.max_circuit_bytes,
            ),
            ("max_circuit_secs", r.max_circuit_secs, dr.max_circuit_secs),
        ] {
            line(&mut s, key, &v.to_string(), v == dv);
        }
        s.push_str(
            "# Seconds before the first reachability probe (AutoNAT) and between uncertain ones.\n",
        );
        line(
            &mut s,
            "probe_secs",
            &r.probe_secs.to_string(),
            r.probe_secs == dr.probe_secs,
        );

        s.push_str(
            "\n[store]\n# Documents kept in memory: beyond this many, the least recently used \
             leave memory and load\n# from the store again when next used (the federation \
             document and documents with waiting\n# changes always stay).\n",
        );
        line(
            &mut s,
            "resident_documents",
            &self.store.resident_documents.to_string(),
            self.store.resident_documents == d.store.resident_documents,
        );
        s.push_str("# Seconds after which a document not used leaves memory.\n");
        line(
            &mut s,
            "idle_secs",
            &self.store.idle_secs.to_string(),
            self.store.idle_secs == d.store.idle_secs,
        );

        s.push_str("\n[api]\n# Local HTTP API address (keep it on 127.0.0.1; port 0 picks one).\n");
        line(
            &mut s,
            "listen",
            &quote(&self.api.listen.to_string()),
            self.api.listen == d.api.listen,
        );
        s.push_str(
            "# Bearer token file, relative to the data directory (written by `linli run`).\n",
        );
        line(
            &mut s,
            "token_file",
            &quote(&self.api.token_file.to_string_lossy()),
            self.api.token_file == d.api.token_file,
        );

        s.push_str("\n[log]\n# \"human\" or \"json\".\n");
        line(
            &mut s,
            "format",
            &quote(&self.log.format.to_string()),
            self.log.format == d.log.format,
        );
        s.push_str(
            "# A tracing filter: error, warn, info, debug, trace, or e.g. \"linli_node=debug\".\n",
        );
        line(
            &mut s,
            "level",
            &quote(&self.log.level),
            self.log.level == d.log.level,
        );
        s
    }

    /// Writes [`render`](Self::render) to `<dir>/linli.toml` (mode 0600, atomically: temp file,
    /// rename).
    pub fn save_dir(&self, dir: &Path) -> Result<PathBuf, ConfigError> {
        let path = Self::path_in(dir);
        let err = |e: std::io::Error| ConfigError {
            path: path.clone(),
            line: None,
            key: None,
            message: format!("cannot write: {e}"),
        };
        crate::private::write(&path, self.render().as_bytes()).map_err(err)?;
        Ok(path)
    }
}

fn quote(s: &str) -> String {
    // A JSON string is a valid TOML basic string.
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn strings(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

fn line(s: &mut String, key: &str, value: &str, is_default: bool) {
    if is_default {
        s.push_str("# ");
    }
    s.push_str(&format!("{key} = {value}\n"));
}

fn opt_line(s: &mut String, key: &str, value: &Option<String>, hint: &str) {
    match value {
        Some(v) => s.push_str(&format!("{key} = {}\n", quote(v))),
        None => s.push_str(&format!("# {key} = \"\"   # {hint}\n")),
    }
}

/// 1-based line of byte offset `at`, and the `section.key` written on that line (if any).
fn locate(text: &str, at: usize) -> (Option<usize>, Option<String>) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let mut section: Option<String> = None;
    let mut key = None;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if i + 1 > line_no {
            break;
        }
        if t.starts_with('[') && !t.starts_with("[[") {
            section = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .map(|s| s.trim().to_string());
        }
        if i + 1 == line_no {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim().trim_matches('"');
                if !k.is_empty() && !k.starts_with('#') {
                    key = Some(match &section {
                        Some(sec) => format!("{sec}.{k}"),
                        None => k.to_string(),
                    });
                }
            } else if t.starts_with('[') {
                key = section.clone();
            }
        }
    }
    (Some(line_no), key)
}

/// Line of `section.key` in `text`, if it is written there.
fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.split_once('.')?;
    let mut current = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        } else if current == section && t.split_once('=').map(|(k, _)| k.trim()) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/d/linli.toml"), text)
    }

    #[test]
    fn rendered_defaults_parse_back_to_the_defaults() {
        let c = Config::default();
        let text = c.render();
        assert!(text.contains("# listen = \"127.0.0.1:4711\""), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn non_default_values_are_written_uncommented_and_read_back() {
        let mut c = Config::default();
        c.node.org = Some("dianye".into());
        c.network.bootstrap = vec!["/ip4/127.0.0.1/tcp/4710".into()];
        c.api.listen = "127.0.0.1:0".parse().unwrap();
        c.log.format = LogFormat::Json;
        let text = c.render();
        assert!(
            text.contains("\nbootstrap = [\"/ip4/127.0.0.1/tcp/4710\"]\n"),
            "{text}"
        );
        assert!(text.contains("\nformat = \"json\"\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn relay_settings_round_trip_and_bad_values_name_their_key() {
        let mut c = Config::default();
        c.network.relay.serve = true;
        c.network.relay.reserve = crate::net::ReserveMode::Never;
        c.network.relay.max_reservations = 3;
        let text = c.render();
        assert!(text.contains("\n[network.relay]\n"), "{text}");
        assert!(text.contains("\nserve = true\n"), "{text}");
        assert!(text.contains("\nreserve = \"never\"\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
        // Every default is written, commented out, and parses back to the defaults.
        let d = Config::default().render();
        assert!(d.contains("\n# max_circuit_bytes = "), "{d}");
        assert_eq!(parse(&d).unwrap(), Config::default());

        let e = parse("[network.relay]\nprobe_secs = 0\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("network.relay.probe_secs"), "{e}");
        let e = parse("[network.relay]\nreserve = \"sometimes\"\n").unwrap_err();
        assert!(e.to_string().contains("reserve"), "{e}");
        let e = parse("[network.relay]\nmax_circuit_secs = 99999999999\n").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("network.relay.max_circuit_secs"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse("[network]\nmdns = true\nlisten = [\"a\"\n").unwrap_err();
        assert_eq!(e.path, Path::new("/d/linli.toml"));
        assert!(e.line.is_some(), "{e:?}");
        let s = e.to_string();
        assert!(s.starts_with("/d/linli.toml:"), "{s}");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse("[api]\nlisten = \"127.0.0.1:1\"\ntokn_file = \"x\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e:?}");
        assert_eq!(e.key.as_deref(), Some("api.tokn_file"));
        assert!(e.message.contains("unknown field"), "{e}");
        assert!(
            e.to_string()
                .contains("/d/linli.toml:3: key `api.tokn_file`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_section_is_refused() {
        let e = parse("[netwrk]\nmdns = true\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn bad_value_names_key() {
        let e = parse("[network]\nsync_interval_secs = \"often\"\n").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("network.sync_interval_secs"),
            "{e:?}"
        );
        assert_eq!(e.line, Some(2));
        let e = parse("[api]\nlisten = \"localhost\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("api.listen"), "{e:?}");
        let e = parse("[log]\nformat = \"xml\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("log.format"), "{e:?}");
    }

    #[test]
    fn checked_values_name_key_and_line() {
        let e = parse("[network]\nmax_peers = 0\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("network.max_peers"));
        assert_eq!(e.line, Some(2));
        let e = parse("[log]\nlevel = \"linli=loud\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("log.level"), "{e:?}");
        let e = parse("[node]\nroot = \"abc\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("node.root"), "{e:?}");
    }

    #[test]
    fn quota_keys_are_written_with_their_defaults_and_read_back() {
        let text = Config::default().render();
        assert!(
            text.contains("\n# quota_changes_per_day = 10000\n"),
            "{text}"
        );
        assert!(
            text.contains("\n# quota_bytes_per_day = 16777216\n"),
            "{text}"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.node.quota(), Quota::default());
        let c =
            parse("[node]\nquota_changes_per_day = 20\nquota_bytes_per_day = 1048576\n").unwrap();
        assert_eq!(
            c.node.quota(),
            Quota {
                changes_per_day: 20,
                bytes_per_day: 1 << 20
            }
        );
        // A changed value is written uncommented and read back.
        let text = c.render();
        assert!(text.contains("\nquota_changes_per_day = 20\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn bad_quota_values_name_file_line_and_key() {
        let e = parse("[node]\norg = \"dianye\"\nquota_changes_per_day = 0\n").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("node.quota_changes_per_day"),
            "{e:?}"
        );
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string()
                .starts_with("/d/linli.toml:3: key `node.quota_changes_per_day`: 0 is not"),
            "{e}"
        );
        let e = parse("[node]\nquota_changes_per_day = 99999999999\n").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("node.quota_changes_per_day"),
            "{e:?}"
        );
        let e = parse("[node]\nquota_bytes_per_day = 1000\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("node.quota_bytes_per_day"), "{e:?}");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("the largest change"), "{e}");
        let e = parse("[node]\nquota_bytes_per_day = -1\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("node.quota_bytes_per_day"), "{e:?}");
        let e = parse("[node]\nquota_bytes_per_day = \"16MiB\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("node.quota_bytes_per_day"), "{e:?}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn missing_file_gives_defaults_and_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load_dir(dir.path()).unwrap(), Config::default());
        let mut c = Config::default();
        c.network.mdns = true;
        c.save_dir(dir.path()).unwrap();
        assert_eq!(Config::load_dir(dir.path()).unwrap(), c);
        assert_eq!(c.token_path(dir.path()), dir.path().join("api.token"));
    }
}
