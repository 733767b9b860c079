//! The `linli` command-line program: `init`, federation commands, the daemon (`run`), the
//! domain commands, `status`, `export`/`import`.
//!
//! Domain commands become [`Request`]s of the [ops] layer: sent to the running
//! daemon's HTTP API when `<dir>/api.addr` exists and the daemon answers, otherwise
//! executed on the store opened directly. Exit codes are listed in [`args::EXIT_CODES`].

pub mod args;
mod output;
mod roster;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use linli_core::identity::Keypair;
use linli_core::ledger::ServiceRow;
use serde_json::{Value, json};

use crate::api::{self, ApiClient, ApiError};
use crate::config::{Config, ConfigError, LogFormat};
use crate::net::Network;
use crate::ops::{self, OpsError, Request};
use crate::{InitOptions, Node, NodeError, OpenOptions, StoreError};
use args::{Cli, Command, DemoArgs, FederationCmd, FileFormat, LogFormatArg, RunArgs, Table};

/// Exit code: the operation was refused or failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: broken configuration file.
pub const EXIT_CONFIG: u8 = 3;
/// Exit code: the store cannot be used.
pub const EXIT_STORE: u8 = 4;
/// Exit code: the daemon's API failed.
pub const EXIT_DAEMON: u8 = 5;
/// Exit code: an import finished with rejected rows or entries.
pub const EXIT_PARTIAL: u8 = 6;

/// A failed command: its exit code and one-line message.
#[derive(Debug)]
pub struct CliError {
    /// Exit code.
    pub code: u8,
    /// Message (printed as `linli: <message>` on stderr).
    pub message: String,
}

impl CliError {
    fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::new(EXIT_CONFIG, format!("configuration: {e}"))
    }
}

impl From<NodeError> for CliError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Store(StoreError::Locked(dir)) => CliError::new(
                EXIT_STORE,
                format!(
                    "the store in {} is in use by another running node (if `linli run` is \
                     running there, its {} file is missing: restart it)",
                    dir.display(),
                    api::ADDR_FILE
                ),
            ),
            NodeError::Store(s) => CliError::new(EXIT_STORE, s.to_string()),
            other => CliError::new(EXIT_FAILED, other.to_string()),
        }
    }
}

impl From<OpsError> for CliError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Node(n) => CliError::from(n),
            OpsError::Refused(r) => {
                CliError::new(crate::ops::class_row(r.class()).exit, r.to_string())
            }
            other => CliError::new(EXIT_FAILED, other.to_string()),
        }
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        match &e {
            ApiError::Status { status, .. } if *status == 401 => {
                CliError::new(EXIT_DAEMON, format!("daemon API: {e}"))
            }
            ApiError::Status { status, .. } if *status >= 500 => {
                CliError::new(EXIT_DAEMON, format!("daemon: {e}"))
            }
            ApiError::Status { .. } => CliError::new(EXIT_FAILED, e.to_string()),
            _ => CliError::new(EXIT_DAEMON, e.to_string()),
        }
    }
}

/// Entry point of the `linli` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // Prints help/version (exit 0) or the usage error (exit 2).
        Err(e) => e.exit(),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("linli: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("linli: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// The file in a data directory that marks it as run on a training clock: the simulated
/// start of the last `linli run --training-clock`, and (`offset_ms N`) how far the simulated
/// time was from the system clock, so commands run without the daemon continue its time.
const TRAINING_MARK: &str = "training-clock";

/// The simulated time now of a directory marked as run on a training clock (`None`: not
/// marked, real time). Local-mode commands open such a directory on this clock, so a
/// simulated document never gets a real time.
fn training_now(dir: &Path) -> Result<Option<linli_core::Timestamp>, CliError> {
    let mark = dir.join(TRAINING_MARK);
    let text = match std::fs::read_to_string(&mark) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::new(
                EXIT_STORE,
                format!("cannot read {}: {e}", mark.display()),
            ));
        }
    };
    let bad = || {
        CliError::new(
            EXIT_FAILED,
            format!(
                "{} is damaged (it should hold the training clock's start and offset): run the                  daemon with --training-clock again to rewrite it",
                mark.display()
            ),
        )
    };
    let mut lines = text.lines();
    let start = lines
        .next()
        .and_then(|l| linli_core::Timestamp::parse(l.trim()).ok())
        .ok_or_else(bad)?;
    let now = match lines
        .next()
        .and_then(|l| l.trim().strip_prefix("offset_ms "))
    {
        Some(n) => {
            let offset: i64 = n.trim().parse().map_err(|_| bad())?;
            linli_core::Timestamp(crate::system_clock().millis().saturating_add(offset))
        }
        // Written before the offset was kept: the start again.
        None => start,
    };
    Ok(Some(now))
}

/// Opens the store for `linli run`. A command run in local mode holds the store for a
/// moment; the daemon waits up to 5 s for it rather than failing at once.
async fn open_for_daemon(
    dir: &Path,
    cfg: &Config,
    training_clock: Option<linli_core::Timestamp>,
) -> Result<Node, NodeError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let opts = OpenOptions {
            training_clock,
            ..open_options(cfg)
        };
        match Node::open(dir, opts).await {
            Err(NodeError::Store(StoreError::Locked(_)))
                if std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Options for opening the store, from the configuration file (the write quota).
fn open_options(cfg: &Config) -> OpenOptions {
    OpenOptions {
        quota: cfg.node.quota(),
        resident_documents: cfg.store.resident_documents,
        idle_secs: cfg.store.idle_secs,
        ..OpenOptions::default()
    }
}

/// `linli demo`: the district demo on loopback, printed as it plays.
async fn demo(a: &DemoArgs) -> Result<u8, CliError> {
    let opts = crate::demo::DemoOptions {
        dir: a.keep.clone(),
        volunteers: usize::from(a.volunteers),
        compounds: usize::from(a.compounds),
        orders: usize::from(a.orders),
        ..crate::demo::DemoOptions::default()
    };
    let mut say = |line: &str| {
        use std::io::Write;
        // A closed stdout (e.g. `| head`) does not stop the demo.
        let _ = writeln!(std::io::stdout(), "{line}");
    };
    match crate::demo::run(opts, &mut say).await {
        Ok(_) => Ok(0),
        Err(e) => Err(CliError::new(EXIT_FAILED, format!("the demo failed: {e}"))),
    }
}

/// While changes arrive from peers (an initial sync, catching up after a partition), shows
/// how many: a spinner on a terminal, a plain line every few seconds otherwise.
async fn sync_progress(net: Network) {
    let tty = std::io::stderr().is_terminal();
    let spinner = || {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} sync: {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    };
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut last = net.stats().changes_applied;
    let mut last_line = std::time::Instant::now();
    let mut active = false;
    loop {
        tick.tick().await;
        let st = net.stats();
        let now = st.changes_applied;
        let msg = format!(
            "{now} changes received from {} peer(s), {}/s",
            st.peers,
            now.saturating_sub(last) * 2
        );
        if now > last {
            active = true;
            if tty {
                let b = bar.get_or_insert_with(spinner);
                b.set_message(msg);
                b.tick();
            } else if last_line.elapsed() >= std::time::Duration::from_secs(5) {
                eprintln!("sync: {msg}");
                last_line = std::time::Instant::now();
            }
        } else if active {
            active = false;
            let done = format!("sync: up to date ({now} changes received so far)");
            match bar.take() {
                Some(b) => b.finish_with_message(done),
                None => eprintln!("{done}"),
            }
        }
        last = now;
    }
}

fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LINLI_DIR") {
        return PathBuf::from(d);
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".linli"),
        None => PathBuf::from(".linli"),
    }
}

