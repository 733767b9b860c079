//! The node actor: one OS thread that owns the [`Replica`] and the [`Store`].
//!
//! Every command that writes runs as: apply to the replica (linli-core verifies and decides),
//! then one SQLite write transaction (append the change to the log, bring the stored status
//! of every affected change up to date, take due snapshots), commit, and only then reply and
//! broadcast events. If the store fails, the replica is rebuilt from the store, so memory
//! never runs ahead of disk.

mod log;
mod provisional;

pub(crate) use provisional::Restorable;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use automerge::ChangeHash;
use linli_core::identity::Keypair;
use linli_core::quota::{Day, QuotaCounter};
use linli_core::replica::BatchHooks;
use linli_core::signed::{self, Verified};
use linli_core::{
    Applied, DocId, Error as CoreError, NewDoc, Op, Replica, SignedChange, Timestamp,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::{ExportError, NodeError, StoreError};
use crate::export::{ExportReader, ExportSummary, ExportWriter, ImportReport};
use crate::node::{Clock, NodeEvent, NodeInfo, NodeStatus, OpenOptions, SnapshotInfo};
use crate::store::{AuditRow, Origin, PeerRecord, RejectedChange, Settings, Store, StoreOptions};
use linli_core::personal::{Accepted, PersonalData, PersonalError, PersonalRecord};
use log::{Outcome, Received, Tracker, load, persist};

/// Reply channel of a command.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// A read-only query run on the actor thread; it gets an error instead of the replica when
/// the node has failed.
pub(crate) type Query = Box<dyn FnOnce(Result<&Replica, NodeError>) + Send>;

/// Commands sent by [`Node`](crate::Node) handles.
pub(crate) enum Command {
    Create {
        new: NewDoc,
        reply: Reply<SignedChange>,
    },
    Execute {
        doc: DocId,
        op: Op,
        reply: Reply<linli_core::replica::Written>,
    },
    Apply {
        changes: Vec<SignedChange>,
        origin: Origin,
        reply: Reply<Vec<Result<Applied, CoreError>>>,
    },
    Read(Query),
    Status(Reply<NodeStatus>),
    Rejected(Reply<Vec<RejectedChange>>),
    Audit {
        limit: u32,
        reply: Reply<Vec<AuditRow>>,
    },
    Snapshot {
        doc: DocId,
        reply: Reply<Option<SnapshotInfo>>,
    },
    SetPeer {
        peer: linli_core::NodeId,
        state: Vec<u8>,
        reply: Reply<()>,
    },
    Peers(Reply<Vec<PeerRecord>>),
    Export {
        path: PathBuf,
        reply: Reply<ExportSummary>,
    },
    Import {
        path: PathBuf,
        reply: Reply<ImportReport>,
    },
    CheckIntegrity(Reply<()>),
    /// Write (`Some`) or erase (`None`) personal data as this node.
    WritePersonal {
        doc: DocId,
        record: String,
        data: Option<PersonalData>,
        reply: Reply<PersonalRecord>,
    },
    /// Personal records received from a peer.
    AcceptPersonal {
        records: Vec<PersonalRecord>,
        reply: Reply<Vec<Result<Accepted, PersonalError>>>,
    },
    /// The secret of a resource's calendar feed (a fresh one when rotating).
    CalendarFeed {
        doc: DocId,
        rotate: bool,
        reply: Reply<[u8; 16]>,
    },
    /// The resource whose calendar feed has this secret.
    CalendarLookup {
        secret: [u8; 16],
        reply: Reply<Option<DocId>>,
    },
    /// Stores a join code made by this node.
    InviteAdd {
        invite: crate::invite::Invite,
        reply: Reply<()>,
    },
    /// Claims the join code whose secret hashes to `hash` for `subject`.
    InviteClaim {
        hash: [u8; 32],
        subject: linli_core::NodeId,
        reply: Reply<crate::invite::Claim>,
    },
    /// Makes a claimed join code unused again.
    InviteRelease {
        hash: [u8; 32],
        reply: Reply<()>,
    },
    /// Peers' snapshots to restore as provisional documents (fast join): the documents
    /// restored, and those left out with why.
    RestoreProvisional {
        source: linli_core::NodeId,
        items: Vec<Restorable>,
        reply: Reply<provisional::Restored>,
    },
    /// The verifier's verdicts on provisional documents, reached against `fed_heads`
    /// (`done`: it finished).
    Verdicts {
        fed_heads: Vec<(DocId, Vec<ChangeHash>)>,
        verdicts: Vec<(DocId, crate::fastjoin::Verdict)>,
        done: bool,
    },
    Shutdown(Reply<()>),
}

/// How the actor gets its store.
pub(crate) enum Setup {
    Open,
    Init {
        org: linli_core::OrgId,
        root: linli_core::NodeId,
        secret: Option<[u8; 32]>,
    },
}

/// Changes per batch when importing.
const IMPORT_BATCH: usize = 512;

/// What the actor does around each received change that linli-core decides in a batch:
/// the signer's write quota before it (a change over the quota is neither applied nor
/// stored), and after it the record of what to store.
struct Receiving<'a> {
    limited: bool,
    own: linli_core::NodeId,
    today: Day,
    tracker: &'a Tracker,
    quota: &'a mut QuotaCounter,
    quota_refused: &'a mut u64,
    /// Changes of this batch over their signer's quota, by (document, signer): reported as
    /// [`NodeEvent::QuotaExceeded`] once the batch is committed.
    over_quota: BTreeMap<(linli_core::DocId, linli_core::NodeId), u64>,
    /// New changes of this batch already counted (a batch may carry one twice).
    counted: HashSet<ChangeHash>,
    /// The batch's changes, taken as they are settled.
    changes: Vec<Option<SignedChange>>,
    /// The hash of the change admitted last, and its quota entry (day, bytes) if it counts,
    /// recorded once it is stored.
    admitted: Option<(ChangeHash, Option<(Day, u64)>)>,
    /// What to store of each change, by its place in the batch (stored in that order).
    received: Vec<Option<Received>>,
}

