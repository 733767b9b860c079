//! The command line (clap derive) and its translation into [`Request`]s.
// These doc comments are the commands' --help texts, where `<NAME>` is the usual
// placeholder notation, not HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;
use linli_core::cert::Role;
use linli_core::personal::Resident;
use linli_core::registry::{AppointmentStatus, ManagementMode, ScorerRole};
use linli_core::resource::ResourceKind;
use linli_core::wishes::{Channel, ItemKind, Stage};
use linli_core::{BookingId, ClaimId, CompoundId, DocId, DocKind, EntryId, OrderId, OrgId};
use linli_core::{SessionId, VolunteerId, WishId};
use serde::de::DeserializeOwned;

use crate::ops::Request;

/// Exit codes, shown in `linli --help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation was refused or failed (a domain rule, an unknown id, bad input)
  2  usage error (unknown command or argument)
  3  the configuration file is broken (the message names file, line and key)
  4  the store cannot be used (no store in the data directory, in use, damaged)
  5  the daemon's API failed (not running when needed, wrong token, broken answer)
  6  an import finished but some rows or entries were rejected (listed on stderr)

Commands other than `init` and `run` go to the running daemon when <DIR>/api.addr exists
and it answers; otherwise they open the store directly.

Example: linli --dir /var/lib/linli status";

/// Parses a value by its serde (snake_case) name, e.g. `street`, `guarantee_firm`.
pub fn serde_text<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| format!("{s:?}: {e}"))
}

fn management_mode(s: &str) -> Result<ManagementMode, String> {
    match serde_text::<ManagementMode>(s) {
        Ok(m) => Ok(m),
        Err(_) => match s.strip_prefix("other:") {
            Some(o) => Ok(ManagementMode::Other(o.to_string())),
            None => Err(format!(
                "{s:?} is not a management mode (property_firm, guarantee_firm, \
                 property_rights_unit, self_managed, unmanaged, other:TEXT)"
            )),
        },
    }
}

fn channel(s: &str) -> Result<Channel, String> {
    match serde_text::<Channel>(s) {
        Ok(c) => Ok(c),
        Err(_) => match s.strip_prefix("other:") {
            Some(o) => Ok(Channel::Other(o.to_string())),
            None => Err(format!(
                "{s:?} is not a channel (forum, app, home_visit, questionnaire, qr_code, other:TEXT)"
            )),
        },
    }
}

/// `item=true` / `item=false` (also yes/no, 1/0).
fn check_result(s: &str) -> Result<(String, bool), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ITEM=yes|no"))?;
    let ok = match v.trim() {
        "true" | "yes" | "y" | "1" => true,
        "false" | "no" | "n" | "0" => false,
        other => return Err(format!("{s:?}: {other:?} is not yes or no")),
    };
    Ok((k.trim().to_string(), ok))
}

fn mark(s: &str) -> Result<(String, u32), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ITEM=MARKS"))?;
    let n = v
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {v:?} is not a whole number"))?;
    Ok((k.trim().to_string(), n))
}

/// Log format on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Human,
    /// JSON lines.
    Json,
}

/// linli: a node of a linli district — signed CRDT documents for community governance.
#[derive(Debug, Parser)]
#[command(name = "linli", version, after_long_help = EXIT_CODES)]
pub struct Cli {
    /// Data directory (default: $LINLI_DIR, else ~/.linli).
    #[arg(long, global = true, value_name = "DIR", visible_alias = "data-dir")]
    pub dir: Option<PathBuf>,
    /// Log format on stderr (default: the config file's, else human).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print results as JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node: data directory, key file (0600), store and config file.
    #[command(after_help = "Example: linli --dir ./dianye init --org dianye --root ln5k2…")]
    Init(InitArgs),
    /// Federation: create the district, issue and revoke certificates, join.
    #[command(
        subcommand,
        after_help = "Example: linli federation issue --subject ln3x… --role street --org beishi"
    )]
    Federation(FederationCmd),
    /// Make a one-time join code for a new node (on the node that certifies it).
    ///
    /// The code carries the district root, this node's key and addresses, the role and
    /// organisation invited and a one-time secret (only its hash is kept here). Give it to
    /// the new node's operator, who runs `linli join <CODE>`: this node (running `linli
    /// run`) then checks the secret and issues the certificate. A code works once and
    /// expires; anyone holding it can join as what it invites until then, so pass it like a
    /// password.
    #[command(after_help = "Example: linli invite --role community --org dianye --expires 24h")]
    Invite(InviteArgs),
    /// Create a node from a join code and get its certificate from the issuer.
    ///
    /// Creates the data directory (key, store, config with the root, organisation and the
    /// issuer's addresses as bootstrap peers) — or uses the node already there (made by
    /// `linli init` for the code's organisation and root) — sends the code's secret to the
    /// issuer, which certifies this node's key, and waits until the certificate arrived by
    /// sync. A refused code (wrong, used, expired) or an unreachable issuer leaves no data
    /// directory behind (an existing node is left as it was). Then start the node with
    /// `linli run`. Exit codes: 2 for a damaged code, 1 for a refusal.
    #[command(after_help = "Example: linli --dir ./dianye join lj1aebag…")]
    Join(JoinArgs),
    /// Play a whole district on this machine (six nodes on 127.0.0.1); exits by itself.
    ///
    /// The district root, a street, three communities and a co-building unit, each with its
    /// own key, store and network, seed data and play the seed reports' stories: a double
    /// booking made while disconnected, points earned elsewhere and redeemed at home, a
    /// revocation, refused forgeries, catching up after a partition.
    #[command(after_help = "Example: linli demo            (or: linli demo --keep ./demo-data)")]
    Demo(DemoArgs),
    /// Run the daemon: networking and the local HTTP API, until SIGINT/SIGTERM.
    #[command(
        after_help = "The web dashboard's address with its API token (http://127.0.0.1:PORT/#token=…) is \
written to <DIR>/dashboard.url (mode 0600) and printed only when stdout is a terminal; \
logs and redirected output show the address without the token.\n\n\
Example: linli --dir ./dianye run --listen /ip4/0.0.0.0/tcp/4710"
    )]
    Run(RunArgs),
    /// Identity, documents, peers, pending and rejected changes.
    #[command(after_help = "Example: linli status --json")]
    Status,
    /// Documents held.
    #[command(after_help = "Example: linli documents --kind resource")]
    Documents {
        /// Only this kind (federation, registry, ledger, resource, wishes, volunteers).
        #[arg(long, value_parser = serde_text::<DocKind>)]
        kind: Option<DocKind>,
    },
    /// Changes refused, with reasons.
    #[command(after_help = "Example: linli rejected")]
    Rejected,
    /// Local operations this node refused (what was tried, when, why), newest last.
    #[command(after_help = "Example: linli audit --limit 20")]
    Audit {
        /// How many (default 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Peers and their sync state.
    #[command(after_help = "Example: linli peers")]
    Peers,
    /// Prometheus metrics of the running daemon (needs `linli run`).
    #[command(after_help = "Example: linli metrics")]
    Metrics,
    /// The community's compound registry document.
    #[command(subcommand, after_help = "Example: linli registry create")]
    Registry(RegistryCmd),
    /// Compounds: add, list, appoint a firm, inspect, score.
    #[command(subcommand, after_help = "Example: linli compound list")]
    Compound(CompoundCmd),
    /// Shared rooms and kitchens.
    #[command(subcommand, after_help = "Example: linli resource list")]
    Resource(ResourceCmd),
    /// Room bookings.
    #[command(subcommand, after_help = "Example: linli booking list")]
    Booking(BookingCmd),
    /// Kitchen meal orders.
    #[command(subcommand, after_help = "Example: linli order list --date 2026-11-22")]
    Order(OrderCmd),
    /// The community's yearly service ledger.
    #[command(subcommand, after_help = "Example: linli ledger entries")]
    Ledger(LedgerCmd),
    /// Volunteer service records.
    #[command(
        subcommand,
        after_help = "Example: linli service record dianye:7 --activity patrol --date 2026-11-21 --hours 2"
    )]
    Service(ServiceCmd),
    /// Redeem a volunteer's points (the home community).
    #[command(
        after_help = "Example: linli redeem dianye:7 --item \"5 kg rice\" --cost 4 --outlet \"points store\""
    )]
    Redeem {
        /// Volunteer (org:n).
        volunteer: VolunteerId,
        /// Item redeemed.
        #[arg(long)]
        item: String,
        /// Cost in points (e.g. 4 or 1.5).
        #[arg(long)]
        cost: String,
        /// Outlet.
        #[arg(long)]
        outlet: String,
        /// Ledger (default: the only one).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Correct a volunteer's points (the issuing community).
    #[command(after_help = "Example: linli correct dianye:7 --delta -1 --reason \"double entry\"")]
    Correct {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Points to add (negative removes).
        #[arg(long, allow_hyphen_values = true)]
        delta: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Entry corrected.
        #[arg(long)]
        corrects: Option<EntryId>,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// A volunteer's balance over every ledger held (all volunteers without an argument).
    #[command(after_help = "Example: linli balance dianye:7")]
    Balance {
        /// Volunteer (org:n).
        volunteer: Option<VolunteerId>,
    },
    /// Leaderboard of a ledger.
    #[command(after_help = "Example: linli leaderboard --team patrol")]
    Leaderboard {
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Micro-wishes, offers, suggestions and problems.
    #[command(subcommand, after_help = "Example: linli wish list")]
    Wish(WishCmd),
    /// The volunteer registry (its operations: `linli op list volunteers`, e.g.
    /// `linli op run volunteers.register name=… kind=resident`).
    #[command(subcommand, after_help = "Example: linli volunteers list")]
    Volunteers(VolunteersCmd),
    /// Personal data held here: list it, erase it at a person's request, record a
    /// volunteer's identity.
    #[command(
        subcommand,
        after_help = "Personal data (a booker's name and contact, a household, a resident named in a \
wish, a volunteer's identity) never enters the replicated documents: they hold a masked view \
(王**, 3-*-*). The data itself is kept only on the nodes of its audience — the resource owner \
and the requesting organisation, the kitchen and the placing organisation, the posting \
community and the organisations assigned to a wish, a volunteer's home community.\n\n\
Example: linli personal erase --doc 4f2a… --record requests/hongqi@1a2b3c4d5e6f0001:3"
    )]
    Personal(PersonalCmd),
    /// Export the signed change log (json) or a table (csv).
    #[command(after_help = "Example: linli export --format csv --what balances balances.csv")]
    Export(ExportArgs),
    /// Import an export file (json) or service records (csv).
    ///
    /// A CSV of service records has a header row naming its columns: volunteer, activity,
    /// date, hours, and optionally team, evidence and id (any order, any case). Rows are
    /// written in batches of up to 500, each batch as one change; a bad row is reported with
    /// its line and the others are written (exit code 6 when a row was rejected).
    ///
    /// Importing is idempotent. Every row has an identity, stored with its entry: the `id`
    /// column when the row has one (it must be unique among all rows imported into the
    /// ledger, e.g. the spreadsheet's record number), else a digest of the row's values
    /// (with its occurrence among identical rows of the file). A row whose identity this
    /// organisation already imported into the ledger — by an earlier run, a run that was
    /// interrupted, or another node of the organisation — is reported as "already imported"
    /// and not written again: import a file again after a crash, after appending rows to it
    /// or after correcting a rejected row, and only what is new is added.
    #[command(after_help = "Example: linli import --format csv --what service hours.csv")]
    Import(ImportArgs),
    /// Any operation of linli-core by name, with its fields: the whole operation catalogue
    /// (every kind's operations, with the help text of core's own types).
    #[command(
        subcommand,
        after_help = "Example: linli op run resource.bar who='{\"group\":\"Hongqi dance troupe\"}' reason=\"damaged the piano\""
    )]
    Op(OpCmd),
    /// A room's calendar feed (iCalendar) at a secret address: print it, or replace it.
    #[command(
        subcommand,
        after_help = "The feed lists the room's confirmed bookings (weekly series as one repeating \
event, revoked or cancelled ones marked cancelled) in the room's time zone, with purpose and \
group only: never the booker's name or contact. It is served by the running daemon (`linli \
run`) at http://<API address>/calendar/<secret>.ics without the API token: anyone who has \
the address can read the feed, so rotate it when it has been given to the wrong people.\n\n\
Example: linli calendar url      (subscribe to the printed address in a calendar app)"
    )]
    Calendar(CalendarCmd),
    /// Back up the store, key and configuration into one file (safe while the daemon runs).
    #[command(
        after_help = "The copy is taken with SQLite's online backup API in one read transaction: \
a running daemon keeps writing, and the copy is the store as of one commit. It is checked \
(integrity, schema, key) before the file is written. The file holds the node's SECRET KEY and \
is created with mode 0600: keep it like the data directory itself. Run it as the node's \
user (the owner of <DIR>/linli.db; another user is refused, so that no file of the store \
changes owner).\n\n\
Without --to the file goes to <DIR>/backups/linli-<UTC time>.linlibak; a --to that is a \
directory (or ends with /) gets a file of that name in it.\n\n\
Example: linli --data-dir /var/lib/linli backup --to /srv/backups/"
    )]
    Backup(BackupArgs),
    /// Restore a backup file into a new data directory, after checking it.
    #[command(
        after_help = "The backup is checked before anything is created or replaced: its header, \
length and checksum, SQLite's integrity check, the store schema, the configuration, and the \
store opened as a node. The target (--data-dir) must be empty or absent; with --force a \
directory holding something is moved aside to <DIR>.before-restore-<time>, never deleted (not \
while a node runs on it). The restored node starts with a fresh incarnation, so its new \
writes never collide with changes the original made after the backup. Run it as the user the \
node runs as: the restored files belong to whoever runs the restore.\n\n\
Example: linli restore --from linli-20261207T020000Z.linlibak --data-dir /var/lib/linli-new"
    )]
    Restore(RestoreArgs),
    /// Systemd units for this node: the daemon and a daily backup timer.
    #[command(
        after_help = "Writes <name>.service (`linli run` as --user, restarted on failure, the data \
directory its only writable path, no new privileges, private /tmp, protected system, home and \
kernel), <name>-backup.service (`linli backup`) and <name>-backup.timer (daily). Prints them \
without --dest. The user and the data directory must exist: \
`useradd --system --home-dir /var/lib/linli linli` and `linli --data-dir /var/lib/linli init …` \
as that user. Then: systemctl daemon-reload; systemctl enable --now linli.service \
linli-backup.timer.\n\n\
Example: linli install --data-dir /var/lib/linli --user linli --dest /etc/systemd/system"
    )]
    Install(InstallArgs),
    /// Send a raw request (JSON, as the HTTP API's POST /api/v1/call takes it).
    #[command(
        after_help = "Example: linli call '{\"cmd\":\"balance\",\"volunteer\":\"dianye:7\"}'"
    )]
    Call {
        /// The request JSON.
        request: String,
    },
    /// Volunteer reports as CSV: the monthly volunteer report and the yearly public report
    /// (年度公开报告), per team; counts only, no personal data.
    #[command(
        subcommand,
        after_help = "Example: linli report monthly --month 2026-11 > 2026-11.csv"
    )]
    Report(ReportCmd),
}