fn init_logging(cli: &Cli, cfg: &Config, daemon: bool) {
    let format = match cli.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Human) => LogFormat::Human,
        None => cfg.log.format,
    };
    let level = match cli.verbose {
        0 if daemon => cfg.log.level.clone(),
        0 => "warn".to_string(),
        1 => "debug".to_string(),
        _ => "trace".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // Fails only if a subscriber is already set; then the existing one is kept.
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Human => b.try_init(),
    };
}

/// `linli op list` and `linli op show`: the operation catalogue, without a node.
/// Prints a line to stdout; a closed pipe (`| head`) ends the output quietly.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn op_help(cli: &Cli, cmd: &args::OpCmd) -> Result<u8, CliError> {
    match cmd {
        args::OpCmd::List { kind } => {
            let rows: Vec<serde_json::Value> = linli_core::catalogue::operations()
                .iter()
                .filter(|o| kind.is_none_or(|k| k == o.kind))
                .map(crate::ops::operation_row)
                .collect();
            if cli.json {
                say!("{}", serde_json::Value::Array(rows));
            } else {
                for r in rows {
                    let doc = r["doc"].as_str().unwrap_or_default();
                    let first = doc.lines().next().unwrap_or_default();
                    say!("{:<28} {first}", r["op"].as_str().unwrap_or_default());
                }
            }
            Ok(0)
        }
        args::OpCmd::Show { op } => {
            let o = linli_core::catalogue::find(op)
                .map_err(|e| CliError::new(EXIT_USAGE, e.to_string()))?;
            if cli.json {
                say!("{}", crate::ops::operation_row(&o));
            } else {
                say!("{}\n\n{}\n", o.id(), o.doc);
                for f in &o.fields {
                    let need = if f.required { "required" } else { "optional" };
                    say!("  {:<14} {:<24} {need}\n      {}", f.name, f.hint(), f.doc);
                }
            }
            Ok(0)
        }
        args::OpCmd::Run { .. } => Err(CliError::new(EXIT_USAGE, "`op run` needs a node")),
    }
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    let dir = cli.dir.clone().unwrap_or_else(default_dir);
    if let Command::Init(a) = &cli.command {
        init_logging(&cli, &Config::default(), false);
        return init(&cli, &dir, a).await;
    }
    if let Command::Demo(a) = &cli.command {
        init_logging(&cli, &Config::default(), false);
        return demo(a).await;
    }
    if let Command::Op(c @ (args::OpCmd::List { .. } | args::OpCmd::Show { .. })) = &cli.command {
        return op_help(&cli, c);
    }
    if let Command::Install(a) = &cli.command {
        return install(&cli, &dir, a);
    }
    if let Command::Join(a) = &cli.command {
        init_logging(&cli, &Config::default(), false);
        return join_with_code(&cli, &dir, a).await;
    }
    if let Command::Restore(a) = &cli.command {
        init_logging(&cli, &Config::default(), false);
        return restore(&cli, a).await;
    }
    if !dir.is_dir() {
        return Err(CliError::new(
            EXIT_STORE,
            format!(
                "data directory {} does not exist; create a node with `linli --dir {} init --org <ORG> --root <KEY>`",
                dir.display(),
                dir.display()
            ),
        ));
    }
    let cfg = Config::load_dir(&dir)?;
    init_logging(&cli, &cfg, matches!(cli.command, Command::Run(_)));
    match &cli.command {
        Command::Run(a) => daemon(&cli, &dir, cfg, a).await,
        Command::Backup(a) => backup(&cli, &dir, a).await,
        Command::Calendar(c) => {
            let req = match c {
                args::CalendarCmd::Url { resource } => Request::CalendarUrl { doc: *resource },
                args::CalendarCmd::Rotate { resource } => {
                    Request::CalendarRotate { doc: *resource }
                }
            };
            calendar(&cli, &dir, &cfg, req).await
        }
        Command::Metrics => metrics(&dir, &cfg).await,
        Command::Federation(FederationCmd::Join { root, peer }) => {
            join(&cli, &dir, cfg, root, peer).await
        }
        Command::Invite(a) => {
            let req = cli
                .command
                .request()
                .map_err(|e| CliError::new(EXIT_USAGE, e))?
                .ok_or_else(|| CliError::new(EXIT_USAGE, "this command takes no request"))?;
            let exec = Exec::connect(&dir, &cfg).await?;
            let r = exec.call(req).await;
            exec.close().await;
            let v = r?;
            if cli.json {
                output::print(&v, true);
            } else {
                let code = v["code"].as_str().unwrap_or_default();
                output::out(&format!("{code}\n"));
                if a.qr {
                    // Upper case fits QR's alphanumeric mode (a smaller symbol); `linli join`
                    // reads either case.
                    match qrcode::QrCode::new(code.to_ascii_uppercase().as_bytes()) {
                        Ok(q) => output::out(&format!(
                            "{}\n",
                            q.render::<qrcode::render::unicode::Dense1x2>()
                                .quiet_zone(true)
                                .build()
                        )),
                        Err(e) => eprintln!("no QR code: {e}"),
                    }
                }
                eprintln!(
                    "join code for {} {} (parent {}), valid until {}, single use; on the new \
                     node: linli --dir DIR join <CODE>",
                    v["role"].as_str().unwrap_or_default(),
                    v["org"].as_str().unwrap_or_default(),
                    v["parent"].as_str().unwrap_or("none"),
                    v["expires"].as_str().unwrap_or_default(),
                );
            }
            Ok(0)
        }
        Command::Export(a) => {
            let exec = Exec::connect(&dir, &cfg).await?;
            let r = export(&cli, &exec, a).await;
            exec.close().await;
            r
        }
        Command::Import(a) => {
            let exec = Exec::connect(&dir, &cfg).await?;
            let r = import(&cli, &exec, a).await;
            exec.close().await;
            r
        }
        Command::Volunteers(args::VolunteersCmd::Import { file, doc }) => {
            let exec = Exec::connect(&dir, &cfg).await?;
            let r = roster::import(cli.json, &exec, file, *doc).await;
            exec.close().await;
            r
        }
        Command::Report(cmd) => {
            let exec = Exec::connect(&dir, &cfg).await?;
            let r = roster::report(cli.json, &exec, cmd).await;
            exec.close().await;
            r
        }
        Command::Call { request } => {
            let req: Request = serde_json::from_str(request)
                .map_err(|e| CliError::new(EXIT_USAGE, format!("bad request JSON: {e}")))?;
            one(&cli, &dir, &cfg, req).await
        }
        other => {
            let req = other
                .request()
                .map_err(|e| CliError::new(EXIT_USAGE, e))?
                .ok_or_else(|| CliError::new(EXIT_USAGE, "this command takes no request"))?;
            one(&cli, &dir, &cfg, req).await
        }
    }
}

/// `linli calendar url|rotate`: the feed's full address, on the running daemon's API (or
/// the configured API address when no daemon runs).
async fn calendar(cli: &Cli, dir: &Path, cfg: &Config, req: Request) -> Result<u8, CliError> {
    let exec = Exec::connect(dir, cfg).await?;
    let (addr, running) = match &exec {
        Exec::Remote(c) => (c.addr(), true),
        Exec::Local(_) => (cfg.api.listen, false),
    };
    let r = exec.call(req).await;
    exec.close().await;
    let mut v = r?;
    let path = v["path"].as_str().unwrap_or_default().to_string();
    let url = format!("http://{addr}{path}");
    v["url"] = Value::String(url.clone());
    if cli.json {
        output::print(&v, true);
    } else {
        output::out(&format!("{url}\n"));
        if !running {
            eprintln!(
                "the daemon is not running: the feed answers once `linli --dir {} run` serves its API at {addr}",
                dir.display()
            );
        }
        if v["rotated"].as_bool() == Some(true) {
            eprintln!("the previous address of this feed no longer answers");
        }
    }
    Ok(0)
}