impl BatchHooks for Receiving<'_> {
    fn admit(&mut self, replica: &Replica, v: &Verified) -> Result<(), CoreError> {
        let sc = v.signed();
        let hash = v.hash();
        self.admitted = Some((hash, None));
        // Only a change that would be stored for the first time counts: not one held
        // (accepted, or stored as waiting or refused) or counted already.
        let new = self.limited
            && sc.signer != self.own
            && !replica.has_change_in(sc.doc, &hash)
            && !self.tracker.stored(&hash)
            && !self.counted.contains(&hash);
        if !new {
            return Ok(());
        }
        let bytes = sc.change.len() as u64;
        // Today, or the change's own day if earlier (history a new node catches up with
        // counts on the days it was written).
        let day = Day::counted(Timestamp(v.change().timestamp()), self.today);
        if let Err(e) = self.quota.check(&sc.signer, &sc.doc, day, bytes) {
            // Not stored and not refused for good: it may come again another day.
            tracing::debug!(doc = %sc.doc.short(), "not stored: {e}");
            *self.quota_refused += 1;
            *self.over_quota.entry((sc.doc, sc.signer)).or_default() += 1;
            return Err(CoreError::Quota(e));
        }
        self.admitted = Some((hash, Some((day, bytes))));
        Ok(())
    }

    fn settled(&mut self, replica: &Replica, index: usize, result: &Result<Applied, CoreError>) {
        let admitted = self.admitted.take();
        let Some(sc) = self.changes.get_mut(index).and_then(Option::take) else {
            return;
        };
        if matches!(result, Err(CoreError::Quota(_))) {
            return;
        }
        let stored = matches!(
            result,
            Ok(Applied::Applied(_) | Applied::Pending(_))
                | Ok(Applied::AwaitingCertificate(_))
                | Err(CoreError::Rejected(_))
        );
        let hash = match admitted {
            Some((hash, counts)) => {
                if stored && let Some((day, bytes)) = counts {
                    self.quota.record(&sc.signer, &sc.doc, day, bytes);
                    self.counted.insert(hash);
                }
                hash
            }
            // Not a valid envelope, or its bytes do not decode: `apply` decided (a duplicate
            // of a held change, else the envelope error, which is not stored).
            None => match sc.change_hash() {
                Ok(h) => h,
                Err(_) => return,
            },
        };
        let outcome = match result {
            Ok(Applied::Applied(_)) => Outcome::Accepted,
            Ok(Applied::Duplicate) => Outcome::Skip,
            Ok(Applied::Pending(missing)) => Outcome::Pending(format!(
                "waits for {} missing change(s), e.g. {}",
                missing.len(),
                missing
                    .first()
                    .map(|h| hex::encode(&h.0[..4]))
                    .unwrap_or_default()
            )),
            Ok(Applied::AwaitingCertificate(e)) => {
                Outcome::Pending(format!("waits for a certificate: {e}"))
            }
            // Recorded when linli-core keeps the refusal for this document (it may withdraw
            // it later, even within this command); a genesis sent for another document is
            // not, nor a change refused in another document sent again for this one. The
            // same test as `load`'s.
            Err(CoreError::Rejected(r)) => Outcome::Refused {
                reason: r.reason.to_string(),
                recorded: replica
                    .rejected()
                    .get(&r.hash)
                    .is_some_and(|x| x.doc == sc.doc),
            },
            Err(_) => Outcome::Skip,
        };
        if let Some(slot) = self.received.get_mut(index) {
            *slot = Some(Received {
                change: sc,
                hash,
                outcome,
            });
        }
    }
}