/// `linli report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Per team: members, volunteers who served, new registrations, services, hours and
    /// points of a month.
    #[command(after_help = "Example: linli report monthly --month 2026-11")]
    Monthly {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// The community (street/community; default: this node's).
        #[arg(long)]
        community: Option<linli_core::Scope>,
        /// Write the CSV here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The yearly public report: matters received, wishes fulfilled, problems resolved,
    /// volunteers, and per team the hours served and points.
    #[command(after_help = "Example: linli report yearly --year 2026 --out report-2026.csv")]
    Yearly {
        /// The year.
        #[arg(long)]
        year: i16,
        /// The community (street/community; default: this node's).
        #[arg(long)]
        community: Option<linli_core::Scope>,
        /// Write the CSV here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `linli calendar`.
#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Print the feed's address (created on first use).
    #[command(after_help = "Example: linli calendar url 4f2a…")]
    Url {
        /// Resource (default: the only one).
        resource: Option<DocId>,
    },
    /// Replace the feed's secret address; the old address answers 404 from now on.
    #[command(after_help = "Example: linli calendar rotate 4f2a…")]
    Rotate {
        /// Resource (default: the only one).
        resource: Option<DocId>,
    },
}

/// `linli backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file, or a directory for a dated file (default: <DIR>/backups/).
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
    /// Then keep only the newest N dated backups (linli-<UTC time>.linlibak) in the
    /// backup's directory, removing older ones.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
}

/// `linli restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (written by `linli backup`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Restore over a data directory that holds something, moving it aside first.
    #[arg(long)]
    pub force: bool,
}

/// `linli install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The user the node runs as (not root).
    #[arg(long, default_value = "linli")]
    pub user: String,
    /// Print the units (the default).
    #[arg(long, conflicts_with = "dest")]
    pub print: bool,
    /// Write the units into this directory, e.g. /etc/systemd/system.
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    /// The linli binary the units run (default: this one).
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// Base name of the units (<name>.service, <name>-backup.service, <name>-backup.timer).
    #[arg(long, default_value = "linli")]
    pub name: String,
    /// Where the daily backups go (default: <DIR>/backups).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

/// `linli demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the six nodes' data in this directory (default: a temporary one, removed).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<std::path::PathBuf>,
    /// Volunteers per community.
    #[arg(long, default_value_t = 27, value_parser = clap::value_parser!(u16).range(1..=2000))]
    pub volunteers: u16,
    /// Compounds per community.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub compounds: u16,
    /// Kitchen orders for tomorrow's dinner.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(0..=140))]
    pub orders: u16,
}

/// `linli init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Organisation this node acts for (e.g. dianye).
    #[arg(long)]
    pub org: OrgId,
    /// The district root key to trust (ln… or hex).
    #[arg(
        long,
        required_unless_present = "new_root",
        conflicts_with = "new_root"
    )]
    pub root: Option<String>,
    /// Make this node the district root (its own key is the root).
    #[arg(long)]
    pub new_root: bool,
}

/// `linli invite`.
#[derive(Debug, Args)]
pub struct InviteArgs {
    /// street, community, unit or partner.
    #[arg(long, value_parser = serde_text::<Role>)]
    pub role: Role,
    /// Organisation the new node acts for.
    #[arg(long)]
    pub org: OrgId,
    /// Organisation it belongs to (default: this node's, except for a street).
    #[arg(long)]
    pub parent: Option<OrgId>,
    /// Name shown to people (default "ORG office").
    #[arg(long)]
    pub name: Option<String>,
    /// Life of the code: 90s, 30m, 24h, 7d (at most 30 days).
    #[arg(long, default_value = crate::ops::DEFAULT_EXPIRY, value_name = "DURATION")]
    pub expires: String,
    /// An address the new node dials (multiaddr; repeatable; default: the running
    /// daemon's listening addresses).
    #[arg(long, value_name = "MULTIADDR")]
    pub addr: Vec<String>,
    /// Also print the code as a QR code (text, for a terminal) to scan on the new machine.
    #[arg(long)]
    pub qr: bool,
}