/// `linli backup`.
async fn backup(cli: &Cli, dir: &Path, a: &args::BackupArgs) -> Result<u8, CliError> {
    let now = crate::system_clock();
    let (dir, to, keep) = (dir.to_path_buf(), a.to.clone(), a.keep);
    let (summary, pruned) = tokio::task::spawn_blocking(move || {
        let file = crate::backup::target_file(&dir, to.as_deref(), now)?;
        let summary = crate::backup::backup(&dir, &file, now)?;
        // A failed clean-up is reported after the (written) backup.
        let pruned = match (keep, file.parent()) {
            (Some(n), Some(parent)) => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                crate::backup::prune(parent, usize::try_from(n).unwrap_or(usize::MAX))
            }
            _ => Ok(Vec::new()),
        };
        Ok::<_, crate::backup::BackupError>((summary, pruned))
    })
    .await
    .map_err(|e| CliError::new(EXIT_FAILED, format!("the backup task failed: {e}")))?
    .map_err(|e| backup_error(e, "backup"))?;
    let pruned = pruned.map_err(|e| {
        CliError::new(
            EXIT_FAILED,
            format!(
                "the backup {} was written, but removing older backups failed: {e}",
                summary.file.display()
            ),
        )
    })?;
    let v = json!({
        "file": summary.file.display().to_string(),
        "node": ops::ln(&summary.node),
        "changes": summary.changes,
        "database_bytes": summary.db_bytes,
        "file_bytes": summary.file_bytes,
        "taken_at": summary.taken_at.to_string(),
        "removed": pruned.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    if cli.json {
        output::print(&v, true);
    } else {
        output::out(&format!("{}\n", summary.file.display()));
        for p in &pruned {
            eprintln!("removed the older backup {}", p.display());
        }
        eprintln!(
            "backed up node {} ({} changes, {} bytes) to {} (mode 0600: it holds the node's secret key)",
            ops::ln(&summary.node),
            summary.changes,
            summary.file_bytes,
            summary.file.display()
        );
    }
    Ok(0)
}

fn backup_error(e: crate::backup::BackupError, what: &str) -> CliError {
    use crate::backup::BackupError as B;
    let code = match &e {
        B::NoStore(_) | B::Store(_) | B::TargetInUse(_) => EXIT_STORE,
        _ => EXIT_FAILED,
    };
    CliError::new(code, format!("{what}: {e}; nothing was changed"))
}

/// `linli restore`.
async fn restore(cli: &Cli, a: &args::RestoreArgs) -> Result<u8, CliError> {
    let Some(dir) = cli.dir.clone() else {
        return Err(CliError::new(
            EXIT_USAGE,
            "give the directory to restore into: linli restore --from FILE --data-dir NEWDIR",
        ));
    };
    let s = crate::backup::restore(&a.from, &dir, a.force, crate::system_clock())
        .await
        .map_err(|e| backup_error(e, "restore"))?;
    let v = json!({
        "dir": s.dir.display().to_string(),
        "node": ops::ln(&s.node),
        "org": s.org,
        "changes": s.changes,
        "documents": s.documents,
        "taken_at": s.taken_at.to_string(),
        "incarnation": s.incarnation,
        "moved_aside": s.moved_aside.as_ref().map(|p| p.display().to_string()),
    });
    if cli.json {
        output::print(&v, true);
    } else {
        output::out(&format!("{}\n", s.dir.display()));
        eprintln!(
            "restored node {} of {} ({} changes, {} documents, backup of {}) into {} with a fresh incarnation {}",
            ops::ln(&s.node),
            s.org,
            s.changes,
            s.documents,
            s.taken_at,
            s.dir.display(),
            s.incarnation
        );
        if let Some(p) = &s.moved_aside {
            eprintln!("what was in {} is now in {}", s.dir.display(), p.display());
        }
    }
    Ok(0)
}

/// `linli install`: prints the systemd units, or writes them to `--dest`.
fn install(cli: &Cli, dir: &Path, a: &args::InstallArgs) -> Result<u8, CliError> {
    let absolute = |p: &Path| -> Result<PathBuf, CliError> {
        if p.is_absolute() {
            return Ok(p.to_path_buf());
        }
        std::env::current_dir()
            .map(|c| c.join(p))
            .map_err(|e| CliError::new(EXIT_FAILED, format!("the current directory: {e}")))
    };
    let binary = match &a.bin {
        Some(b) => absolute(b)?,
        None => std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| {
                CliError::new(
                    EXIT_FAILED,
                    format!("cannot tell where this linli binary is ({e}); give --bin"),
                )
            })?,
    };
    if !binary.is_file() {
        return Err(CliError::new(
            EXIT_USAGE,
            format!("--bin {}: no such file", binary.display()),
        ));
    }
    let opts = crate::install::InstallOptions {
        data_dir: absolute(dir)?,
        user: a.user.clone(),
        binary,
        name: a.name.clone(),
        backup_dir: a.backup_dir.as_deref().map(absolute).transpose()?,
    };
    let units =
        crate::install::units(&opts).map_err(|e| CliError::new(EXIT_USAGE, e.to_string()))?;
    let Some(dest) = &a.dest else {
        if cli.json {
            let v: Vec<Value> = units
                .iter()
                .map(|u| json!({"file": u.file, "text": u.text}))
                .collect();
            output::print(&Value::Array(v), true);
        } else {
            for u in &units {
                output::out(&format!("### {}\n{}\n", u.file, u.text));
            }
        }
        return Ok(0);
    };
    if !dest.is_dir() {
        return Err(CliError::new(
            EXIT_USAGE,
            format!("--dest {}: not a directory", dest.display()),
        ));
    }
    let mut written = Vec::new();
    for u in &units {
        let path = dest.join(&u.file);
        write_unit(&path, &u.text)
            .map_err(|e| CliError::new(EXIT_FAILED, format!("writing {}: {e}", path.display())))?;
        written.push(path.display().to_string());
    }
    if cli.json {
        output::print(&json!({ "written": written }), true);
    } else {
        for w in &written {
            output::out(&format!("{w}\n"));
        }
        eprintln!(
            "next: systemctl daemon-reload && systemctl enable --now {0}.service {0}-backup.timer",
            a.name
        );
    }
    Ok(0)
}

/// A unit file, world-readable as systemd expects (it holds no secret), replaced atomically.
fn write_unit(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = crate::private::tmp_of(path);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    drop(f);
    std::fs::rename(&tmp, path)
}

async fn one(cli: &Cli, dir: &Path, cfg: &Config, req: Request) -> Result<u8, CliError> {
    let exec = Exec::connect(dir, cfg).await?;
    let r = exec.call(req).await;
    exec.close().await;
    output::print(&r?, cli.json);
    Ok(0)
}

/// Where requests go: the running daemon, or the store opened here.
enum Exec {
    Remote(ApiClient),
    Local(Node),
}

impl Exec {
    async fn connect(dir: &Path, cfg: &Config) -> Result<Exec, CliError> {
        if let Some(client) = ApiClient::from_dir(dir, cfg)? {
            match client.get_json("/api/v1/status").await {
                Ok(_) => {
                    tracing::debug!(addr = %client.addr(), "using the running daemon");
                    return Ok(Exec::Remote(client));
                }
                Err(ApiError::Unreachable { addr, .. }) => {
                    tracing::warn!(
                        %addr,
                        "{} names a daemon that does not answer; opening the store directly",
                        dir.join(api::ADDR_FILE).display()
                    );
                }
                Err(e) => return Err(CliError::from(e)),
            }
        }
        let training_clock = training_now(dir)?;
        if let Some(t) = training_clock {
            tracing::warn!(
                now = %t,
                "TRAINING CLOCK: {} ran on simulated time; this command continues it",
                dir.display()
            );
        }
        let opts = OpenOptions {
            training_clock,
            ..open_options(cfg)
        };
        Ok(Exec::Local(Node::open(dir, opts).await?))
    }