pub(crate) struct Actor {
    store: Store,
    replica: Replica,
    keypair: Keypair,
    settings: Settings,
    tracker: Tracker,
    events: broadcast::Sender<NodeEvent>,
    clock: Clock,
    /// Creation time of the newest document this node created: a new document gets a later
    /// one, so its genesis never repeats one made before a restart.
    last_create: i64,
    snapshot_every: u64,
    fold_snapshots: bool,
    fold_on_shutdown: bool,
    failed: Option<String>,
    /// What each signer added to each document today, by changes received from peers (see
    /// [`OpenOptions::quota`](crate::OpenOptions::quota)); in memory, so a restart resets it.
    quota: QuotaCounter,
    /// Received changes not stored because they did not fit in their signer's quota.
    quota_refused: u64,
    /// The command channel, for the verifier's verdicts (weak: the actor ends when every
    /// handle is dropped).
    commands: Option<mpsc::WeakSender<Command>>,
    /// Whether the verifier of provisional documents runs.
    verifying: bool,
    /// Whether provisional documents are verified (`OpenOptions::verify_provisional`).
    verify: bool,
    /// Most documents kept in memory (see [`OpenOptions::resident_documents`]).
    resident_documents: usize,
    /// Milliseconds after which an unused document leaves memory.
    idle_ms: i64,
    /// When documents were last checked for idleness, and the replica's use counter then:
    /// documents not used since are evicted at the next check.
    idle_check: (Timestamp, u64),
}