/// `linli join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The join code from `linli invite` (lj1…; dashes and spaces are ignored).
    pub code: String,
    /// Seconds to wait for the issuer's answer and then for the certificate.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// `linli run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Listen on this multiaddr instead of the config's (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// Also dial this peer (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    pub bootstrap: Vec<String>,
    /// HTTP API address instead of the config's (keep it on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// Seconds between sync sessions with each peer, instead of the config's.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub sync_interval: Option<u64>,
    /// Run without networking (API only).
    #[arg(long)]
    pub no_network: bool,
    /// Run on a simulated clock for demos and training: the node's clock starts at TIME
    /// (RFC 3339 with an offset, e.g. 2026-11-20T19:59:00+08:00) and advances with real
    /// time. Shown in `linli status` and on the dashboard; such a node never syncs with a
    /// node on real time.
    #[arg(long, value_name = "TIME", value_parser = training_time)]
    pub training_clock: Option<linli_core::Timestamp>,
}

/// Parses `--training-clock`: RFC 3339 with an offset only.
fn training_time(s: &str) -> Result<linli_core::Timestamp, String> {
    linli_core::Timestamp::parse(s.trim()).map_err(|_| {
        format!("{s:?} is not a time with an offset: use RFC 3339, e.g. 2026-11-20T19:59:00+08:00")
    })
}

/// `linli federation …`.
#[derive(Debug, Subcommand)]
pub enum FederationCmd {
    /// Create the district's federation document (the root node only).
    #[command(after_help = "Example: linli federation create")]
    Create,
    /// Issue a certificate to a key.
    #[command(
        after_help = "Example: linli federation issue --subject ln3x… --role community --org dianye --parent beishi"
    )]
    Issue {
        /// The key certified (ln… or hex).
        #[arg(long)]
        subject: String,
        /// street, community, unit or partner.
        #[arg(long, value_parser = serde_text::<Role>)]
        role: Role,
        /// Organisation the key acts for.
        #[arg(long)]
        org: OrgId,
        /// Organisation it belongs to (a community's street, a unit's community).
        #[arg(long)]
        parent: Option<OrgId>,
        /// Name shown to people.
        #[arg(long)]
        name: Option<String>,
        /// Days of validity (default 3 years).
        #[arg(long)]
        days: Option<i64>,
        /// Federation document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Revoke a key.
    #[command(
        after_help = "Example: linli federation revoke --subject ln3x… --reason \"laptop stolen\""
    )]
    Revoke {
        /// The key (ln… or hex).
        #[arg(long)]
        subject: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Federation document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Record the district root and a bootstrap peer in the config file.
    #[command(
        after_help = "Example: linli federation join --root ln5k2… --peer /ip4/10.0.0.2/tcp/4710/p2p/12D3…"
    )]
    Join {
        /// The district root key (must be the one the store was initialised with).
        #[arg(long)]
        root: String,
        /// A peer to sync with (multiaddr); repeatable.
        #[arg(long, value_name = "MULTIADDR")]
        peer: Vec<String>,
    },
    /// Certificates in the federation document.
    #[command(after_help = "Example: linli federation certs")]
    Certs {
        /// Federation document.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli registry …`.
#[derive(Debug, Subcommand)]
pub enum RegistryCmd {
    /// Create this community's compound registry.
    #[command(after_help = "Example: linli registry create --title \"Dianye compounds\"")]
    Create {
        /// Street (default: from this node's certificate).
        #[arg(long)]
        street: Option<OrgId>,
        /// Title.
        #[arg(long)]
        title: Option<String>,
    },
}

/// `linli compound …`.
#[derive(Debug, Subcommand)]
pub enum CompoundCmd {
    /// Register a compound.
    #[command(
        after_help = "Example: linli compound add --name \"Shimalu compound\" --address \"3 Shimalu\" --households 157 --mode unmanaged"
    )]
    Add {
        /// Name.
        #[arg(long)]
        name: String,
        /// Address.
        #[arg(long)]
        address: String,
        /// Households.
        #[arg(long)]
        households: u32,
        /// property_firm, guarantee_firm, property_rights_unit, self_managed, unmanaged, other:TEXT.
        #[arg(long, value_parser = management_mode)]
        mode: ManagementMode,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Compounds with manager and score.
    #[command(after_help = "Example: linli compound list --year 2026")]
    List {
        /// Year of the score column (default this year).
        #[arg(long)]
        year: Option<i16>,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Appoint a property manager (the street).
    #[command(
        after_help = "Example: linli compound appoint dianye@a1b2c3d4e5f60718:1 --manager \"Anju Property\" --mode guarantee_firm --start 2027-01-01"
    )]
    Appoint {
        /// Compound.
        compound: CompoundId,
        /// Manager.
        #[arg(long)]
        manager: String,
        /// Management mode.
        #[arg(long, value_parser = management_mode)]
        mode: ManagementMode,
        /// Term start.
        #[arg(long)]
        start: Date,
        /// Term end.
        #[arg(long)]
        end: Option<Date>,
        /// proposed, appointed, renewed, dismissed, ended (default appointed).
        #[arg(long, value_parser = serde_text::<AppointmentStatus>)]
        status: Option<AppointmentStatus>,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Record an inspection (the community).
    #[command(
        after_help = "Example: linli compound inspect dianye@a1b2c3d4e5f60718:1 --date 2026-11-20 --result m1=yes --result m2=no"
    )]
    Inspect {
        /// Compound.
        compound: CompoundId,
        /// Date.
        #[arg(long)]
        date: Date,
        /// Checklist result ITEM=yes|no (repeatable).
        #[arg(long = "result", value_parser = check_result)]
        results: Vec<(String, bool)>,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Write this organisation's score sheet for a year.
    #[command(
        after_help = "Example: linli compound score dianye@a1b2c3d4e5f60718:1 --year 2026 --role street --mark bins=25"
    )]
    Score {
        /// Compound.
        compound: CompoundId,
        /// Year.
        #[arg(long)]
        year: i16,
        /// owners, community, street, department.
        #[arg(long, value_parser = serde_text::<ScorerRole>)]
        role: ScorerRole,
        /// Marks ITEM=N (repeatable).
        #[arg(long = "mark", value_parser = mark)]
        marks: Vec<(String, u32)>,
        /// Comment.
        #[arg(long, default_value = "")]
        comment: String,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Annual composite scores.
    #[command(after_help = "Example: linli compound scores --year 2026")]
    Scores {
        /// Year.
        #[arg(long)]
        year: i16,
        /// Registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli resource …`.
#[derive(Debug, Subcommand)]
pub enum ResourceCmd {
    /// Publish a room or kitchen owned by this organisation.
    #[command(
        after_help = "Example: linli resource publish --name \"Dianye activity room\" --capacity 60"
    )]
    Publish {
        /// Name.
        #[arg(long)]
        name: String,
        /// activity_room, hall, kitchen … (default activity_room).
        #[arg(long, value_parser = serde_text::<ResourceKind>)]
        kind: Option<ResourceKind>,
        /// Persons at once.
        #[arg(long)]
        capacity: u32,
        /// Kitchen: portions per day.
        #[arg(long)]
        daily_capacity: Option<u32>,
        /// Floor area in m².
        #[arg(long)]
        area: Option<u32>,
        /// Street (default: from this node's certificate).
        #[arg(long)]
        street: Option<OrgId>,
        /// Community where it is (default: this organisation if a community).
        #[arg(long)]
        community: Option<OrgId>,
    },
    /// Resources held.
    #[command(after_help = "Example: linli resource list")]
    List,
}