    async fn call(&self, req: Request) -> Result<Value, CliError> {
        match self {
            Exec::Remote(c) => Ok(c.call(&req).await?),
            Exec::Local(n) => Ok(ops::execute(n, req).await?),
        }
    }

    async fn close(self) {
        if let Exec::Local(n) = self
            && let Err(e) = n.shutdown().await
        {
            tracing::warn!("closing the store: {e}");
        }
    }
}

fn random_secret() -> Result<[u8; 32], CliError> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s)
        .map_err(|e| CliError::new(EXIT_FAILED, format!("no OS randomness for a key: {e}")))?;
    Ok(s)
}

async fn init(cli: &Cli, dir: &Path, a: &args::InitArgs) -> Result<u8, CliError> {
    let config_path = Config::path_in(dir);
    let opts = match (&a.root, a.new_root) {
        (_, true) => {
            let secret = random_secret()?;
            let root = Keypair::from_secret(&secret).node_id();
            let mut o = InitOptions::new(a.org.clone(), root);
            o.secret = Some(secret);
            o
        }
        (Some(r), false) => InitOptions::new(a.org.clone(), ops::parse_node_id(r)?),
        (None, false) => {
            return Err(CliError::new(EXIT_USAGE, "give --root <KEY> or --new-root"));
        }
    };
    if config_path.exists() && !dir.join(crate::files::DB).exists() {
        // Keep a config written by hand before init; check it.
        Config::load(&config_path)?;
    }
    let root = opts.root;
    let org = opts.org.clone();
    let node = Node::init(dir, opts, OpenOptions::default()).await?;
    let id = node.node_id();
    node.shutdown().await?;
    let mut cfg = if config_path.exists() {
        Config::load(&config_path)?
    } else {
        Config::default()
    };
    cfg.node.org = Some(org.to_string());
    cfg.node.root = Some(ops::ln(&root));
    cfg.node.id = Some(ops::ln(&id));
    let path = cfg.save_dir(dir)?;
    let v = json!({
        "node": ops::ln(&id),
        "org": org.to_string(),
        "root": ops::ln(&root),
        "is_root": id == root,
        "dir": dir.display().to_string(),
        "config": path.display().to_string(),
    });
    if cli.json {
        output::print(&v, true);
    } else {
        output::out(&format!("{}\n", ops::ln(&id)));
        eprintln!(
            "initialised node {} of {org} in {} (root {}{}); config {}",
            ops::ln(&id),
            dir.display(),
            ops::ln(&root),
            if id == root { ", this node" } else { "" },
            path.display()
        );
    }
    Ok(0)
}

async fn join(
    cli: &Cli,
    dir: &Path,
    mut cfg: Config,
    root: &str,
    peers: &[String],
) -> Result<u8, CliError> {
    let root_id = ops::parse_node_id(root)?;
    let exec = Exec::connect(dir, &cfg).await?;
    let status = exec.call(Request::Status).await;
    exec.close().await;
    let status = status?;
    let have = status
        .get("root")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if have != ops::ln(&root_id) {
        return Err(CliError::new(
            EXIT_FAILED,
            format!(
                "this node was initialised trusting root {have}, not {}; a node trusts one \
                 root: initialise a new data directory to join another district",
                ops::ln(&root_id)
            ),
        ));
    }
    cfg.node.root = Some(ops::ln(&root_id));
    for p in peers {
        if !cfg.network.bootstrap.contains(p) {
            cfg.network.bootstrap.push(p.clone());
        }
    }
    let path = cfg.save_dir(dir)?;
    let v = json!({
        "root": ops::ln(&root_id),
        "bootstrap": cfg.network.bootstrap,
        "config": path.display().to_string(),
    });
    output::print(&v, cli.json);
    if !cli.json {
        eprintln!("restart `linli run` to dial the bootstrap peers");
    }
    Ok(0)
}

async fn metrics(dir: &Path, cfg: &Config) -> Result<u8, CliError> {
    let not_running = || {
        CliError::new(
            EXIT_DAEMON,
            format!(
                "the daemon is not running for {} (no answer from {}); start it with `linli --dir {} run`",
                dir.display(),
                dir.join(api::ADDR_FILE).display(),
                dir.display()
            ),
        )
    };
    let client = ApiClient::from_dir(dir, cfg)?.ok_or_else(not_running)?;
    let r = match client.get("/metrics").await {
        Err(ApiError::Unreachable { .. }) => return Err(not_running()),
        other => other?,
    };
    if r.status != 200 {
        return Err(CliError::new(
            EXIT_DAEMON,
            format!("daemon answered {}: {}", r.status, r.text()),
        ));
    }
    output::out(&r.text());
    Ok(0)
}