/// Thread body: sets up the store and replica, reports readiness, then serves commands until
/// `Shutdown` or until every handle is dropped.
pub(crate) fn run(
    dir: PathBuf,
    setup: Setup,
    opts: OpenOptions,
    events: broadcast::Sender<NodeEvent>,
    ready: oneshot::Sender<Result<NodeInfo, NodeError>>,
    mut rx: mpsc::Receiver<Command>,
    commands: mpsc::WeakSender<Command>,
) {
    let mut actor = match Actor::start(&dir, setup, &opts, events) {
        Ok(mut a) => {
            a.commands = Some(commands);
            // Documents left provisional by the last run are verified again.
            a.start_verifier();
            a
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let info = NodeInfo {
        node: actor.settings.node,
        org: actor.settings.org.clone(),
        root: actor.settings.root,
        dir: dir.clone(),
    };
    if ready.send(Ok(info)).is_err() {
        let _ = actor.store.close();
        return;
    }
    while let Some(cmd) = rx.blocking_recv() {
        if let Command::Shutdown(reply) = cmd {
            rx.close();
            actor.fold_tails();
            let r = actor.store.close().map_err(NodeError::from);
            let _ = reply.send(r);
            return;
        }
        actor.handle(cmd);
        actor.evict();
    }
    let _ = actor.store.close();
}

impl Actor {
    fn start(
        dir: &Path,
        setup: Setup,
        opts: &OpenOptions,
        events: broadcast::Sender<NodeEvent>,
    ) -> Result<Actor, NodeError> {
        let sopts = StoreOptions {
            durability: opts.durability,
            max_size_bytes: opts.max_size_bytes,
        };
        let opened = matches!(setup, Setup::Open);
        let (mut store, settings, keypair) = match setup {
            Setup::Open => Store::open(dir, sopts)?,
            Setup::Init { org, root, secret } => Store::init(dir, &org, &root, secret, sopts)?,
        };
        let (replica, tracker, last_create) = if opts.check_integrity {
            // `quick_check` reads the whole file: it runs on another thread while the log is
            // read and the replica rebuilt, and before anything is written (the status fixes
            // of `load`); its verdict comes first.
            let check = store.quick_check_elsewhere();
            std::thread::scope(|s| {
                let mut check = Some(s.spawn(check));
                let mut checked = || match check.take().map(|h| h.join()) {
                    Some(Ok(result)) => result,
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    None => Ok(()),
                };
                let loaded = load(&mut store, &settings, &keypair, &mut checked);
                checked()?;
                loaded
            })?
        } else {
            load(&mut store, &settings, &keypair, &mut || Ok(()))?
        };
        if opened {
            store.save_incarnation(&settings.incarnation)?;
        }
        let mut actor = Actor {
            store,
            replica,
            keypair,
            settings,
            tracker,
            events,
            clock: opts.clock(),
            last_create,
            snapshot_every: opts.snapshot_every.max(1),
            fold_snapshots: opts.fold_snapshots,
            fold_on_shutdown: opts.fold_on_shutdown,
            failed: None,
            quota: QuotaCounter::new(opts.quota),
            quota_refused: 0,
            commands: None,
            verifying: false,
            verify: opts.verify_provisional,
            resident_documents: opts.resident_documents.max(1),
            idle_ms: i64::try_from(opts.idle_secs.max(1).saturating_mul(1000)).unwrap_or(i64::MAX),
            idle_check: (opts.clock()(), 0),
        };
        actor.idle_check.1 = actor.replica.docs().clock();
        actor.evict();
        Ok(actor)
    }

    /// Drops documents from memory (see [`OpenOptions::resident_documents`]): those not used
    /// since the last idle check once `idle_secs` have passed, then the least recently used
    /// beyond the budget. Runs between commands, when every change accepted is stored (each
    /// command commits what it did before it replies), so the store gives back every
    /// evicted document as it was.
    fn evict(&mut self) {
        if self.failed.is_some() {
            return;
        }
        let now = self.now();
        if now.0.saturating_sub(self.idle_check.0.0) >= self.idle_ms {
            self.replica.evict_unused_since(self.idle_check.1);
            self.idle_check = (now, self.replica.docs().clock());
        }
        if self.replica.docs().resident_len() > self.resident_documents {
            self.replica.evict_beyond(self.resident_documents);
        }
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// On shutdown: every document with accepted changes beyond its snapshot is saved and its
    /// log tail folded into the snapshot, so a closed store holds each document once,
    /// compressed, with the signatures that cover it (a failure is logged: the log still
    /// holds the tail, nothing is lost).
    fn fold_tails(&mut self) {
        if self.failed.is_some() || !self.fold_snapshots || !self.fold_on_shutdown {
            return;
        }
        let docs = log::with_tail(&self.tracker);
        if docs.is_empty() {
            return;
        }
        let now = self.now();
        let result = self.store.tx().and_then(|tx| {
            log::snapshot(&tx, &self.replica, &mut self.tracker, &docs, now, true)?;
            tx.commit()
        });
        if let Err(e) = result {
            tracing::warn!("the log tails were not folded at shutdown: {e}");
        }
    }

    fn check_failed(&self) -> Result<(), NodeError> {
        match &self.failed {
            Some(why) => Err(StoreError::Failed(why.clone()).into()),
            None => Ok(()),
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Create { new, reply } => {
                let _ = reply.send(self.create(new));
            }
            Command::Execute { doc, op, reply } => {
                let id = linli_core::catalogue::op_id(&op);
                let result = self.execute(doc, op);
                if let Err(NodeError::Core(e)) = &result {
                    self.audit_refusal(doc, id, e);
                }
                let _ = reply.send(result);
            }
            Command::Apply {
                changes,
                origin,
                reply,
            } => {
                let _ = reply.send(self.apply(changes, origin));
            }
            Command::Read(query) => match self.check_failed() {
                Ok(()) => query(Ok(&self.replica)),
                Err(e) => query(Err(e)),
            },
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Rejected(reply) => {
                let _ = reply.send(self.store.rejected().map_err(NodeError::from));
            }
            Command::Audit { limit, reply } => {
                let _ = reply.send(self.store.audit(limit).map_err(NodeError::from));
            }
            Command::Snapshot { doc, reply } => {
                let _ = reply.send(self.store.snapshot(&doc).map_err(NodeError::from));
            }
            Command::SetPeer { peer, state, reply } => {
                let _ = reply.send(self.set_peer(peer, &state));
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.store.peers().map_err(NodeError::from));
            }
            Command::Export { path, reply } => {
                let _ = reply.send(self.export(&path));
            }
            Command::Import { path, reply } => {
                let _ = reply.send(self.import(&path));
            }
            Command::CheckIntegrity(reply) => {
                let _ = reply.send(self.store.integrity_check(true).map_err(NodeError::from));
            }
            Command::WritePersonal {
                doc,
                record,
                data,
                reply,
            } => {
                let _ = reply.send(self.write_personal(doc, &record, data));
            }
            Command::AcceptPersonal { records, reply } => {
                let _ = reply.send(self.accept_personal(records));
            }
            Command::CalendarFeed { doc, rotate, reply } => {
                let r = self.check_failed().and_then(|()| {
                    let now = self.now();
                    Ok(self.store.calendar_feed(&doc, rotate, now)?)
                });
                let _ = reply.send(r);
            }
            Command::CalendarLookup { secret, reply } => {
                let _ = reply.send(self.store.calendar_doc(&secret).map_err(NodeError::from));
            }
            Command::InviteAdd { invite, reply } => {
                let r = self
                    .check_failed()
                    .and_then(|()| Ok(self.store.invite_add(&invite)?));
                let _ = reply.send(r);
            }
            Command::InviteClaim {
                hash,
                subject,
                reply,
            } => {
                let r = self.check_failed().and_then(|()| {
                    let now = self.now();
                    Ok(self.store.invite_claim(&hash, &subject, now)?)
                });
                let _ = reply.send(r);
            }
            Command::InviteRelease { hash, reply } => {
                let r = self
                    .check_failed()
                    .and_then(|()| Ok(self.store.invite_release(&hash)?));
                let _ = reply.send(r);
            }
            Command::RestoreProvisional {
                source,
                items,
                reply,
            } => {
                let _ = reply.send(self.restore_provisional(source, items));
            }
            Command::Verdicts {
                fed_heads,
                verdicts,
                done,
            } => self.verdicts(fed_heads, verdicts, done),
            // Handled by the loop.
            Command::Shutdown(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn create(&mut self, new: NewDoc) -> Result<SignedChange, NodeError> {
        self.check_failed()?;
        let now = self.now().0.max(self.last_create.saturating_add(1));
        let sc = self.replica.create(new, Timestamp(now))?;
        self.last_create = now;
        let received = Received {
            hash: ChangeHash(sc.doc.0),
            change: sc.clone(),
            outcome: Outcome::Accepted,
        };
        self.commit(vec![received], Origin::Local)?;
        Ok(sc)
    }

    fn execute(&mut self, doc: DocId, op: Op) -> Result<linli_core::replica::Written, NodeError> {
        self.check_failed()?;
        let now = self.now();
        let written = self.replica.execute(doc, op, now)?;
        let hash = match written.change.change_hash() {
            Ok(h) => h,
            Err(e) => {
                return Err(self.recover(StoreError::Corrupt(format!(
                    "linli-core made a change whose bytes do not decode: {e}"
                ))));
            }
        };
        let received = Received {
            change: written.change.clone(),
            hash,
            outcome: Outcome::Accepted,
        };
        let personal: Vec<_> = written
            .personal
            .iter()
            .chain(&written.personal_rows)
            .cloned()
            .collect();
        self.commit_with(vec![received], Origin::Local, &personal)?;
        Ok(written)
    }

    fn write_personal(
        &mut self,
        doc: DocId,
        record: &str,
        data: Option<PersonalData>,
    ) -> Result<PersonalRecord, NodeError> {
        self.check_failed()?;
        let now = self.now();
        let erase = data.is_none();
        let rec = self.replica.write_personal(doc, record, data, now)?;
        self.commit_with(Vec::new(), Origin::Local, std::slice::from_ref(&rec))?;
        if erase {
            self.purge_wal();
        }
        Ok(rec)
    }

    fn accept_personal(
        &mut self,
        records: Vec<PersonalRecord>,
    ) -> Result<Vec<Result<Accepted, PersonalError>>, NodeError> {
        self.check_failed()?;
        let now = self.now();
        let mut stored = Vec::new();
        let results: Vec<_> = records
            .into_iter()
            .map(|rec| {
                let r = self.replica.accept_personal(rec.clone(), now);
                if r == Ok(Accepted::Stored) {
                    stored.push(rec);
                }
                r
            })
            .collect();
        if !stored.is_empty() {
            let erased = stored.iter().any(PersonalRecord::is_erased);
            self.commit_with(Vec::new(), Origin::Remote, &stored)?;
            if erased {
                self.purge_wal();
            }
        }
        Ok(results)
    }

    /// Records a refused local operation where users look (`linli audit`): what, when, why
    /// — not its values, which may hold personal data. Storage failures are not refusals.
    fn audit_refusal(&mut self, doc: DocId, op: String, e: &CoreError) {
        let class = e.class();
        if class == linli_core::class::ErrorClass::Storage {
            return;
        }
        let row = AuditRow {
            pos: 0,
            at: self.now(),
            doc,
            op,
            class: class.label().into(),
            error: e.to_string(),
        };
        if let Err(err) = self.store.record_refusal(&row) {
            tracing::warn!("could not record a refused operation in the audit: {err}");
        }
    }

    /// After an erasure: no copy of the erased data stays in the WAL (best effort: a reader
    /// holding the WAL open makes the truncation wait for the next erasure).
    fn purge_wal(&self) {
        if let Err(e) = self.store.purge_wal() {
            tracing::warn!("could not truncate the WAL after an erasure: {e}");
        }
    }

    fn apply(
        &mut self,
        changes: Vec<SignedChange>,
        origin: Origin,
    ) -> Result<Vec<Result<Applied, CoreError>>, NodeError> {
        self.check_failed()?;
        let today = Day::of(self.now());
        self.quota.roll(today);
        // Envelopes (decoding and signature, the costly part) are checked on every core,
        // then linli-core decides the batch, applying each document's runs in bulk.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut hooks = Receiving {
            // Changes from peers count against their signer's quota; this node's own writes
            // (also when a peer sends them back) and an export file the operator imports do
            // not.
            limited: origin == Origin::Remote,
            own: self.settings.node,
            today,
            tracker: &self.tracker,
            quota: &mut self.quota,
            quota_refused: &mut self.quota_refused,
            over_quota: BTreeMap::new(),
            counted: HashSet::new(),
            changes: changes.iter().cloned().map(Some).collect(),
            admitted: None,
            received: (0..changes.len()).map(|_| None).collect(),
        };
        let checked = signed::check_all(changes, workers);
        let results = self.replica.apply_batch(checked, &mut hooks);
        let received = hooks.received.into_iter().flatten().collect();
        let over_quota = hooks.over_quota;
        self.commit(received, origin)?;
        for ((doc, signer), changes) in over_quota {
            let _ = self.events.send(NodeEvent::QuotaExceeded {
                doc,
                signer,
                changes,
            });
        }
        Ok(results)
    }

    fn set_peer(&mut self, peer: linli_core::NodeId, state: &[u8]) -> Result<(), NodeError> {
        self.check_failed()?;
        let now = self.now();
        let tx = self.store.tx()?;
        tx.set_peer(&peer, state, now)?;
        tx.commit()?;
        let _ = self.events.send(NodeEvent::PeerUpdated { peer });
        Ok(())
    }

    /// Stores what a command did in one transaction and commits; then broadcasts events. On a
    /// store failure the replica is rebuilt from the store and the error returned.
    fn commit(&mut self, received: Vec<Received>, origin: Origin) -> Result<(), NodeError> {
        self.commit_with(received, origin, &[])
    }

    /// [`Actor::commit`], storing personal records in the same transaction.
    fn commit_with(
        &mut self,
        received: Vec<Received>,
        origin: Origin,
        personal: &[PersonalRecord],
    ) -> Result<(), NodeError> {
        let now = self.now();
        let result = self.store.tx().and_then(|tx| {
            for rec in personal {
                tx.put_personal(rec)?;
            }
            let events = persist(
                &tx,
                &mut self.replica,
                &mut self.tracker,
                &received,
                origin,
                now,
                self.snapshot_every,
                self.fold_snapshots,
            )?;
            tx.commit()?;
            Ok(events)
        });
        let events = match result {
            Ok(events) => events,
            Err(e) => return Err(self.recover(e)),
        };
        for e in events {
            // No subscriber is not an error.
            let _ = self.events.send(e);
        }
        for rec in personal {
            let _ = self.events.send(NodeEvent::PersonalChanged {
                doc: rec.doc,
                record: rec.record.clone(),
                erased: rec.is_erased(),
                origin,
            });
        }
        Ok(())
    }

    /// After a failed write: rebuilds the replica from the store so that memory matches
    /// disk again. Returns the error to report.
    fn recover(&mut self, err: StoreError) -> NodeError {
        // The incarnation stays: the change whose commit failed never left the node (nothing
        // leaves before its commit), so its (actor, seq) may be used again.
        match load(&mut self.store, &self.settings, &self.keypair, &mut || {
            Ok(())
        }) {
            Ok((replica, tracker, last_create)) => {
                self.replica = replica;
                self.tracker = tracker;
                self.last_create = self.last_create.max(last_create);
            }
            Err(e2) => {
                self.failed = Some(format!("{err}; rebuilding from the store failed: {e2}"));
            }
        }
        err.into()
    }

    fn status(&self) -> Result<NodeStatus, NodeError> {
        self.check_failed()?;
        let counts = self.store.counts()?;
        let mut documents = BTreeMap::new();
        for id in self.replica.docs().keys() {
            if let Some(kind) = self.replica.docs().kind(id) {
                *documents.entry(kind).or_insert(0usize) += 1;
            }
        }
        Ok(NodeStatus {
            node: self.settings.node,
            org: self.settings.org.clone(),
            root: self.settings.root,
            incarnation: self.settings.incarnation,
            equivocators: self.replica.equivocators().clone(),
            dir: self.store.dir().to_path_buf(),
            documents,
            log: counts.accepted + counts.pending + counts.refused,
            accepted: counts.accepted,
            pending: counts.pending,
            waiting_in_replica: self.replica.pending_len(),
            quota_refused: self.quota_refused,
            refused: counts.refused,
            snapshots: counts.snapshots,
            awaiting_verification: self.replica.provisional().len(),
        })
    }

    fn export(&mut self, path: &Path) -> Result<ExportSummary, NodeError> {
        let mut w = ExportWriter::create(path)?;
        let mut failed: Option<ExportError> = None;
        self.store.for_each_encoded(|bytes| {
            if failed.is_none()
                && let Err(e) = w.entry(bytes)
            {
                failed = Some(e);
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        Ok(w.finish()?)
    }

    fn import(&mut self, path: &Path) -> Result<ImportReport, NodeError> {
        self.check_failed()?;
        let mut reader = ExportReader::open(path)?;
        let mut report = ImportReport::default();
        // New changes: hash and whether refused when applied.
        let mut fresh: Vec<(DocId, ChangeHash)> = Vec::new();
        loop {
            let mut batch: Vec<SignedChange> = Vec::new();
            let mut index = Vec::new();
            // A batch ends where it carries the cover of its covered changes (an export holds
            // them as the store does), checked every 64 entries past the batch size.
            let full = |batch: &[SignedChange]| {
                batch.len() >= IMPORT_BATCH
                    && (batch.len() >= 8 * IMPORT_BATCH
                        || (batch.len() - IMPORT_BATCH).is_multiple_of(64)
                            && linli_core::signed::cover_cuts(batch)
                                .last()
                                .copied()
                                .unwrap_or(true))
            };
            while !full(&batch) {
                let i = reader.count();
                let Some(bytes) = reader.next_entry() else {
                    break;
                };
                match SignedChange::decode(&bytes) {
                    Ok(sc) => {
                        batch.push(sc);
                        index.push(i);
                    }
                    Err(e) => report.invalid.push((i, e.to_string())),
                }
            }
            if batch.is_empty() {
                break;
            }
            let hashes: Vec<Option<(DocId, ChangeHash)>> = batch
                .iter()
                .map(|sc| sc.change_hash().ok().map(|h| (sc.doc, h)))
                .collect();
            let results = self.apply(batch, Origin::Import)?;
            for ((i, hash), r) in index.into_iter().zip(hashes).zip(results) {
                match r {
                    Ok(Applied::Duplicate) => report.duplicates += 1,
                    Ok(_) | Err(CoreError::Rejected(_)) => fresh.extend(hash),
                    Err(e) => report.invalid.push((i, e.to_string())),
                }
            }
        }
        for (doc, h) in fresh {
            if self.tracker.refused.contains(&h) {
                report.refused += 1;
            } else if self.replica.has_change_in(doc, &h) {
                report.applied += 1;
            } else {
                report.pending += 1;
            }
        }
        report.entries = reader.count();
        report.complete = reader.complete;
        report.problem = reader.problem.take();
        Ok(report)
    }
}