/// `linli booking …`.
#[derive(Debug, Subcommand)]
pub enum BookingCmd {
    /// Activities on bookings with their sign-ups and waitlists (sign-ups themselves:
    /// `linli op run resource.sign_up booking=… participant=dianye:h301`).
    #[command(after_help = "Example: linli booking signups dianye@a1b2c3d4e5f60718:1")]
    Signups {
        /// Only this booking's activity.
        booking: Option<BookingId>,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Open (or change) the activity on a confirmed booking this organisation requested:
    /// its places, waitlist and sign-up deadline; sign-ups then go to `booking signup`.
    #[command(
        after_help = "Example: linli booking activity dianye@a1b2c3d4e5f60718:1 --title \"Paper-cutting class\" --capacity 12 --waitlist 5 --deadline 2026-12-09T18:00"
    )]
    Activity {
        /// The confirmed booking (linli booking list).
        booking: BookingId,
        /// Title, e.g. "Paper-cutting class".
        #[arg(long)]
        title: String,
        /// Places (1 to 10000).
        #[arg(long)]
        capacity: u32,
        /// How many more sign-ups may wait for a place once the places are full (default 0:
        /// none).
        #[arg(long, default_value_t = 0)]
        waitlist: u32,
        /// Sign-ups close at this time: local (YYYY-MM-DDTHH:MM, the room's zone) or RFC
        /// 3339 with an offset; at the latest the booking's start.
        #[arg(long)]
        deadline: String,
        /// Resource (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Sign a household (by pseudonym, e.g. dianye:h301) or a volunteer (dianye:7) up for
    /// the activity of a booking: a place while there is one, else the waitlist; refused
    /// after the deadline or when places and waitlist are full.
    #[command(after_help = "Example: linli booking signup dianye@a1b2c3d4e5f60718:1 dianye:h301")]
    Signup {
        /// The booking whose activity it is.
        booking: BookingId,
        /// Who: a household pseudonym (community:h<number>) or a volunteer id; no names.
        #[arg(value_parser = participant)]
        participant: linli_core::resource::Participant,
        /// Resource (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Cancel a sign-up; the first on the waitlist takes the freed place.
    #[command(
        after_help = "Example: linli booking cancel-signup dianye@a1b2c3d4e5f60718:1 dianye:h301"
    )]
    CancelSignup {
        /// The booking whose activity it is.
        booking: BookingId,
        /// Who (as signed up).
        #[arg(value_parser = participant)]
        participant: linli_core::resource::Participant,
        /// Resource (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Request a booking.
    #[command(
        after_help = "Example: linli booking request --booker \"Li Wei\" --purpose \"reading club\" --start 2026-12-01T19:00 --end 2026-12-01T21:00 --attendees 25"
    )]
    Request {
        /// Responsible person.
        #[arg(long)]
        booker: String,
        /// Purpose.
        #[arg(long)]
        purpose: String,
        /// Start (2026-12-01T19:00 in the resource's zone, or with an offset).
        #[arg(long)]
        start: String,
        /// End.
        #[arg(long)]
        end: String,
        /// Expected attendance.
        #[arg(long)]
        attendees: u32,
        /// Organising group.
        #[arg(long)]
        organisation: Option<String>,
        /// Contact.
        #[arg(long)]
        contact: Option<String>,
        /// Weekly repetitions.
        #[arg(long)]
        weeks: Option<u32>,
        /// An acceptable other slot, START/END (repeat, in order of preference; at most 5).
        #[arg(long = "alternate", value_name = "START/END")]
        alternates: Vec<String>,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Confirm a booking (the arbiter).
    #[command(after_help = "Example: linli booking confirm dianye@a1b2c3d4e5f60718:1")]
    Confirm {
        /// Booking.
        booking: BookingId,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Reject a booking (the arbiter).
    #[command(
        after_help = "Example: linli booking reject dianye@a1b2c3d4e5f60718:1 --reason \"room closed\""
    )]
    Reject {
        /// Booking.
        booking: BookingId,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Waitlist a booking (the arbiter).
    #[command(after_help = "Example: linli booking waitlist dianye@a1b2c3d4e5f60718:1")]
    Waitlist {
        /// Booking.
        booking: BookingId,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Revoke a confirmed booking, with a reason (owner or arbiter).
    #[command(
        after_help = "Example: linli booking revoke dianye@a1b2c3d4e5f60718:1 --reason \"misuse of the room\""
    )]
    Revoke {
        /// Booking.
        booking: BookingId,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Cancel a booking (the requesting organisation).
    #[command(
        after_help = "Example: linli booking cancel dianye@a1b2c3d4e5f60718:1 --reason \"event moved\""
    )]
    Cancel {
        /// Booking.
        booking: BookingId,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Bookings of a resource.
    #[command(after_help = "Example: linli booking list")]
    List {
        /// Resource.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli order …`.
#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Order meals for a service date.
    #[command(
        after_help = "Example: linli order place --household 2-1-301 --date 2026-11-22 --portions 3"
    )]
    Place {
        /// Household.
        #[arg(long)]
        household: String,
        /// Service date.
        #[arg(long)]
        date: Date,
        /// Portions.
        #[arg(long)]
        portions: u32,
        /// Dish (repeatable).
        #[arg(long = "item")]
        items: Vec<String>,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Accept an order (the kitchen operator).
    #[command(after_help = "Example: linli order accept hongqi@a1b2c3d4e5f60718:1")]
    Accept {
        /// Order.
        order: OrderId,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Refuse an order (the kitchen operator).
    #[command(
        after_help = "Example: linli order refuse hongqi@a1b2c3d4e5f60718:1 --reason \"sold out\""
    )]
    Refuse {
        /// Order.
        order: OrderId,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Record whether an accepted order was collected.
    #[command(after_help = "Example: linli order collected hongqi@a1b2c3d4e5f60718:1 --no")]
    Collected {
        /// Order.
        order: OrderId,
        /// Not collected.
        #[arg(long)]
        no: bool,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Cancel an order (the placing organisation).
    #[command(after_help = "Example: linli order cancel hongqi@a1b2c3d4e5f60718:1")]
    Cancel {
        /// Order.
        order: OrderId,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Orders of one service day.
    #[command(after_help = "Example: linli order list --date 2026-11-22")]
    List {
        /// Service date.
        #[arg(long)]
        date: Date,
        /// Kitchen.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli ledger …`.
#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Create this community's service ledger for a year.
    #[command(after_help = "Example: linli ledger create --year 2026")]
    Create {
        /// Year (default this year).
        #[arg(long)]
        year: Option<i16>,
        /// Street (default: from this node's certificate).
        #[arg(long)]
        street: Option<OrgId>,
        /// Hours recorded by hand earn points too (default: only hours verified by a
        /// check-in session do).
        #[arg(long)]
        hand_points: bool,
    },
    /// Entries of a ledger.
    #[command(after_help = "Example: linli ledger entries")]
    Entries {
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// The points store (积分超市) of a ledger: items with cost and stock.
    #[command(subcommand, after_help = "Example: linli ledger store list")]
    Store(StoreCmd),
    /// A volunteer's star certificate (stars, earned points, hours by year), issued by this
    /// community.
    #[command(after_help = "Example: linli ledger certificate dianye:7")]
    Certificate {
        /// Volunteer (org:n).
        volunteer: VolunteerId,
    },
}

/// `linli ledger store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Add an item (the community).
    #[command(after_help = "Example: linli ledger store add \"5 kg rice\" --cost 4 --stock 20")]
    Add {
        /// Name.
        name: String,
        /// Cost in points (e.g. 4 or 1.5).
        #[arg(long)]
        cost: String,
        /// Units in stock.
        #[arg(long, default_value_t = 0)]
        stock: u32,
        /// Ledger (default: the only one).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Add units to an item (the community).
    #[command(after_help = "Example: linli ledger store restock dianye@…:1 --quantity 10")]
    Restock {
        /// The item (its id from `linli ledger store list`).
        item: linli_core::StoreItemId,
        /// Units added.
        #[arg(long)]
        quantity: u32,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Redeem a volunteer's points for an item (one unit out of stock).
    #[command(after_help = "Example: linli ledger store redeem dianye:7 --item dianye@…:1")]
    Redeem {
        /// Volunteer (org:n).
        volunteer: VolunteerId,
        /// The item.
        #[arg(long)]
        item: linli_core::StoreItemId,
        /// Outlet (default "points store").
        #[arg(long)]
        outlet: Option<String>,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Items with cost and stock.
    #[command(after_help = "Example: linli ledger store list")]
    List {
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli service …`.
#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Record hours of service (points follow the ledger's rule).
    #[command(
        after_help = "Example: linli service record dianye:7 --activity \"security patrol\" --date 2026-11-21 --hours 2"
    )]
    Record {
        /// Volunteer (org:n).
        volunteer: VolunteerId,
        /// Activity or post.
        #[arg(long)]
        activity: String,
        /// Date.
        #[arg(long)]
        date: Date,
        /// Hours.
        #[arg(long)]
        hours: f64,
        /// Team.
        #[arg(long)]
        team: Option<String>,
        /// Evidence reference.
        #[arg(long)]
        evidence: Option<String>,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli op …`.
#[derive(Debug, Subcommand)]
pub enum OpCmd {
    /// Every operation (kind.name) with a line of help.
    #[command(after_help = "Example: linli op list --kind resource")]
    List {
        /// Only this kind (federation, registry, ledger, resource, wishes, volunteers).
        #[arg(long, value_parser = serde_text::<DocKind>)]
        kind: Option<DocKind>,
    },
    /// One operation's help and fields (name, type, required, help).
    #[command(after_help = "Example: linli op show resource.delegate")]
    Show {
        /// The operation: kind.name.
        op: String,
    },
    /// Run an operation: fields as name=value; text fields take the value as is, others
    /// JSON (numbers, true/false, lists, objects).
    #[command(
        after_help = "Example: linli op run ledger.set_rules rules='{\"points_per_hour\":1,\"year\":2026}'"
    )]
    Run {
        /// The operation: kind.name (see `linli op list`).
        op: String,
        /// Document (default: the only one of the operation's kind).
        #[arg(long)]
        doc: Option<DocId>,
        /// Fields as name=value.
        #[arg(value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
}

/// Parses `name=value` fields for operation `op`: text fields as given, others as JSON.
pub fn op_fields(
    op: &str,
    fields: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let found = linli_core::catalogue::find(op).map_err(|e| e.to_string())?;
    let mut out = serde_json::Map::new();
    for f in fields {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| format!("{f:?} is not name=value"))?;
        let field = found
            .fields
            .iter()
            .find(|x| x.name == name)
            .ok_or_else(|| {
                format!(
                    "{op} has no field {name:?} (its fields: {})",
                    found
                        .fields
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let v = if field.is_text() {
            serde_json::Value::String(value.to_string())
        } else {
            serde_json::from_str(value).map_err(|e| {
                format!(
                    "{name} takes {} given as JSON: {value:?} is not ({e})",
                    field.hint()
                )
            })?
        };
        if out.insert(name.to_string(), v).is_some() {
            return Err(format!("{name} given twice"));
        }
    }
    found.build(out.clone()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// `linli personal …`.
#[derive(Debug, Subcommand)]
pub enum PersonalCmd {
    /// The personal data this node holds, with each record's audience.
    #[command(after_help = "Example: linli personal list --json")]
    List {
        /// Only this document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Erase a person's data here and on every node of its audience (their right under the
    /// Personal Information Protection Law); ids, statuses and balances stay.
    #[command(
        after_help = "Example: linli personal erase --doc 4f2a… --record volunteers/dianye:7"
    )]
    Erase {
        /// The document the record belongs to.
        #[arg(long)]
        doc: DocId,
        /// The record: requests/<booking>, orders/<order>, items/<wish> or
        /// volunteers/<volunteer> (see `linli personal list`).
        #[arg(long)]
        record: String,
    },
    /// Record a volunteer's identity, held only by the home community's nodes.
    #[command(
        after_help = "Example: linli personal volunteer dianye:7 --name 王小红 --phone 13800138000"
    )]
    Volunteer {
        /// The volunteer (community:n).
        volunteer: VolunteerId,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// Resident ID number.
        #[arg(long)]
        id_number: Option<String>,
        /// The home community's volunteer registry (default: the one that lists the
        /// volunteer), or its ledger for a volunteer registered before the registry
        /// (default: the only one).
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli wish …`.
#[derive(Debug, Subcommand)]
pub enum WishCmd {
    /// Create this community's wishes document.
    #[command(after_help = "Example: linli wish create")]
    Create {
        /// Street (default: from this node's certificate).
        #[arg(long)]
        street: Option<OrgId>,
        /// Title.
        #[arg(long)]
        title: Option<String>,
    },
    /// Post a wish, offer, suggestion or problem.
    #[command(
        after_help = "Example: linli wish post --title \"Walking frame for Building 3\" --category \"elder care\" --channel home_visit"
    )]
    Post {
        /// Title.
        #[arg(long)]
        title: String,
        /// wish, offer, suggestion, problem (default wish).
        #[arg(long, value_parser = serde_text::<ItemKind>)]
        kind: Option<ItemKind>,
        /// Text.
        #[arg(long, default_value = "")]
        text: String,
        /// Category.
        #[arg(long, default_value = "")]
        category: String,
        /// forum, app, home_visit, questionnaire, qr_code, other:TEXT (default app).
        #[arg(long, value_parser = channel)]
        channel: Option<Channel>,
        /// Place.
        #[arg(long)]
        place: Option<String>,
        /// The resident it is about: full name. Personal data, kept out of the wishes
        /// document and held only by this community and the organisations assigned to it.
        #[arg(long)]
        resident_name: Option<String>,
        /// The resident's phone or other contact (needs --resident-name).
        #[arg(long, requires = "resident_name")]
        resident_contact: Option<String>,
        /// The resident's address (needs --resident-name).
        #[arg(long, requires = "resident_name")]
        resident_address: Option<String>,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Offer to take up a wish.
    #[command(
        after_help = "Example: linli wish claim dianye:1 --volunteer hongqi:3 --note \"can deliver\""
    )]
    Claim {
        /// Wish.
        wish: WishId,
        /// Volunteer, if an individual.
        #[arg(long, conflicts_with = "team")]
        volunteer: Option<VolunteerId>,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
        /// A team claim: the members, comma-separated (2 to 50; needs --lead).
        #[arg(long, value_delimiter = ',', requires = "lead")]
        team: Vec<VolunteerId>,
        /// The team's one accountable volunteer (one of --team).
        #[arg(long, requires = "team")]
        lead: Option<VolunteerId>,
    },
    /// Claims per claimant in a year (a team claim counts once).
    #[command(after_help = "Example: linli wish stats --year 2026")]
    Stats {
        /// Year (default this year).
        #[arg(long)]
        year: Option<i16>,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Assign a claim (the community).
    #[command(after_help = "Example: linli wish assign dianye:1 --claim hongqi:1")]
    Assign {
        /// Wish.
        wish: WishId,
        /// Claim.
        #[arg(long)]
        claim: ClaimId,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Release an assignment (the community).
    #[command(after_help = "Example: linli wish release dianye:1 --claim hongqi:1")]
    Release {
        /// Wish.
        wish: WishId,
        /// Claim.
        #[arg(long)]
        claim: ClaimId,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Mark a wish fulfilled (the assignee or the community).
    #[command(after_help = "Example: linli wish fulfil dianye:1 --note \"delivered\"")]
    Fulfil {
        /// Wish.
        wish: WishId,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Record another lifecycle step: confirmed, withdrawn, routed, resolved, declined.
    #[command(
        after_help = "Example: linli wish step dianye:1 --stage withdrawn --text \"duplicate\""
    )]
    Step {
        /// Wish.
        wish: WishId,
        /// confirmed, withdrawn, routed, resolved, declined.
        #[arg(long)]
        stage: String,
        /// Reason, resolution or whom it is routed to.
        #[arg(long, default_value = "")]
        text: String,
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Items with status and claims.
    #[command(after_help = "Example: linli wish list")]
    List {
        /// Wishes document.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// `linli volunteers …`.
#[derive(Debug, Subcommand)]
pub enum VolunteersCmd {
    /// Create this community's volunteer registry.
    #[command(after_help = "Example: linli volunteers create")]
    Create {
        /// Street (default: from this node's certificate).
        #[arg(long)]
        street: Option<OrgId>,
        /// Title.
        #[arg(long)]
        title: Option<String>,
    },
    /// Volunteers with type, unit, teams, posts, status and history (name, phone and ID
    /// number on the home community's nodes).
    #[command(after_help = "Example: linli volunteers list")]
    List {
        /// Volunteer registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Register the volunteers of a roster CSV, in batches, with a report per line.
    ///
    /// The header names the columns: name (required), phone, id_number, type (resident or
    /// in_service), unit (an in-service member's reporting unit, street/community/unit),
    /// teams (team codes separated by ';'), posts (team:duty separated by ';'), id (the
    /// volunteer id of a roster exported from linli). Chinese headers are read too (姓名,
    /// 电话, 身份证号, 类型, 报到单位, 队伍, 岗位). Name, phone and ID number stay on this
    /// community's nodes. Importing a file again registers nobody twice: a row naming a
    /// registered volunteer, or the same person by phone or ID number, is reported
    /// "already registered".
    #[command(after_help = "Example: linli volunteers import roster.csv")]
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Volunteer registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Register a volunteer. Name, phone and ID number stay on this community's nodes (the
    /// registry keeps the masked name); a phone already registered here is refused.
    #[command(
        after_help = "Example: linli volunteers register --name 王芳 --phone 13911112222 --team care\n         linli volunteers register --name 孙明 --type in_service --unit beishi/dianye/state-grid --team care --post \"care:party class\""
    )]
    Register {
        /// Full name (required; kept at home only).
        #[arg(long)]
        name: String,
        /// Phone (unique among this community's current volunteers).
        #[arg(long)]
        phone: Option<String>,
        /// Resident ID number.
        #[arg(long)]
        id_number: Option<String>,
        /// resident (default) or in_service (an in-service party member reporting through a
        /// paired unit, 双报到: needs --unit and at least one --post).
        #[arg(long = "type", default_value = "resident", value_parser = serde_text::<linli_core::volunteers::VolunteerType>)]
        kind: linli_core::volunteers::VolunteerType,
        /// The reporting unit of an in-service member, by scope (a unit paired with
        /// `linli volunteers pair`), e.g. beishi/dianye/state-grid.
        #[arg(long)]
        unit: Option<linli_core::Scope>,
        /// A team code (repeat for several; teams are added with
        /// `linli op run volunteers.add_team code=… name=…`).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// A post as TEAM:DUTY, e.g. "care:party class" (repeat for several).
        #[arg(long = "post", value_parser = parse_post)]
        posts: Vec<linli_core::volunteers::Post>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Pair a unit with this community (双报到): its in-service party members report here.
    #[command(
        after_help = "Example: linli volunteers pair beishi/dianye/state-grid --note \"State Grid Beishi\""
    )]
    Pair {
        /// The unit, by its certified scope (street/community/unit).
        unit: linli_core::Scope,
        /// A note, e.g. the unit's name.
        #[arg(long, default_value = "")]
        note: String,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Duty rotas: shifts with who covers them, coverage gaps, served shifts to the ledger
    /// (rotas, assignments, swaps: `linli op list volunteers`).
    #[command(
        subcommand,
        after_help = "Example: linli volunteers rota show --from 2026-06-01 --to 2026-06-07 --gaps"
    )]
    Rota(RotaCmd),
    /// Check-in sessions: hours verified where they happen.
    #[command(subcommand, after_help = "Example: linli volunteers session list")]
    Session(SessionCmd),
}

/// `linli volunteers session …`.
#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Open a check-in session of an activity or post.
    #[command(
        after_help = "Example: linli volunteers session open --activity \"elder care\" --place \"activity room\" --start 2026-12-08T09:00 --end 2026-12-08T11:00"
    )]
    Open {
        /// Activity or post.
        #[arg(long)]
        activity: String,
        /// Where.
        #[arg(long)]
        place: String,
        /// Planned start (2026-12-08T09:00, local; or with an offset).
        #[arg(long)]
        start: String,
        /// Planned end.
        #[arg(long)]
        end: String,
        /// Team.
        #[arg(long)]
        team: Option<String>,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// The current check-in code of a session opened here, and its check-in page.
    #[command(after_help = "Example: linli volunteers session code dianye@…:1")]
    Code {
        /// Session.
        session: SessionId,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Check a volunteer in with the code shown.
    #[command(
        after_help = "Example: linli volunteers session checkin dianye@…:1 dianye:7 --code 123456"
    )]
    Checkin {
        /// Session.
        session: SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        #[arg(long)]
        code: String,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Check a volunteer out with the code shown.
    #[command(
        after_help = "Example: linli volunteers session checkout dianye@…:1 dianye:7 --code 123456"
    )]
    Checkout {
        /// Session.
        session: SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        #[arg(long)]
        code: String,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Close a session: write one verified service record per volunteer.
    #[command(after_help = "Example: linli volunteers session close dianye@…:1")]
    Close {
        /// Session.
        session: SessionId,
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Sessions of a ledger with their check-ins.
    #[command(after_help = "Example: linli volunteers session list")]
    List {
        /// Ledger.
        #[arg(long)]
        doc: Option<DocId>,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// The signed change log (a linli export file).
    Json,
    /// A table as CSV.
    Csv,
}

/// Tables that export as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Table {
    /// Every volunteer's earned points and balance.
    Balances,
    /// Bookings of a resource.
    Bookings,
    /// Service records (and other entries) of a ledger.
    Service,
    /// Leaderboard of a ledger.
    Leaderboard,
    /// Compounds of a registry.
    Compounds,
    /// Wishes.
    Wishes,
    /// Documents held.
    Documents,
}

/// `linli export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// json (the signed change log) or csv (a table).
    #[arg(long, value_enum, default_value = "json")]
    pub format: FileFormat,
    /// Which table (csv only).
    #[arg(long, value_enum)]
    pub what: Option<Table>,
    /// Document of the table (resource, ledger, registry, wishes).
    #[arg(long)]
    pub doc: Option<DocId>,
    /// Output file (`-` for stdout, csv only).
    pub file: PathBuf,
}

/// `linli import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// json (an export file) or csv (service records).
    #[arg(long, value_enum, default_value = "json")]
    pub format: FileFormat,
    /// Which table (csv: only `service`).
    #[arg(long, value_enum)]
    pub what: Option<Table>,
    /// Ledger the service records go to (csv).
    #[arg(long)]
    pub doc: Option<DocId>,
    /// Input file.
    pub file: PathBuf,
}

fn stage(stage: &str, text: String) -> Result<Stage, String> {
    Ok(match stage {
        "confirmed" => Stage::Confirmed,
        "withdrawn" => Stage::Withdrawn { reason: text },
        "routed" => Stage::Routed { to: text },
        "resolved" => Stage::Resolved { resolution: text },
        "declined" => Stage::Declined { reason: text },
        "fulfilled" => Stage::Fulfilled { note: text },
        other => {
            return Err(format!(
                "{other:?} is not a stage (confirmed, withdrawn, routed, resolved, declined, fulfilled)"
            ));
        }
    })
}

impl Command {
    /// The request a domain command sends; `None` for commands handled otherwise (init,
    /// run, join, metrics, export, import, call). An `Err` is a usage problem.
    pub fn request(&self) -> Result<Option<Request>, String> {
        use Command as C;
        let r = match self {
            C::Init(_)
            | C::Demo(_)
            | C::Run(_)
            | C::Metrics
            | C::Export(_)
            | C::Import(_)
            | C::Call { .. }
            | C::Backup(_)
            | C::Restore(_)
            | C::Install(_)
            | C::Report(_)
            | C::Volunteers(VolunteersCmd::Import { .. })
            | C::Op(OpCmd::List { .. } | OpCmd::Show { .. }) => {
                return Ok(None);
            }
            C::Op(OpCmd::Run { op, doc, fields }) => Request::Operation {
                op: op.clone(),
                doc: *doc,
                fields: op_fields(op, fields)?,
            },
            C::Join(_) => return Ok(None),
            C::Invite(a) => Request::Invite {
                role: a.role,
                org: a.org.clone(),
                parent: a.parent.clone(),
                name: a.name.clone(),
                expires: Some(a.expires.clone()),
                addrs: (!a.addr.is_empty()).then(|| a.addr.clone()),
            },
            C::Federation(f) => match f {
                FederationCmd::Join { .. } => return Ok(None),
                FederationCmd::Create => Request::FederationCreate { config: None },
                FederationCmd::Issue {
                    subject,
                    role,
                    org,
                    parent,
                    name,
                    days,
                    doc,
                } => Request::FederationIssue {
                    doc: *doc,
                    subject: subject.clone(),
                    role: *role,
                    org: org.clone(),
                    parent: parent.clone(),
                    name: name.clone(),
                    days: *days,
                },
                FederationCmd::Revoke {
                    subject,
                    reason,
                    doc,
                } => Request::FederationRevoke {
                    doc: *doc,
                    subject: subject.clone(),
                    reason: reason.clone(),
                },
                FederationCmd::Certs { doc } => Request::Certificates { doc: *doc },
            },
            C::Calendar(CalendarCmd::Url { resource }) => Request::CalendarUrl { doc: *resource },
            C::Calendar(CalendarCmd::Rotate { resource }) => {
                Request::CalendarRotate { doc: *resource }
            }
            C::Status => Request::Status,
            C::Documents { kind } => Request::Documents { kind: *kind },
            C::Rejected => Request::Rejected,
            C::Audit { limit } => Request::Audit { limit: *limit },
            C::Peers => Request::Peers,
            C::Registry(RegistryCmd::Create { street, title }) => Request::RegistryCreate {
                street: street.clone(),
                title: title.clone(),
            },
            C::Compound(c) => match c {
                CompoundCmd::Add {
                    name,
                    address,
                    households,
                    mode,
                    doc,
                } => Request::CompoundAdd {
                    doc: *doc,
                    name: name.clone(),
                    address: address.clone(),
                    households: *households,
                    mode: mode.clone(),
                },
                CompoundCmd::List { year, doc } => Request::CompoundList {
                    doc: *doc,
                    year: *year,
                },
                CompoundCmd::Appoint {
                    compound,
                    manager,
                    mode,
                    start,
                    end,
                    status,
                    doc,
                } => Request::CompoundAppoint {
                    doc: *doc,
                    compound: compound.clone(),
                    manager: manager.clone(),
                    mode: mode.clone(),
                    start: *start,
                    end: *end,
                    status: *status,
                },
                CompoundCmd::Inspect {
                    compound,
                    date,
                    results,
                    note,
                    doc,
                } => Request::CompoundInspect {
                    doc: *doc,
                    compound: compound.clone(),
                    date: *date,
                    results: results.iter().cloned().collect(),
                    note: note.clone(),
                },
                CompoundCmd::Score {
                    compound,
                    year,
                    role,
                    marks,
                    comment,
                    doc,
                } => Request::CompoundScore {
                    doc: *doc,
                    compound: compound.clone(),
                    year: *year,
                    role: *role,
                    marks: marks.iter().cloned().collect(),
                    comment: comment.clone(),
                },
                CompoundCmd::Scores { year, doc } => Request::AnnualScores {
                    doc: *doc,
                    year: *year,
                },
            },
            C::Resource(r) => match r {
                ResourceCmd::Publish {
                    name,
                    kind,
                    capacity,
                    daily_capacity,
                    area,
                    street,
                    community,
                } => Request::ResourcePublish {
                    street: street.clone(),
                    community: community.clone(),
                    name: name.clone(),
                    kind: *kind,
                    capacity: *capacity,
                    daily_capacity: *daily_capacity,
                    area_m2: *area,
                    spec: None,
                },
                ResourceCmd::List => Request::ResourceList,
            },
            C::Booking(b) => match b {
                BookingCmd::Request {
                    booker,
                    purpose,
                    start,
                    end,
                    attendees,
                    organisation,
                    contact,
                    weeks,
                    alternates,
                    doc,
                } => Request::BookingRequest {
                    doc: *doc,
                    booker: booker.clone(),
                    purpose: purpose.clone(),
                    start: start.clone(),
                    end: end.clone(),
                    attendees: *attendees,
                    organisation: organisation.clone(),
                    contact: contact.clone(),
                    weeks: *weeks,
                    alternates: alternates.clone(),
                },
                BookingCmd::Confirm { booking, doc } => Request::BookingConfirm {
                    doc: *doc,
                    booking: booking.clone(),
                },
                BookingCmd::Reject {
                    booking,
                    reason,
                    doc,
                } => Request::BookingReject {
                    doc: *doc,
                    booking: booking.clone(),
                    reason: reason.clone(),
                },
                BookingCmd::Signups { booking, doc } => Request::Activities {
                    doc: *doc,
                    booking: booking.clone(),
                },
                BookingCmd::Activity {
                    booking,
                    title,
                    capacity,
                    waitlist,
                    deadline,
                    doc,
                } => Request::ActivitySet {
                    doc: *doc,
                    booking: booking.clone(),
                    title: title.clone(),
                    capacity: *capacity,
                    waitlist: *waitlist,
                    deadline: deadline.clone(),
                },
                BookingCmd::Signup {
                    booking,
                    participant,
                    doc,
                }
                | BookingCmd::CancelSignup {
                    booking,
                    participant,
                    doc,
                } => Request::SignUp {
                    doc: *doc,
                    booking: booking.clone(),
                    participant: participant.clone(),
                    cancel: matches!(b, BookingCmd::CancelSignup { .. }),
                },
                BookingCmd::Waitlist { booking, doc } => Request::BookingWaitlist {
                    doc: *doc,
                    booking: booking.clone(),
                },
                BookingCmd::Revoke {
                    booking,
                    reason,
                    doc,
                } => Request::BookingRevoke {
                    doc: *doc,
                    booking: booking.clone(),
                    reason: reason.clone(),
                },
                BookingCmd::Cancel {
                    booking,
                    reason,
                    doc,
                } => Request::BookingCancel {
                    doc: *doc,
                    booking: booking.clone(),
                    reason: reason.clone(),
                },
                BookingCmd::List { doc } => Request::BookingList { doc: *doc },
            },
            C::Order(o) => match o {
                OrderCmd::Place {
                    household,
                    date,
                    portions,
                    items,
                    doc,
                } => Request::OrderPlace {
                    doc: *doc,
                    household: household.clone(),
                    date: *date,
                    portions: *portions,
                    items: items.clone(),
                },
                OrderCmd::Accept { order, doc } => Request::OrderAccept {
                    doc: *doc,
                    order: order.clone(),
                },
                OrderCmd::Refuse { order, reason, doc } => Request::OrderRefuse {
                    doc: *doc,
                    order: order.clone(),
                    reason: reason.clone(),
                },
                OrderCmd::Collected { order, no, doc } => Request::OrderCollected {
                    doc: *doc,
                    order: order.clone(),
                    collected: !no,
                },
                OrderCmd::Cancel { order, doc } => Request::OrderCancel {
                    doc: *doc,
                    order: order.clone(),
                },
                OrderCmd::List { date, doc } => Request::OrderList {
                    doc: *doc,
                    date: *date,
                },
            },
            C::Ledger(l) => match l {
                LedgerCmd::Create {
                    year,
                    street,
                    hand_points,
                } => Request::LedgerCreate {
                    street: street.clone(),
                    year: *year,
                    rules: hand_points.then(|| linli_core::ledger::LedgerRules {
                        hand_points: true,
                        ..Default::default()
                    }),
                },
                LedgerCmd::Entries { doc } => Request::Entries { doc: *doc },
                LedgerCmd::Store(s) => match s {
                    StoreCmd::Add {
                        name,
                        cost,
                        stock,
                        doc,
                    } => Request::StoreAdd {
                        doc: *doc,
                        name: name.clone(),
                        cost: cost.clone(),
                        stock: *stock,
                    },
                    StoreCmd::Restock {
                        item,
                        quantity,
                        doc,
                    } => Request::StoreRestock {
                        doc: *doc,
                        item: item.clone(),
                        quantity: *quantity,
                    },
                    StoreCmd::Redeem {
                        volunteer,
                        item,
                        outlet,
                        doc,
                    } => Request::StoreRedeem {
                        doc: *doc,
                        volunteer: volunteer.clone(),
                        item: item.clone(),
                        outlet: outlet.clone(),
                    },
                    StoreCmd::List { doc } => Request::StoreList { doc: *doc },
                },
                LedgerCmd::Certificate { volunteer } => Request::Certificate {
                    volunteer: volunteer.clone(),
                },
            },
            C::Service(ServiceCmd::Record {
                volunteer,
                activity,
                date,
                hours,
                team,
                evidence,
                doc,
            }) => Request::ServiceRecord {
                doc: *doc,
                volunteer: volunteer.clone(),
                activity: activity.clone(),
                team: team.clone(),
                date: *date,
                hours: *hours,
                evidence: evidence.clone(),
            },
            C::Redeem {
                volunteer,
                item,
                cost,
                outlet,
                doc,
            } => Request::Redeem {
                doc: *doc,
                volunteer: volunteer.clone(),
                item: item.clone(),
                cost: cost.clone(),
                outlet: outlet.clone(),
            },
            C::Correct {
                volunteer,
                delta,
                reason,
                corrects,
                doc,
            } => Request::Correct {
                doc: *doc,
                volunteer: volunteer.clone(),
                corrects: corrects.clone(),
                delta: delta.clone(),
                reason: reason.clone(),
            },
            C::Balance { volunteer } => match volunteer {
                Some(v) => Request::Balance {
                    volunteer: v.clone(),
                },
                None => Request::Balances,
            },
            C::Leaderboard { doc, team } => Request::Leaderboard {
                doc: *doc,
                team: team.clone(),
            },
            C::Personal(p) => match p {
                PersonalCmd::List { doc } => Request::PersonalList { doc: *doc },
                PersonalCmd::Erase { doc, record } => Request::PersonalErase {
                    doc: *doc,
                    record: record.clone(),
                },
                PersonalCmd::Volunteer {
                    volunteer,
                    name,
                    phone,
                    id_number,
                    doc,
                } => Request::VolunteerIdentify {
                    doc: *doc,
                    volunteer: volunteer.clone(),
                    name: name.clone(),
                    phone: phone.clone(),
                    id_number: id_number.clone(),
                },
            },
            C::Wish(w) => match w {
                WishCmd::Create { street, title } => Request::WishesCreate {
                    street: street.clone(),
                    title: title.clone(),
                },
                WishCmd::Post {
                    title,
                    kind,
                    text,
                    category,
                    channel,
                    place,
                    resident_name,
                    resident_contact,
                    resident_address,
                    doc,
                } => Request::WishPost {
                    doc: *doc,
                    kind: *kind,
                    title: title.clone(),
                    text: text.clone(),
                    category: category.clone(),
                    channel: channel.clone(),
                    place: place.clone(),
                    resident: resident_name.as_ref().map(|name| Resident {
                        name: name.clone(),
                        contact: resident_contact.clone(),
                        address: resident_address.clone(),
                    }),
                },
                WishCmd::Claim {
                    wish,
                    note,
                    doc,
                    team,
                    lead: Some(lead),
                    ..
                } if !team.is_empty() => Request::WishClaimTeam {
                    doc: *doc,
                    wish: wish.clone(),
                    lead: lead.clone(),
                    members: team.clone(),
                    note: note.clone(),
                },
                WishCmd::Stats { year, doc } => Request::WishStats {
                    doc: *doc,
                    year: *year,
                },
                WishCmd::Claim {
                    wish,
                    volunteer,
                    note,
                    doc,
                    ..
                } => Request::WishClaim {
                    doc: *doc,
                    wish: wish.clone(),
                    volunteer: volunteer.clone(),
                    note: note.clone(),
                },
                WishCmd::Assign { wish, claim, doc } => Request::WishAssign {
                    doc: *doc,
                    wish: wish.clone(),
                    claim: claim.clone(),
                },
                WishCmd::Release { wish, claim, doc } => Request::WishRelease {
                    doc: *doc,
                    wish: wish.clone(),
                    claim: claim.clone(),
                },
                WishCmd::Fulfil { wish, note, doc } => Request::WishAdvance {
                    doc: *doc,
                    wish: wish.clone(),
                    stage: Stage::Fulfilled { note: note.clone() },
                },
                WishCmd::Step {
                    wish,
                    stage: s,
                    text,
                    doc,
                } => Request::WishAdvance {
                    doc: *doc,
                    wish: wish.clone(),
                    stage: stage(s, text.clone())?,
                },
                WishCmd::List { doc } => Request::WishList { doc: *doc },
            },
            C::Volunteers(v) => match v {
                VolunteersCmd::Create { street, title } => Request::VolunteersCreate {
                    street: street.clone(),
                    title: title.clone(),
                },
                VolunteersCmd::List { doc } => Request::VolunteerList { doc: *doc },
                VolunteersCmd::Import { .. } => return Ok(None),
                VolunteersCmd::Session(c) => session_request(c),
                VolunteersCmd::Rota(c) => rota_request(c),
                VolunteersCmd::Register {
                    name,
                    phone,
                    id_number,
                    kind,
                    unit,
                    teams,
                    posts,
                    doc,
                } => Request::VolunteerRegister {
                    doc: *doc,
                    name: name.clone(),
                    phone: phone.clone(),
                    id_number: id_number.clone(),
                    kind: *kind,
                    unit: unit.clone(),
                    teams: teams.clone(),
                    posts: posts.clone(),
                },
                VolunteersCmd::Pair { unit, note, doc } => Request::VolunteerPair {
                    doc: *doc,
                    unit: unit.clone(),
                    note: note.clone(),
                },
            },
        };
        Ok(Some(r))
    }
}

/// The request of `linli volunteers session …`.
fn session_request(c: &SessionCmd) -> Request {
    match c {
        SessionCmd::Open {
            activity,
            place,
            start,
            end,
            team,
            doc,
        } => Request::SessionOpen {
            doc: *doc,
            activity: activity.clone(),
            team: team.clone(),
            place: place.clone(),
            start: start.clone(),
            end: end.clone(),
        },
        SessionCmd::Code { session, doc } => Request::SessionCode {
            doc: *doc,
            session: session.clone(),
            base: None,
        },
        SessionCmd::Checkin {
            session,
            volunteer,
            code,
            doc,
        } => Request::SessionCheckin {
            doc: *doc,
            session: session.clone(),
            volunteer: volunteer.clone(),
            code: code.clone(),
        },
        SessionCmd::Checkout {
            session,
            volunteer,
            code,
            doc,
        } => Request::SessionCheckout {
            doc: *doc,
            session: session.clone(),
            volunteer: volunteer.clone(),
            code: code.clone(),
        },
        SessionCmd::Close { session, doc } => Request::SessionClose {
            doc: *doc,
            session: session.clone(),
        },
        SessionCmd::List { doc } => Request::SessionList { doc: *doc },
    }
}

/// The request of `linli volunteers rota …`.
fn rota_request(c: &RotaCmd) -> Request {
    match c {
        RotaCmd::Plan {
            code,
            title,
            team,
            from,
            until,
            shifts,
            doc,
        } => Request::RotaPlan {
            doc: *doc,
            code: code.clone(),
            title: title.clone(),
            team: team.clone(),
            from: *from,
            until: *until,
            shifts: shifts.clone(),
        },
        RotaCmd::Assign {
            volunteer,
            rota,
            shift,
            date,
            doc,
        }
        | RotaCmd::Unassign {
            volunteer,
            rota,
            shift,
            date,
            doc,
        } => Request::RotaAssign {
            doc: *doc,
            rota: rota.clone(),
            shift: *shift,
            date: *date,
            volunteer: volunteer.clone(),
            off: matches!(c, RotaCmd::Unassign { .. }),
        },
        RotaCmd::Swap {
            rota,
            shift,
            date,
            from,
            to,
            doc,
        } => Request::RotaSwap {
            doc: *doc,
            rota: rota.clone(),
            shift: *shift,
            date: *date,
            from: from.clone(),
            to: to.clone(),
        },
        RotaCmd::Approve { swap, rota, doc } | RotaCmd::Decline { swap, rota, doc } => {
            Request::RotaDecide {
                doc: *doc,
                rota: rota.clone(),
                swap: swap.clone(),
                approve: matches!(c, RotaCmd::Approve { .. }),
            }
        }
        RotaCmd::Swaps { rota, doc } => Request::RotaSwaps {
            doc: *doc,
            rota: rota.clone(),
        },
        RotaCmd::Served {
            volunteers,
            rota,
            shift,
            date,
            doc,
        } => Request::RotaServed {
            doc: *doc,
            rota: rota.clone(),
            shift: *shift,
            date: *date,
            volunteers: volunteers.clone(),
        },
        RotaCmd::Show {
            rota,
            from,
            to,
            gaps,
            doc,
        } => Request::Rota {
            doc: *doc,
            rota: rota.clone(),
            from: *from,
            to: *to,
            gaps: *gaps,
        },
        RotaCmd::Record { year, ledger, doc } => Request::RotaRecord {
            doc: *doc,
            ledger: *ledger,
            year: *year,
        },
    }
}

/// A shift as `--shift` takes it: `START-END[xNEEDED][@WEEKDAYS]`, e.g. `07:00-08:00`,
/// `08:00-12:00x2@1,2,3,4,5` (the rota's own checks — end after start, 1–100 needed,
/// weekdays 1–7 — run when it is planned).
fn parse_shift(s: &str) -> Result<linli_core::volunteers::Shift, String> {
    let (rest, weekdays) = match s.split_once('@') {
        Some((r, w)) => {
            let days = w
                .split(',')
                .map(|d| {
                    d.trim().parse::<u8>().map_err(|_| {
                        format!(
                            "shift {s:?}: weekday {d:?} is not a number 1 (Monday) to 7 (Sunday)"
                        )
                    })
                })
                .collect::<Result<Vec<u8>, String>>()?;
            (r, days)
        }
        None => (s, Vec::new()),
    };
    let (times, needed) = match rest.split_once('x') {
        Some((t, n)) => (
            t,
            n.parse::<u32>()
                .map_err(|_| format!("shift {s:?}: volunteers needed {n:?} is not a number"))?,
        ),
        None => (rest, 1),
    };
    let (start, end) = times.split_once('-').ok_or_else(|| {
        format!("shift {s:?}: expected START-END[xNEEDED][@WEEKDAYS], e.g. 07:00-08:00x2@1,3,5")
    })?;
    Ok(linli_core::volunteers::Shift {
        start: start
            .trim()
            .parse()
            .map_err(|e| format!("shift {s:?}: {e}"))?,
        end: end
            .trim()
            .parse()
            .map_err(|e| format!("shift {s:?}: {e}"))?,
        needed,
        weekdays,
    })
}

/// A post as `--post` takes it: `TEAM:DUTY`.
fn parse_post(s: &str) -> Result<linli_core::volunteers::Post, String> {
    let (team, duty) = s
        .split_once(':')
        .ok_or_else(|| format!("post {s:?}: expected TEAM:DUTY, e.g. \"care:party class\""))?;
    Ok(linli_core::volunteers::Post {
        team: team.trim().to_string(),
        duty: duty.trim().to_string(),
    })
}

/// A sign-up's participant as the CLI takes it (`dianye:h301` or a volunteer id).
fn participant(s: &str) -> Result<linli_core::resource::Participant, String> {
    s.parse()
}

/// `linli volunteers rota …`.
#[derive(Debug, Subcommand)]
pub enum RotaCmd {
    /// Every shift occurrence from one date to another (at most 92 days) with who covers
    /// it; `--gaps`: only those with fewer volunteers than needed.
    #[command(
        after_help = "Example: linli volunteers rota show --rota bikes --from 2026-06-01 --to 2026-06-07"
    )]
    Show {
        /// Only this rota (its code).
        #[arg(long)]
        rota: Option<String>,
        /// First local date.
        #[arg(long)]
        from: Date,
        /// Last local date.
        #[arg(long)]
        to: Date,
        /// Only coverage gaps.
        #[arg(long)]
        gaps: bool,
        /// Volunteer registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Plan a duty rota, or change one (keeping its shifts' numbers): recurring shifts in
    /// local time, numbered from 0 in the order given.
    ///
    /// Each --shift is START-END, optionally xNEEDED (volunteers needed, default 1) and
    /// @WEEKDAYS (ISO weekdays 1 = Monday … 7 = Sunday, comma-separated; default every
    /// day): "07:00-08:00" daily bike tidying by one volunteer, "08:00-12:00x2@1,2,3,4,5"
    /// two volunteers on weekdays, "20:00-24:00" a night shift ending at midnight.
    #[command(
        after_help = "Example: linli volunteers rota plan bikes --title \"Bike tidying\" --team patrol --from 2026-06-01 --shift 07:00-08:00 --shift 17:00-18:00x2@1,3,5"
    )]
    Plan {
        /// Rota code: lowercase letters, digits, '-' and '_' (e.g. bikes).
        code: String,
        /// Title shown on the rota, e.g. "Bike tidying".
        #[arg(long)]
        title: String,
        /// The team serving it (a team code of the registry: linli volunteers list).
        #[arg(long)]
        team: Option<String>,
        /// First local date the shifts run (YYYY-MM-DD).
        #[arg(long)]
        from: Date,
        /// Last local date (default: open-ended).
        #[arg(long)]
        until: Option<Date>,
        /// A shift: START-END[xNEEDED][@WEEKDAYS], e.g. 07:00-08:00 or 08:00-12:00x2@1,2,3;
        /// repeat for several shifts (shift 0, 1, … in this order).
        #[arg(long = "shift", required = true, value_parser = parse_shift)]
        shifts: Vec<linli_core::volunteers::Shift>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Put an active volunteer on a shift: every occurrence, or with --date one occurrence.
    #[command(
        after_help = "Example: linli volunteers rota assign dianye@7b3f0a1c2d4e:1 --rota bikes --shift 0"
    )]
    Assign {
        /// The volunteer's id (linli volunteers list).
        volunteer: VolunteerId,
        /// Rota code.
        #[arg(long)]
        rota: String,
        /// Shift number (from 0, in the order the rota was planned).
        #[arg(long, default_value_t = 0)]
        shift: usize,
        /// Only this occurrence's local date (default: every occurrence).
        #[arg(long)]
        date: Option<Date>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Take a volunteer off a shift: the recurring assignment, or with --date one occurrence.
    #[command(
        after_help = "Example: linli volunteers rota unassign dianye@7b3f0a1c2d4e:1 --rota bikes --shift 0 --date 2026-06-03"
    )]
    Unassign {
        /// The volunteer's id.
        volunteer: VolunteerId,
        /// Rota code.
        #[arg(long)]
        rota: String,
        /// Shift number (from 0).
        #[arg(long, default_value_t = 0)]
        shift: usize,
        /// Only this occurrence's local date (default: the recurring assignment).
        #[arg(long)]
        date: Option<Date>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Record a volunteer's request to hand one occurrence to another, active volunteer;
    /// prints the swap's id, which `rota approve` or `rota decline` takes.
    #[command(
        after_help = "Example: linli volunteers rota swap --rota bikes --shift 0 --date 2026-06-03 --from dianye@7b3f0a1c2d4e:1 --to dianye@7b3f0a1c2d4e:2"
    )]
    Swap {
        /// Rota code.
        #[arg(long)]
        rota: String,
        /// Shift number (from 0).
        #[arg(long, default_value_t = 0)]
        shift: usize,
        /// The occurrence's local date.
        #[arg(long)]
        date: Date,
        /// Who gives the occurrence away (must cover it).
        #[arg(long)]
        from: VolunteerId,
        /// Who takes it (an active volunteer not already on it).
        #[arg(long)]
        to: VolunteerId,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Approve a swap request (the community only, once): the occurrence passes to the
    /// volunteer taking it.
    #[command(after_help = "Example: linli volunteers rota approve dianye@7b3f0a1c2d4e:1")]
    Approve {
        /// The swap's id (as `rota swap` printed it; `rota swaps` lists them).
        swap: String,
        /// Rota code (default: the one rota with a swap of this id).
        #[arg(long)]
        rota: Option<String>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Decline a swap request (the community only, once): the occurrence stays as it was.
    #[command(after_help = "Example: linli volunteers rota decline dianye@7b3f0a1c2d4e:1")]
    Decline {
        /// The swap's id.
        swap: String,
        /// Rota code (default: the one rota with a swap of this id).
        #[arg(long)]
        rota: Option<String>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Swap requests with their status (pending, approved, declined).
    #[command(after_help = "Example: linli volunteers rota swaps --rota bikes")]
    Swaps {
        /// Only this rota.
        #[arg(long)]
        rota: Option<String>,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Mark an occurrence that has ended as served by these volunteers; `rota record`
    /// then writes their service records to the ledger.
    #[command(
        after_help = "Example: linli volunteers rota served dianye@7b3f0a1c2d4e:2 --rota bikes --shift 0 --date 2026-06-03"
    )]
    Served {
        /// Who served (volunteer ids).
        #[arg(required = true)]
        volunteers: Vec<VolunteerId>,
        /// Rota code.
        #[arg(long)]
        rota: String,
        /// Shift number (from 0).
        #[arg(long, default_value_t = 0)]
        shift: usize,
        /// The occurrence's local date.
        #[arg(long)]
        date: Date,
        /// Volunteer registry (default: the one this node holds).
        #[arg(long)]
        doc: Option<DocId>,
    },
    /// Write the shifts of a year marked served as service records in the community's
    /// ledger (again: nothing is written twice).
    #[command(after_help = "Example: linli volunteers rota record --year 2026")]
    Record {
        /// Year.
        #[arg(long)]
        year: i16,
        /// Ledger (default: the community's ledger of that year).
        #[arg(long)]
        ledger: Option<DocId>,
        /// Volunteer registry.
        #[arg(long)]
        doc: Option<DocId>,
    },
}