async fn daemon(cli: &Cli, dir: &Path, mut cfg: Config, a: &RunArgs) -> Result<u8, CliError> {
    if let Some(secs) = a.sync_interval {
        cfg.network.sync_interval_secs = secs;
    }
    if !a.listen.is_empty() {
        cfg.network.listen = a.listen.clone();
    }
    for b in &a.bootstrap {
        if !cfg.network.bootstrap.contains(b) {
            cfg.network.bootstrap.push(b.clone());
        }
    }
    if let Some(api) = a.api {
        cfg.api.listen = api;
    }
    if let Ok(Some(client)) = ApiClient::from_dir(dir, &cfg)
        && client.get_json("/api/v1/status").await.is_ok()
    {
        return Err(CliError::new(
            EXIT_STORE,
            format!(
                "a daemon is already running for {} (API at {})",
                dir.display(),
                client.addr()
            ),
        ));
    }
    if !cfg.api.listen.ip().is_loopback() {
        tracing::warn!(
            addr = %cfg.api.listen,
            "the HTTP API is not bound to a loopback address: anyone with the token on the network can use it"
        );
    }
    // A directory once run on a training clock holds simulated times: it stays on one, so
    // its documents never reach nodes on real time.
    let mark = dir.join(TRAINING_MARK);
    if a.training_clock.is_none() && mark.exists() {
        return Err(CliError::new(
            EXIT_FAILED,
            format!(
                "{} ran on a training clock and its documents hold simulated times: run it \
                 with --training-clock again (a node on a training clock never syncs with one \
                 on real time), or use a fresh data directory",
                dir.display()
            ),
        ));
    }
    let node = open_for_daemon(dir, &cfg, a.training_clock).await?;
    if let Some(t) = a.training_clock {
        let offset = t.millis().saturating_sub(crate::system_clock().millis());
        if let Err(e) = std::fs::write(&mark, format!("{t}\noffset_ms {offset}\n")) {
            let _ = node.shutdown().await;
            return Err(CliError::new(
                EXIT_STORE,
                format!("cannot write {}: {e}", mark.display()),
            ));
        }
        tracing::warn!(
            start = %t,
            "TRAINING CLOCK: this node runs on simulated time and never syncs with nodes on real time"
        );
    }
    let addr_path = dir.join(api::ADDR_FILE);
    // The lock is ours: an api.addr (or dashboard.url) left here is from a daemon that died.
    let _ = std::fs::remove_file(&addr_path);
    let _ = std::fs::remove_file(dir.join(api::DASHBOARD_FILE));
    let net = if a.no_network {
        None
    } else {
        // The daemon's transport: TCP (and QUIC with the `quic` feature) with the node's key.
        let started = async {
            let key = crate::net::keypair(&node)?;
            let transport = crate::net::tcp_transport(&key)?;
            Network::new(node.clone(), cfg.network.clone(), key, transport).await
        }
        .await;
        match started {
            Ok(n) => Some(n),
            Err(e) => {
                let _ = node.shutdown().await;
                return Err(CliError::new(EXIT_FAILED, format!("networking: {e}")));
            }
        }
    };
    let listen = match &net {
        Some(n) => n.listen_addrs().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let token =
        api::random_token().map_err(|e| CliError::new(EXIT_FAILED, format!("API token: {e}")))?;
    let token_path = cfg.token_path(dir);
    let io = |what: &Path, e: std::io::Error| {
        CliError::new(EXIT_FAILED, format!("{}: {e}", what.display()))
    };
    api::write_private(&token_path, &token).map_err(|e| io(&token_path, e))?;
    let server = match api::serve(node.clone(), net.clone(), cfg.api.listen, token.clone()).await {
        Ok(s) => s,
        Err(e) => {
            if let Some(n) = &net {
                let _ = n.shutdown().await;
            }
            let _ = node.shutdown().await;
            return Err(CliError::new(EXIT_FAILED, e.to_string()));
        }
    };
    // The dashboard's address carries the token: into a 0600 file, never into the logs;
    // printed only to a terminal (stdout of a service may end up in a journal).
    let dashboard = Dashboard {
        addr: server.addr(),
        token: &token,
        file: dir.join(api::DASHBOARD_FILE),
        terminal: std::io::stdout().is_terminal(),
    };
    api::write_private(&dashboard.file, &dashboard.url()).map_err(|e| io(&dashboard.file, e))?;
    api::write_private(&addr_path, &server.addr().to_string()).map_err(|e| io(&addr_path, e))?;
    let info = json!({
        "node": ops::ln(&node.node_id()),
        "org": node.org().to_string(),
        "listen": listen,
        "api": server.addr().to_string(),
        "dashboard": dashboard.shown(),
        "dashboard_file": dashboard.file.display().to_string(),
    });
    if cli.json {
        output::out(&format!("{info}\n"));
    } else {
        let mut text = format!(
            "node    {}\norg     {}\n",
            ops::ln(&node.node_id()),
            node.org()
        );
        for l in &listen {
            text.push_str(&format!("listen  {l}\n"));
        }
        if net.is_none() {
            text.push_str("listen  (networking off)\n");
        }
        text.push_str(&format!("api     http://{}\n", server.addr()));
        text.push_str(&dashboard.line());
        output::out(&text);
    }
    tracing::info!(
        api = %server.addr(),
        dashboard_file = %dashboard.file.display(),
        "linli daemon running"
    );

    let progress = net.clone().map(|n| tokio::spawn(sync_progress(n)));
    wait_for_signal().await;
    if let Some(p) = progress {
        p.abort();
    }
    tracing::info!("shutting down");
    let _ = std::fs::remove_file(&addr_path);
    let mut failed = Vec::new();
    if let Err(e) = server.shutdown().await {
        failed.push(e.to_string());
    }
    if let Some(n) = &net
        && let Err(e) = n.shutdown().await
    {
        failed.push(format!("networking: {e}"));
    }
    if let Err(e) = node.shutdown().await {
        failed.push(e.to_string());
    }
    let _ = std::fs::remove_file(&token_path);
    let _ = std::fs::remove_file(&dashboard.file);
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(
            EXIT_FAILED,
            format!("shutdown: {}", failed.join("; ")),
        ))
    }
}

/// The dashboard's address as `linli run` shows it: with its token on a terminal only,
/// else without it and with the file that holds it.
struct Dashboard<'a> {
    addr: std::net::SocketAddr,
    token: &'a str,
    file: PathBuf,
    terminal: bool,
}

impl Dashboard<'_> {
    /// The address with the token (the content of the file).
    fn url(&self) -> String {
        format!("http://{}/#token={}", self.addr, self.token)
    }

    /// What stdout shows as the address.
    fn shown(&self) -> String {
        if self.terminal {
            self.url()
        } else {
            format!("http://{}/", self.addr)
        }
    }

    /// The `dashboard` line of the text output.
    fn line(&self) -> String {
        if self.terminal {
            format!("dashboard {}\n", self.url())
        } else {
            format!(
                "dashboard {} (open the address with its token from {})\n",
                self.shown(),
                self.file.display()
            )
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn absolute(p: &Path) -> Result<PathBuf, CliError> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .map_err(|e| CliError::new(EXIT_FAILED, format!("current directory: {e}")))
}

async fn export(cli: &Cli, exec: &Exec, a: &args::ExportArgs) -> Result<u8, CliError> {
    match a.format {
        FileFormat::Json => {
            if a.what.is_some() {
                return Err(CliError::new(
                    EXIT_USAGE,
                    "--what is for --format csv; json exports the whole signed change log",
                ));
            }
            let path = absolute(&a.file)?;
            let v = exec.call(Request::ExportFile { path }).await?;
            output::print(&v, cli.json);
            Ok(0)
        }
        FileFormat::Csv => {
            let what = a.what.ok_or_else(|| {
                CliError::new(
                    EXIT_USAGE,
                    "--format csv needs --what (balances, bookings, service, leaderboard, compounds, wishes, documents)",
                )
            })?;
            let doc = a.doc;
            let req = match what {
                Table::Balances => Request::Balances,
                Table::Bookings => Request::BookingList { doc },
                Table::Service => Request::Entries { doc },
                Table::Leaderboard => Request::Leaderboard { doc, team: None },
                Table::Compounds => Request::CompoundList { doc, year: None },
                Table::Wishes => Request::WishList { doc },
                Table::Documents => Request::Documents { kind: None },
            };
            let v = exec.call(req).await?;
            let rows = match v {
                Value::Array(r) => r,
                other => vec![other],
            };
            let text = to_csv(&rows)?;
            if a.file.as_os_str() == "-" {
                output::out(&text);
            } else {
                use std::io::Write;
                // Mode 0600, like every file linli writes.
                crate::private::create(&a.file)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .map_err(|e| {
                        CliError::new(EXIT_FAILED, format!("{}: {e}", a.file.display()))
                    })?;
                let v = json!({ "path": a.file.display().to_string(), "rows": rows.len() });
                output::print(&v, cli.json);
            }
            Ok(0)
        }
    }
}

fn to_csv(rows: &[Value]) -> Result<String, CliError> {
    let cols = output::columns(rows);
    let err = |e: csv::Error| CliError::new(EXIT_FAILED, format!("CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&cols).map_err(err)?;
    for r in rows {
        let rec: Vec<String> = cols
            .iter()
            .map(|c| r.get(c).map(output::cell).unwrap_or_default())
            .collect();
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::new(EXIT_FAILED, format!("CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| CliError::new(EXIT_FAILED, format!("CSV: {e}")))
}

async fn import(cli: &Cli, exec: &Exec, a: &args::ImportArgs) -> Result<u8, CliError> {
    match a.format {
        FileFormat::Json => {
            let path = absolute(&a.file)?;
            if !path.is_file() {
                return Err(CliError::new(
                    EXIT_FAILED,
                    format!("{}: no such file", path.display()),
                ));
            }
            let spinner = std::io::stderr().is_terminal().then(|| {
                let s = indicatif::ProgressBar::new_spinner();
                s.set_message(format!("importing {}", path.display()));
                s.enable_steady_tick(std::time::Duration::from_millis(120));
                s
            });
            let v = exec.call(Request::ImportFile { path }).await;
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            let v = v?;
            output::print(&v, cli.json);
            let bad = v
                .get("invalid")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
                || v.get("refused").and_then(Value::as_u64).unwrap_or(0) > 0
                || v.get("complete") == Some(&Value::Bool(false));
            Ok(if bad { EXIT_PARTIAL } else { 0 })
        }
        FileFormat::Csv => {
            match a.what {
                None | Some(Table::Service) => {}
                Some(other) => {
                    return Err(CliError::new(
                        EXIT_USAGE,
                        format!("CSV import takes service records only, not {other:?}"),
                    ));
                }
            }
            import_service_csv(cli, exec, a).await
        }
    }
}

/// Rows per import request: one change each (more only if their records exceed a change).
const IMPORT_ROWS: usize = linli_core::ledger::MAX_BATCH_ROWS;
/// JSON bytes of rows per import request at most (the daemon's API takes bodies of 2 MiB).
const IMPORT_BYTES: usize = 1 << 20;

/// The columns of a service-records CSV (volunteer, activity, date and hours are required).
const SERVICE_COLUMNS: &str = "volunteer, activity, team, date, hours, evidence, id";

/// One record of a service-records CSV: the line it starts on, and the row with its source
/// id or why it cannot be imported.
pub type CsvRow = (u64, Result<ServiceRow, String>);

/// Parses a CSV of service records (the `import --format csv` format: a header naming the
/// columns volunteer, activity, team, date, hours, evidence, id) into one row or error per
/// record, each with the line it starts on (lines end at `\n`, `\r\n` or `\r`; a quoted
/// field may span lines); an error for the whole file if it lacks a required column.
///
/// Every row gets its identity ([`ServiceRow::source`]): its `id` cell if not empty, else
/// a digest of its values and its occurrence among identical rows of the file — so a file
/// imported again, in part or in whole, after a crash, with rows appended or a rejected row
/// corrected, names its rows alike. Used by the import and by the fuzzer of the CSV import.
pub fn service_rows(data: &[u8]) -> Result<Vec<CsvRow>, String> {
    // A byte order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let lines = Lines::new(data);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    for required in ["volunteer", "activity", "date", "hours"] {
        if !headers
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(required))
        {
            return Err(format!(
                "no `{required}` column (columns: {SERVICE_COLUMNS})"
            ));
        }
    }
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    Ok(rdr
        .records()
        .map(|r| {
            let pos = match &r {
                Ok(rec) => rec.position(),
                Err(e) => e.position(),
            };
            let line = pos.map_or(0, |p| lines.line(record_start(data, p.byte())));
            let row = r
                .map_err(|e| format!("unreadable: {e}"))
                .and_then(|rec| service_row(&headers, &rec))
                .map(|(mut row, id)| {
                    row.source = Some(id.unwrap_or_else(|| {
                        let digest = row_digest(&row);
                        let k = seen.entry(digest.clone()).or_insert(0);
                        *k += 1;
                        format!("{digest}:{k}")
                    }));
                    row
                });
            (line, row)
        })
        .collect())
}

/// Where a record that the CSV reader says starts at `offset` really starts: after a
/// `\r\n` the reader stops at `\r` and counts the `\n` as the next record's first byte (which
/// put its line one too early). A record never starts with a line end.
pub(crate) fn record_start(data: &[u8], offset: u64) -> u64 {
    let skip = usize::try_from(offset)
        .ok()
        .and_then(|o| data.get(o..))
        .map_or(0, |rest| {
            rest.iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count()
        });
    offset + skip as u64
}

/// Line numbers of byte offsets: the offsets at which lines 2, 3, … start (a line ends at
/// `\n`, `\r\n` or a lone `\r`).
pub(crate) struct Lines(Vec<u64>);

impl Lines {
    pub(crate) fn new(data: &[u8]) -> Self {
        let mut starts = Vec::new();
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\n' => starts.push(i as u64 + 1),
                b'\r' => {
                    if data.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(i as u64 + 1);
                }
                _ => {}
            }
            i += 1;
        }
        Lines(starts)
    }

    /// The line (from 1) holding byte `offset`.
    pub(crate) fn line(&self, offset: u64) -> u64 {
        1 + self.0.partition_point(|&s| s <= offset) as u64
    }
}

/// A row's identity when it has no id: 16 hex digits of a digest of its values, as they are
/// recorded (hours as minutes), so reformatting the file does not change it.
fn row_digest(r: &ServiceRow) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"linli/import/service/v1");
    let minutes = if r.hours.is_finite() {
        format!("{}", (r.hours * 60.0).round())
    } else {
        r.hours.to_string()
    };
    let date = r.date.to_string();
    let volunteer = r.volunteer.to_string();
    for field in [
        Some(volunteer.as_str()),
        Some(r.activity.as_str()),
        r.team.as_deref(),
        Some(date.as_str()),
        Some(minutes.as_str()),
        r.evidence.as_deref(),
    ] {
        match field {
            None => {
                h.update(&[0]);
            }
            Some(f) => {
                h.update(&[1]);
                h.update(&(f.len() as u64).to_le_bytes());
                h.update(f.as_bytes());
            }
        }
    }
    hex::encode(&h.finalize().as_bytes()[..8])
}

/// One CSV row turned into a service row and its `id` cell, or why it cannot be.
fn service_row(
    headers: &csv::StringRecord,
    rec: &csv::StringRecord,
) -> Result<(ServiceRow, Option<String>), String> {
    // Line ends inside a quoted cell read as `\n`, whatever the file's.
    let get = |name: &str| -> Option<String> {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .and_then(|i| rec.get(i))
            .map(|s| s.trim().replace("\r\n", "\n").replace('\r', "\n"))
            .filter(|s| !s.is_empty())
    };
    let need = |name: &str| get(name).ok_or_else(|| format!("column {name} is empty"));
    let volunteer = need("volunteer")?;
    let date = need("date")?;
    let hours = need("hours")?;
    let row = ServiceRow {
        volunteer: volunteer
            .parse()
            .map_err(|e| format!("volunteer {volunteer:?}: {e}"))?,
        activity: need("activity")?,
        team: get("team"),
        date: date.parse().map_err(|e| format!("date {date:?}: {e}"))?,
        hours: hours
            .parse()
            .map_err(|_| format!("hours {hours:?} is not a number"))?,
        evidence: get("evidence"),
        source: None,
    };
    Ok((row, get("id")))
}

/// What a CSV import did so far, reported row by row.
struct ImportReport {
    bar: Option<indicatif::ProgressBar>,
    imported: u64,
    already: u64,
    rejected: Vec<Value>,
}

impl ImportReport {
    fn say(&self, text: String) {
        match &self.bar {
            Some(b) => b.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn recorded(&mut self, line: u64) {
        self.imported += 1;
        if self.bar.is_none() {
            eprintln!("line {line}: recorded");
        }
    }

    fn already(&mut self, line: u64, entry: &str) {
        self.already += 1;
        if self.bar.is_none() {
            eprintln!("line {line}: already imported (entry {entry})");
        }
    }

    fn rejected(&mut self, line: u64, error: String) {
        self.say(format!("line {line}: rejected: {error}"));
        self.rejected.push(json!({ "line": line, "error": error }));
    }

    /// Reports one row from the daemon's (or the node's) answer.
    fn answer(&mut self, line: u64, outcome: Option<&Value>) {
        let field = |k: &str| {
            outcome
                .and_then(|o| o.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match field("outcome").as_str() {
            "recorded" => self.recorded(line),
            "already_imported" => self.already(line, &field("entry")),
            "rejected" => self.rejected(line, field("error")),
            _ => self.rejected(line, format!("not written ({})", field("outcome"))),
        }
    }
}

/// Sends a batch of parsed rows as one import request and reports every row of it in line
/// order. A refusal of the whole batch (exit code 1: e.g. no ledger, not allowed) rejects its
/// rows; any other failure (store, daemon) stops the import.
async fn import_batch(
    exec: &Exec,
    doc: Option<linli_core::DocId>,
    batch: Vec<CsvRow>,
    report: &mut ImportReport,
) -> Result<(), CliError> {
    let rows: Vec<ServiceRow> = batch
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let count = batch.len() as u64;
    let answer: Result<Vec<Value>, String> = if rows.is_empty() {
        Ok(Vec::new())
    } else {
        match exec.call(Request::ServiceImport { doc, rows }).await {
            Ok(v) => Ok(v
                .get("rows")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()),
            Err(e) if e.code == EXIT_FAILED => Err(e.message),
            Err(e) => {
                let line = batch.first().map_or(0, |(l, _)| *l);
                return Err(CliError::new(
                    e.code,
                    format!(
                        "{} (stopped at line {line} after {} rows were imported; importing the \
                         file again skips them)",
                        e.message, report.imported
                    ),
                ));
            }
        }
    };
    let mut answers = answer.as_ref().map(|a| a.iter());
    for (line, row) in batch {
        match (row, &mut answers) {
            (Err(e), _) => report.rejected(line, e),
            (Ok(_), Err(msg)) => report.rejected(line, msg.clone()),
            (Ok(_), Ok(it)) => report.answer(line, it.next()),
        }
    }
    if let Some(b) = &report.bar {
        b.inc(count);
    }
    Ok(())
}

async fn import_service_csv(cli: &Cli, exec: &Exec, a: &args::ImportArgs) -> Result<u8, CliError> {
    let file = a.file.display();
    let data =
        std::fs::read(&a.file).map_err(|e| CliError::new(EXIT_FAILED, format!("{file}: {e}")))?;
    let records =
        service_rows(&data).map_err(|e| CliError::new(EXIT_FAILED, format!("{file}: {e}")))?;
    let bar = if std::io::stderr().is_terminal() && !records.is_empty() {
        let b = indicatif::ProgressBar::new(records.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} service records ({eta})")
        {
            b.set_style(style);
        }
        Some(b)
    } else {
        None
    };
    let mut report = ImportReport {
        bar,
        imported: 0,
        already: 0,
        rejected: Vec::new(),
    };
    // Batches of rows in file order, bounded in rows and bytes; rows that did not parse
    // travel with their batch so the report stays in line order.
    let mut batch: Vec<CsvRow> = Vec::new();
    let (mut rows, mut bytes) = (0usize, 0usize);
    let mut result = Ok(());
    for rec in records {
        let size = rec
            .1
            .as_ref()
            .map_or(0, |r| serde_json::to_vec(r).map_or(0, |v| v.len()));
        if rows > 0 && (rows == IMPORT_ROWS || bytes + size > IMPORT_BYTES) {
            result = import_batch(exec, a.doc, std::mem::take(&mut batch), &mut report).await;
            if result.is_err() {
                break;
            }
            (rows, bytes) = (0, 0);
        }
        if rec.1.is_ok() {
            rows += 1;
            bytes += size;
        }
        batch.push(rec);
    }
    if result.is_ok() && !batch.is_empty() {
        result = import_batch(exec, a.doc, batch, &mut report).await;
    }
    if let Some(b) = report.bar.take() {
        b.finish_and_clear();
    }
    result?;
    let (imported, already, n) = (report.imported, report.already, report.rejected.len());
    if cli.json {
        let v = json!({
            "file": file.to_string(),
            "imported": imported,
            "already_imported": already,
            "rejected": report.rejected,
        });
        output::print(&v, true);
    } else {
        output::out(&format!(
            "imported {imported} service records, rejected {n}, already imported {already}\n"
        ));
    }
    Ok(if n > 0 { EXIT_PARTIAL } else { 0 })
}

/// What `linli join` found in its data directory before starting.
enum JoinDir {
    /// Nothing there: the directory is created (and removed again if the join fails).
    Absent,
    /// An empty directory: filled (and emptied again if the join fails).
    Empty,
    /// A node of the code's organisation and root (a retried join): reused and kept.
    Node,
}

/// Removes what a failed join created in `dir`.
fn undo_join(dir: &Path, state: &JoinDir) {
    let r = match state {
        JoinDir::Absent => std::fs::remove_dir_all(dir),
        JoinDir::Empty => std::fs::read_dir(dir).and_then(|entries| {
            for e in entries {
                let p = e?.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)?;
                } else {
                    std::fs::remove_file(&p)?;
                }
            }
            Ok(())
        }),
        JoinDir::Node => Ok(()),
    };
    if let Err(e) = r {
        tracing::warn!(
            "cannot remove what the failed join created in {}: {e}",
            dir.display()
        );
    }
}

/// `linli join <code>`: a node created from a join code and certified by the code's issuer.
async fn join_with_code(cli: &Cli, dir: &Path, a: &args::JoinArgs) -> Result<u8, CliError> {
    use crate::invite::JoinCode;
    let code = JoinCode::decode(&a.code).map_err(|e| CliError::new(EXIT_USAGE, e.to_string()))?;
    let now = crate::system_clock();
    if code.expires <= now {
        return Err(CliError::new(
            EXIT_FAILED,
            format!(
                "the join code expired at {}; ask the issuer ({}) for a new one (nothing was created)",
                code.expires,
                ops::ln(&code.issuer)
            ),
        ));
    }
    let issuer_peer = crate::net::peer_id_of(&code.issuer).ok_or_else(|| {
        CliError::new(
            EXIT_USAGE,
            "the join code's issuer key is not an ed25519 key",
        )
    })?;
    let bootstrap: Vec<String> = code
        .addrs
        .iter()
        .map(|a| format!("{a}/p2p/{issuer_peer}"))
        .collect();
    let state = if !dir.exists() {
        JoinDir::Absent
    } else if dir.join(crate::files::DB).exists() {
        JoinDir::Node
    } else if std::fs::read_dir(dir)
        .map_err(|e| CliError::new(EXIT_STORE, format!("{}: {e}", dir.display())))?
        .next()
        .is_none()
    {
        JoinDir::Empty
    } else {
        return Err(CliError::new(
            EXIT_USAGE,
            format!(
                "{} is not empty and holds no linli node; join into a new or empty directory",
                dir.display()
            ),
        ));
    };
    let node = match state {
        JoinDir::Node => {
            let mut cfg = Config::load_dir(dir)?;
            let node = Node::open(dir, open_options(&cfg)).await?;
            if node.root() != code.root || node.org() != &code.org {
                let msg = format!(
                    "{} already holds a node of {} trusting root {}; the code invites {} of the \
                     district with root {}: join into a new directory",
                    dir.display(),
                    node.org(),
                    ops::ln(&node.root()),
                    code.org,
                    ops::ln(&code.root)
                );
                node.shutdown().await?;
                return Err(CliError::new(EXIT_FAILED, msg));
            }
            // A node made by `linli init`: the issuer becomes a bootstrap peer too.
            let missing: Vec<String> = bootstrap
                .iter()
                .filter(|b| !cfg.network.bootstrap.contains(b))
                .cloned()
                .collect();
            if !missing.is_empty() {
                cfg.network.bootstrap.extend(missing);
                if let Err(e) = cfg.save_dir(dir) {
                    node.shutdown().await?;
                    return Err(CliError::from(e));
                }
            }
            node
        }
        JoinDir::Absent | JoinDir::Empty => {
            let made = async {
                let node = Node::init(
                    dir,
                    InitOptions::new(code.org.clone(), code.root),
                    OpenOptions::default(),
                )
                .await?;
                let mut cfg = Config::default();
                cfg.node.org = Some(code.org.to_string());
                cfg.node.root = Some(ops::ln(&code.root));
                cfg.node.id = Some(ops::ln(&node.node_id()));
                cfg.network.bootstrap = bootstrap.clone();
                if let Err(e) = cfg.save_dir(dir) {
                    node.shutdown().await?;
                    return Err(CliError::from(e));
                }
                Ok::<Node, CliError>(node)
            }
            .await;
            match made {
                Ok(n) => n,
                Err(e) => {
                    undo_join(dir, &state);
                    return Err(e);
                }
            }
        }
    };
    let id = node.node_id();
    let timeout = std::time::Duration::from_secs(a.timeout);
    let fail = |node: Node, state: JoinDir, e: String| async move {
        if let Err(e) = node.shutdown().await {
            tracing::warn!("closing the store: {e}");
        }
        undo_join(dir, &state);
        let kept = match state {
            JoinDir::Node => "the data directory is kept as it was",
            _ => "nothing was kept",
        };
        CliError::new(EXIT_FAILED, format!("{e} ({kept})"))
    };
    let key = match crate::net::keypair(&node) {
        Ok(k) => k,
        Err(e) => return Err(fail(node, state, e.to_string()).await),
    };
    let joined = match crate::net::tcp_transport(&key) {
        Ok(t) => crate::net::request_join(key.clone(), t, &code, timeout).await,
        Err(e) => Err(e.into()),
    };
    let fed = match joined {
        Ok(doc) => doc,
        Err(e) => {
            let hint = match &e {
                crate::net::JoinError::Unreachable { .. } | crate::net::JoinError::Timeout(_) => {
                    "; is the issuer's daemon (`linli run`) running and reachable? The code \
                     was not used: run the same command again"
                }
                _ => "",
            };
            return Err(fail(node, state, format!("{e}{hint}")).await);
        }
    };
    if !cli.json {
        eprintln!(
            "certified by {} as {} of {}; fetching the federation document…",
            ops::ln(&code.issuer),
            code.role,
            code.org
        );
    }
    // The certificate is written: from here on the directory is kept whatever happens.
    let mut events = node.subscribe();
    let certified = |node: Node| async move {
        let now = node.now();
        node.read(move |r| r.principal(&id, now).ok())
            .await
            .ok()
            .flatten()
    };
    let net_cfg = crate::net::NetConfig {
        listen: Vec::new(),
        bootstrap: bootstrap.clone(),
        ..crate::net::NetConfig::default()
    };
    let net = match crate::net::tcp_transport(&key) {
        Ok(t) => Network::new(node.clone(), net_cfg, key, t).await,
        Err(e) => Err(e),
    };
    let net = match net {
        Ok(n) => n,
        Err(e) => {
            node.shutdown().await?;
            return Err(CliError::new(
                EXIT_FAILED,
                format!(
                    "certified, but the network did not start ({e}); `linli --dir {} run` fetches the certificate",
                    dir.display()
                ),
            ));
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut principal = certified(node.clone()).await;
    while principal.is_none() {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => break,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
            Ok(_) => principal = certified(node.clone()).await,
        }
    }
    if let Err(e) = net.shutdown().await {
        tracing::warn!("stopping the network: {e}");
    }
    node.shutdown().await?;
    let Some(p) = principal else {
        return Err(CliError::new(
            EXIT_FAILED,
            format!(
                "the issuer wrote the certificate (federation document {fed}) but it did not \
                 arrive within {} s; `linli --dir {} run` fetches it",
                a.timeout,
                dir.display()
            ),
        ));
    };
    let v = json!({
        "node": ops::ln(&id),
        "role": code.role.to_string(),
        "org": code.org.to_string(),
        "scope": p.scope.to_string(),
        "root": ops::ln(&code.root),
        "issuer": ops::ln(&code.issuer),
        "federation": fed.to_string(),
        "bootstrap": bootstrap,
        "dir": dir.display().to_string(),
    });
    if cli.json {
        output::print(&v, true);
    } else {
        output::out(&format!("{}\n", ops::ln(&id)));
        eprintln!(
            "joined: node {} is certified as {} {} ({}); start it with `linli --dir {} run`",
            ops::ln(&id),
            code.role,
            code.org,
            p.scope,
            dir.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, source or error) of every record.
    fn parsed(text: &str) -> Vec<(u64, Result<String, String>)> {
        service_rows(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(line, r)| (line, r.map(|r| r.source.unwrap_or_default())))
            .collect()
    }

    fn lines_of(text: &str) -> Vec<u64> {
        parsed(text).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn csv_lines_are_right_for_every_line_end() {
        let rows = [
            "volunteer,activity,date,hours",
            "dianye:1,patrol,2026-01-01,1",
            "",
            "dianye:2,\"two\nlines\",2026-01-01,1",
            "dianye:3,patrol,2026-01-01,x",
            "dianye:4,patrol,2026-01-01,1",
        ];
        for eol in ["\n", "\r\n", "\r"] {
            // The quoted cell holds the file's line end too.
            let text = rows
                .iter()
                .map(|r| r.replace('\n', eol))
                .collect::<Vec<_>>()
                .join(eol);
            // An empty line is skipped, the quoted cell spans lines 4–5, no final line end.
            assert_eq!(lines_of(&text), [2, 4, 6, 7], "{eol:?}");
            assert_eq!(lines_of(&format!("{text}{eol}")), [2, 4, 6, 7], "{eol:?}");
            let with_bom = format!("\u{feff}{text}");
            assert_eq!(lines_of(&with_bom), [2, 4, 6, 7], "{eol:?}");
        }
    }

    #[test]
    fn csv_rows_are_named_by_id_else_by_their_values_and_occurrence() {
        let text = "volunteer,activity,date,hours,id\n\
                    dianye:1,patrol,2026-01-01,1,\n\
                    dianye:1,patrol,2026-01-01,1.0,\n\
                    dianye:1,patrol,2026-01-01,1,row-9\n\
                    dianye:1,patrol,2026-01-02,1,\n";
        let p = parsed(text);
        let src: Vec<String> = p.iter().map(|(_, s)| s.clone().unwrap()).collect();
        let (digest, k) = src[0].split_once(':').unwrap();
        assert_eq!((digest.len(), k), (16, "1"));
        // Identical values (hours written differently) are the second occurrence.
        assert_eq!(src[1], format!("{digest}:2"));
        assert_eq!(src[2], "row-9");
        assert!(!src[3].starts_with(digest), "{src:?}");
        // A prefix of the file, or the file with other line ends and columns in another
        // order, names its rows alike.
        let prefix: String = text.split_inclusive('\n').take(3).collect();
        assert_eq!(
            parsed(&prefix)
                .into_iter()
                .map(|(_, s)| s.unwrap())
                .collect::<Vec<_>>(),
            src[..2]
        );
        let reordered = "hours,date,activity,volunteer\r\n1,2026-01-01,patrol,dianye:1\r\n";
        assert_eq!(parsed(reordered)[0].1, Ok(src[0].clone()));
        // A file without a required column is refused as a whole.
        let err = service_rows(b"volunteer,activity,hours\ndianye:1,patrol,1\n").unwrap_err();
        assert!(err.contains("no `date` column"), "{err}");
    }

    #[test]
    fn the_dashboard_token_is_shown_on_a_terminal_only() {
        let mut d = Dashboard {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 4711)),
            token: "feedface",
            file: PathBuf::from("/data/dashboard.url"),
            terminal: true,
        };
        assert_eq!(d.url(), "http://127.0.0.1:4711/#token=feedface");
        assert_eq!(d.shown(), d.url());
        assert_eq!(
            d.line(),
            "dashboard http://127.0.0.1:4711/#token=feedface\n"
        );
        d.terminal = false;
        assert_eq!(d.url(), "http://127.0.0.1:4711/#token=feedface");
        assert_eq!(d.shown(), "http://127.0.0.1:4711/");
        let line = d.line();
        assert!(
            !line.contains("feedface") && !line.contains("token="),
            "{line}"
        );
        assert!(line.contains("/data/dashboard.url"), "{line}");
    }
}
