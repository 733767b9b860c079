"""The result classes of linli (generated from linli-node's result types, `linli_node::results`,
by its codegen; do not edit: `LINLI_BLESS=1 cargo test -p linli-node --test it
python_results` rewrites it).

Every class is a frozen dataclass; ``Class.from_json(data)`` builds one from the JSON form the
node answers (also over the HTTP API): times become timezone-aware ``datetime`` objects,
dates ``date`` objects, points exact ``Decimal`` values.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Optional

__all__ = [
    "NodeStatus",
    "DocumentInfo",
    "Standing",
    "CompoundInfo",
    "ExportSummary",
    "ImportReport",
    "Booking",
    "Event",
    "Wish",
    "Rejected",
    "CertificateInfo",
    "LedgerEntry",
    "LedgerPage",
    "MealOrder",
    "KitchenDay",
    "Appointment",
    "AppointmentState",
    "Inspection",
    "ScoreSheet",
    "CompositeScore",
    "Claim",
    "Peer",
    "SyncReport",
    "TeamLine",
    "MonthlyReport",
    "YearlyReport",
    "StoreItem",
    "YearHours",
    "StarCertificate",
    "PointsInfo",
    "ClaimCount",
    "RotaShift",
    "Activity",
    "CheckinInfo",
    "SessionInfo",
]

_Conv = Callable[[Any], Any]


def _datetime(v: Any) -> datetime.datetime:
    text = str(v)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc)


def _date(v: Any) -> datetime.date:
    return datetime.date.fromisoformat(str(v))


def _same(v: Any) -> Any:
    return v


def _opt(f: _Conv) -> _Conv:
    return lambda v: None if v is None else f(v)


def _list(f: _Conv) -> _Conv:
    return lambda v: [f(x) for x in v]


def _tuple(f: _Conv) -> _Conv:
    return lambda v: tuple(f(x) for x in v)


def _dict(f: _Conv) -> _Conv:
    return lambda v: {str(k): f(x) for k, x in v.items()}


def _fixed(*fs: _Conv) -> _Conv:
    return lambda v: tuple(f(x) for f, x in zip(fs, v))


@dataclass(frozen=True)
class NodeStatus:
    """Identity and counts of a node, as returned by `Node.status()`.

    Attributes:
        accepted: Changes in the log that are applied.
        awaiting_verification: Documents restored from a peer's snapshot (fast join) not
            yet verified: their data reads and takes writes, but is not verified yet.
        documents: Documents held, by kind.
        equivocating: Keys (hex) seen signing two different changes in one slot
            (equivocation).
        incarnation: Incarnation of this open of the store (hex; drawn anew on every
            open).
        log: Changes in the log.
        node_id: This node's key (hex).
        org: The organisation it acts for.
        path: Data directory.
        pending: Changes in the log that wait for dependencies or a certificate.
        refused: Changes in the log refused for good.
        root: The root key it trusts (hex).
        snapshots: Document snapshots stored.
    """

    accepted: int
    awaiting_verification: int
    documents: dict[str, int]
    equivocating: list[str]
    incarnation: str
    log: int
    node_id: str
    org: str
    path: Path
    pending: int
    refused: int
    root: str
    snapshots: int

    @classmethod
    def from_json(cls, data: Any) -> NodeStatus:
        """A NodeStatus from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            accepted=data["accepted"],
            awaiting_verification=data["awaiting_verification"],
            documents=_dict(_same)(data["documents"]),
            equivocating=_list(_same)(data["equivocating"]),
            incarnation=data["incarnation"],
            log=data["log"],
            node_id=data["node_id"],
            org=data["org"],
            path=Path(data["path"]),
            pending=data["pending"],
            refused=data["refused"],
            root=data["root"],
            snapshots=data["snapshots"],
        )


@dataclass(frozen=True)
class DocumentInfo:
    """One document held by a node, as listed by `Node.documents()`.

    Attributes:
        community: The community it belongs to, if any.
        created: Creation time (UTC).
        id: Its id (hex).
        kind: Its kind: federation, registry, ledger, resource or wishes.
        owner: The organisation that owns it.
        street: The street it belongs to.
        title: Title shown to people.
        year: Year, for ledgers.
    """

    community: Optional[str]
    created: datetime.datetime
    id: str
    kind: str
    owner: str
    street: str
    title: str
    year: Optional[int]

    @classmethod
    def from_json(cls, data: Any) -> DocumentInfo:
        """A DocumentInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            community=data["community"],
            created=_datetime(data["created"]),
            id=data["id"],
            kind=data["kind"],
            owner=data["owner"],
            street=data["street"],
            title=data["title"],
            year=data["year"],
        )


@dataclass(frozen=True)
class Standing:
    """A row of a ledger's leaderboard.

    Attributes:
        earned: Points earned.
        minutes: Minutes served.
        stars: Star level.
        volunteer: Volunteer id (`org:n`).
    """

    earned: Decimal
    minutes: int
    stars: int
    volunteer: str

    @classmethod
    def from_json(cls, data: Any) -> Standing:
        """A Standing from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            earned=Decimal(data["earned"]),
            minutes=data["minutes"],
            stars=data["stars"],
            volunteer=data["volunteer"],
        )


@dataclass(frozen=True)
class CompoundInfo:
    """A compound of a registry.

    Attributes:
        address: Street address.
        households: Total households.
        id: Its id (`org@tag:n`).
        mode: How it is managed (`property_firm`, …, or the text of another model).
        name: Name.
        status: Lifecycle state (`active`, …).
    """

    address: str
    households: int
    id: str
    mode: str
    name: str
    status: str

    @classmethod
    def from_json(cls, data: Any) -> CompoundInfo:
        """A CompoundInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            address=data["address"],
            households=data["households"],
            id=data["id"],
            mode=data["mode"],
            name=data["name"],
            status=data["status"],
        )


@dataclass(frozen=True)
class ExportSummary:
    """What `Node.export()` wrote.

    Attributes:
        bytes: Size of the file in bytes.
        changes: Number of signed changes in it.
        path: The file written.
    """

    bytes: int
    changes: int
    path: Path

    @classmethod
    def from_json(cls, data: Any) -> ExportSummary:
        """A ExportSummary from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            bytes=data["bytes"],
            changes=data["changes"],
            path=Path(data["path"]),
        )


@dataclass(frozen=True)
class ImportReport:
    """What `Node.import_()` did.

    Attributes:
        applied: Changes newly applied.
        complete: Whether the file ended with an intact end part.
        duplicates: Changes the node already held.
        entries: Whole entries read from the file.
        invalid: Entries that could not be used: (entry index from 0, what was wrong).
        pending: Changes stored that wait for dependencies or certificates.
        problem: Why the file could not be read to its end, if it could not.
        refused: Changes stored as refused.
    """

    applied: int
    complete: bool
    duplicates: int
    entries: int
    invalid: list[tuple[int, str]]
    pending: int
    problem: Optional[str]
    refused: int

    @classmethod
    def from_json(cls, data: Any) -> ImportReport:
        """A ImportReport from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            applied=data["applied"],
            complete=data["complete"],
            duplicates=data["duplicates"],
            entries=data["entries"],
            invalid=_list(_fixed(_same, _same))(data["invalid"]),
            pending=data["pending"],
            problem=data["problem"],
            refused=data["refused"],
        )


@dataclass(frozen=True)
class Booking:
    """A booking of a resource, as listed by `Node.bookings()`.

    Attributes:
        attendees: Expected attendance.
        booker: The named responsible person.
        confirmed_end: End of the confirmed slot, if confirmed.
        confirmed_start: Start of the confirmed slot, if confirmed.
        contact: How to reach the booker, if given.
        end: End of the wished slot (UTC, exclusive).
        id: Its id (`org@tag:n`).
        organisation: The organising group, if given.
        purpose: What the room is for.
        requested_at: When it was requested (UTC).
        start: Start of the wished slot (UTC).
        status: Status: tentative, waitlisted, confirmed, rejected, revoked, cancelled,
            …
        status_reason: Why it was rejected, revoked, cancelled or is contested, if so.
    """

    attendees: int
    booker: str
    confirmed_end: Optional[datetime.datetime]
    confirmed_start: Optional[datetime.datetime]
    contact: Optional[str]
    end: datetime.datetime
    id: str
    organisation: Optional[str]
    purpose: str
    requested_at: datetime.datetime
    start: datetime.datetime
    status: str
    status_reason: Optional[str]

    @classmethod
    def from_json(cls, data: Any) -> Booking:
        """A Booking from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            attendees=data["attendees"],
            booker=data["booker"],
            confirmed_end=_opt(_datetime)(data["confirmed_end"]),
            confirmed_start=_opt(_datetime)(data["confirmed_start"]),
            contact=data["contact"],
            end=_datetime(data["end"]),
            id=data["id"],
            organisation=data["organisation"],
            purpose=data["purpose"],
            requested_at=_datetime(data["requested_at"]),
            start=_datetime(data["start"]),
            status=data["status"],
            status_reason=data["status_reason"],
        )


@dataclass(frozen=True)
class Event:
    """Something that happened in a node (see `Node.subscribe()`).

    Attributes:
        doc: The document, for document events.
        kind: `document_changed`, `change_rejected`, `equivocation`, `peer_updated`,
            `quota_exceeded`, `peer_connected`, `peer_disconnected`, `peer_dropped`,
            `pull_ended`, `announcement_broken`, `personal_changed` or `personal_erased`
            (the record named in `reason`, never its data), `reachability` (`public`,
            `private` or `unknown` in `reason`), `relay_reserved` (the relay in `peer`) or
            `hole_punch` (the peer; `reason` says why it failed), `document_verified` (fast
            join: the document's snapshot passed full verification) or `snapshot_refused`
            (the source in `peer`, why in `reason`).
        origin: Where the change came from (`local`, `remote`, `import`), for
            `document_changed`.
        peer: The peer, for `peer_updated`; the key that equivocated, for
            `equivocation`.
        reason: Why a change was refused, for `change_rejected`; what the key did, for
            `equivocation`.
    """

    doc: Optional[str]
    kind: str
    origin: Optional[str]
    peer: Optional[str]
    reason: Optional[str]

    @classmethod
    def from_json(cls, data: Any) -> Event:
        """A Event from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            doc=data["doc"],
            kind=data["kind"],
            origin=data["origin"],
            peer=data["peer"],
            reason=data["reason"],
        )


@dataclass(frozen=True)
class Wish:
    """An item of a wishes document.

    Attributes:
        at: When it was posted (UTC).
        by: The organisation that posted it.
        category: Category.
        channel: Channel it came in by (`app`, …, or the text of another channel).
        id: Its id.
        kind: wish, offer, suggestion or problem.
        place: Compound or building concerned.
        status: Derived status: published, claimed, assigned, fulfilled, confirmed,
            received, routed, resolved, declined or withdrawn.
        text: Text.
        title: Short title.
    """

    at: datetime.datetime
    by: str
    category: str
    channel: str
    id: str
    kind: str
    place: Optional[str]
    status: str
    text: str
    title: str

    @classmethod
    def from_json(cls, data: Any) -> Wish:
        """A Wish from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            at=_datetime(data["at"]),
            by=data["by"],
            category=data["category"],
            channel=data["channel"],
            id=data["id"],
            kind=data["kind"],
            place=data["place"],
            status=data["status"],
            text=data["text"],
            title=data["title"],
        )


@dataclass(frozen=True)
class Rejected:
    """A change refused, as listed by `Node.rejected()`.

    Attributes:
        doc: The document it was sent for.
        hash: Its change hash (hex).
        reason: Why it was refused.
        received_at: When this node received it (UTC).
        signer: Its signer (hex).
    """

    doc: str
    hash: str
    reason: str
    received_at: datetime.datetime
    signer: str

    @classmethod
    def from_json(cls, data: Any) -> Rejected:
        """A Rejected from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            doc=data["doc"],
            hash=data["hash"],
            reason=data["reason"],
            received_at=_datetime(data["received_at"]),
            signer=data["signer"],
        )


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate of the federation document.

    Attributes:
        issuer: The issuing key (hex).
        name: Name shown to people.
        not_after: End of validity (UTC, exclusive).
        not_before: Start of validity (UTC).
        org: The organisation it acts for.
        parent: The organisation `org` belongs to, if any.
        role: Its role: street, community, unit or partner.
        subject: The key certified (hex).
    """

    issuer: str
    name: str
    not_after: datetime.datetime
    not_before: datetime.datetime
    org: str
    parent: Optional[str]
    role: str
    subject: str

    @classmethod
    def from_json(cls, data: Any) -> CertificateInfo:
        """A CertificateInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            issuer=data["issuer"],
            name=data["name"],
            not_after=_datetime(data["not_after"]),
            not_before=_datetime(data["not_before"]),
            org=data["org"],
            parent=data["parent"],
            role=data["role"],
            subject=data["subject"],
        )


@dataclass(frozen=True)
class LedgerEntry:
    """An entry of a service ledger, as yielded by `Node.ledger_entries()`.

    Attributes:
        activity: Service: the activity.
        at: When it was written (UTC).
        corrects: Correction: the entry corrected, if any.
        date: Service: the local date of the service.
        evidence: Service: evidence reference, if any.
        id: Its id (`org@tag:n`).
        issuer: The organisation that wrote it.
        item: Redemption: the item.
        kind: `service`, `redemption` or `correction`.
        minutes: Service: minutes served.
        outlet: Redemption: the outlet.
        points: Effect on the volunteer's balance (negative for redemptions).
        reason: Correction: why.
        team: Service: the team, if any.
        volunteer: The volunteer (`org:n`).
    """

    activity: Optional[str]
    at: datetime.datetime
    corrects: Optional[str]
    date: Optional[datetime.date]
    evidence: Optional[str]
    id: str
    issuer: str
    item: Optional[str]
    kind: str
    minutes: Optional[int]
    outlet: Optional[str]
    points: Decimal
    reason: Optional[str]
    team: Optional[str]
    volunteer: str

    @classmethod
    def from_json(cls, data: Any) -> LedgerEntry:
        """A LedgerEntry from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            activity=data["activity"],
            at=_datetime(data["at"]),
            corrects=data["corrects"],
            date=_opt(_date)(data["date"]),
            evidence=data["evidence"],
            id=data["id"],
            issuer=data["issuer"],
            item=data["item"],
            kind=data["kind"],
            minutes=data["minutes"],
            outlet=data["outlet"],
            points=Decimal(data["points"]),
            reason=data["reason"],
            team=data["team"],
            volunteer=data["volunteer"],
        )


@dataclass(frozen=True)
class LedgerPage:
    """A page of a ledger's entries (`Node.ledger_entries()` reads them a page at a time).

    Attributes:
        entries: The entries of the page that pass the volunteer filter, in id order.
        exhausted: Whether the ledger has no entries after this page.
        last: The id of the last entry read (filtered or not), where the next page
            starts.
    """

    entries: tuple[LedgerEntry, ...]
    exhausted: bool
    last: Optional[str]

    @classmethod
    def from_json(cls, data: Any) -> LedgerPage:
        """A LedgerPage from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            entries=_tuple(LedgerEntry.from_json)(data["entries"]),
            exhausted=data["exhausted"],
            last=data["last"],
        )


@dataclass(frozen=True)
class MealOrder:
    """A meal order of a shared kitchen.

    Attributes:
        date: The service date.
        household: The household, e.g. "3-2-401".
        id: Its id (`org@tag:n`).
        items: Dishes.
        placed_at: When it was placed (UTC).
        portions: Portions.
        reason: Why it was refused, if it was.
        status: placed, accepted, refused, collected, uncollected or cancelled.
    """

    date: datetime.date
    household: str
    id: str
    items: list[str]
    placed_at: datetime.datetime
    portions: int
    reason: Optional[str]
    status: str

    @classmethod
    def from_json(cls, data: Any) -> MealOrder:
        """A MealOrder from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            date=_date(data["date"]),
            household=data["household"],
            id=data["id"],
            items=_list(_same)(data["items"]),
            placed_at=_datetime(data["placed_at"]),
            portions=data["portions"],
            reason=data["reason"],
            status=data["status"],
        )


@dataclass(frozen=True)
class KitchenDay:
    """One service day of a shared kitchen: its orders against the daily capacity.

    Attributes:
        accepted_portions: Portions accepted (accepted, collected or uncollected
            orders).
        capacity: Daily capacity in portions.
        cutoff: When ordering for the date closes (UTC).
        date: The service date.
        orders: The orders of the date, in id order.
        service: The service, e.g. "dinner".
        waiting_portions: Portions placed and not yet decided.
    """

    accepted_portions: int
    capacity: int
    cutoff: datetime.datetime
    date: datetime.date
    orders: tuple[MealOrder, ...]
    service: str
    waiting_portions: int

    @classmethod
    def from_json(cls, data: Any) -> KitchenDay:
        """A KitchenDay from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            accepted_portions=data["accepted_portions"],
            capacity=data["capacity"],
            cutoff=_datetime(data["cutoff"]),
            date=_date(data["date"]),
            orders=_tuple(MealOrder.from_json)(data["orders"]),
            service=data["service"],
            waiting_portions=data["waiting_portions"],
        )


@dataclass(frozen=True)
class Appointment:
    """A property-management appointment of a compound, written by the street.

    Attributes:
        at: When it was signed (UTC).
        by: The street that signed it.
        end: End of the term, if fixed.
        manager: The manager: firm, unit or self-management team.
        mode: How it manages (`property_firm`, …, or the text of another model).
        start: Start of the term.
        status: proposed, appointed, renewed, dismissed or ended.
    """

    at: datetime.datetime
    by: str
    end: Optional[datetime.date]
    manager: str
    mode: str
    start: datetime.date
    status: str

    @classmethod
    def from_json(cls, data: Any) -> Appointment:
        """A Appointment from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            at=_datetime(data["at"]),
            by=data["by"],
            end=_opt(_date)(data["end"]),
            manager=data["manager"],
            mode=data["mode"],
            start=_date(data["start"]),
            status=data["status"],
        )


@dataclass(frozen=True)
class AppointmentState:
    """Whom a compound's appointment record names: `vacant`, `current` (one appointment) or
    `contested` (concurrent appointments, all shown).

    Attributes:
        appointments: The appointments (none, one, or all contested ones).
        compound: The compound.
        state: vacant, current or contested.
    """

    appointments: tuple[Appointment, ...]
    compound: str
    state: str

    @classmethod
    def from_json(cls, data: Any) -> AppointmentState:
        """A AppointmentState from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            appointments=_tuple(Appointment.from_json)(data["appointments"]),
            compound=data["compound"],
            state=data["state"],
        )


@dataclass(frozen=True)
class Inspection:
    """An inspection of a compound against the district checklist.

    Attributes:
        by: The inspecting organisation.
        compound: The compound.
        date: Date of the inspection.
        id: Its id.
        max_points: Out of.
        note: Note.
        points: Points scored.
        results: Checklist item id → compliant.
        template: The checklist template used.
    """

    by: str
    compound: str
    date: datetime.date
    id: str
    max_points: int
    note: str
    points: int
    results: dict[str, bool]
    template: str

    @classmethod
    def from_json(cls, data: Any) -> Inspection:
        """A Inspection from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            by=data["by"],
            compound=data["compound"],
            date=_date(data["date"]),
            id=data["id"],
            max_points=data["max_points"],
            note=data["note"],
            points=data["points"],
            results=_dict(_same)(data["results"]),
            template=data["template"],
        )


@dataclass(frozen=True)
class ScoreSheet:
    """One scorer's yearly sheet for a compound's manager.

    Attributes:
        at: When it was written (UTC).
        by: The scoring organisation.
        comment: Comment.
        compound: The compound.
        manager: The manager scored.
        marks: Per-item marks.
        role: owners, community, street or department.
        total: Sum of the marks (0–100).
        year: The year scored.
    """

    at: datetime.datetime
    by: str
    comment: str
    compound: str
    manager: str
    marks: dict[str, int]
    role: str
    total: int
    year: int

    @classmethod
    def from_json(cls, data: Any) -> ScoreSheet:
        """A ScoreSheet from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            at=_datetime(data["at"]),
            by=data["by"],
            comment=data["comment"],
            compound=data["compound"],
            manager=data["manager"],
            marks=_dict(_same)(data["marks"]),
            role=data["role"],
            total=data["total"],
            year=data["year"],
        )


@dataclass(frozen=True)
class CompositeScore:
    """The yearly composite score of a compound's manager, computed from the sheets present
    with the district's weights.

    Attributes:
        below_threshold: Whether the score is below the district's pass mark.
        complete: Whether all four roles have scored.
        compound: The compound.
        score: Weighted mean of the sheets present (0–100), `None` without sheets.
        totals: Sheet totals present, per scorer role.
        year: The year.
    """

    below_threshold: bool
    complete: bool
    compound: str
    score: Optional[float]
    totals: dict[str, int]
    year: int

    @classmethod
    def from_json(cls, data: Any) -> CompositeScore:
        """A CompositeScore from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            below_threshold=data["below_threshold"],
            complete=data["complete"],
            compound=data["compound"],
            score=data["score"],
            totals=_dict(_same)(data["totals"]),
            year=data["year"],
        )


@dataclass(frozen=True)
class Claim:
    """An offer to take up a wish or an offer.

    Attributes:
        assigned: Whether the community's assignment of it stands.
        at: When it was offered (UTC).
        claimant: The claiming organisation.
        id: Its id.
        members: A team claim's members (its lead is `volunteer`); empty for a single
            claim.
        note: Note.
        volunteer: The volunteer who will do it, if an individual.
        wish: The item claimed.
    """

    assigned: bool
    at: datetime.datetime
    claimant: str
    id: str
    members: list[str]
    note: str
    volunteer: Optional[str]
    wish: str

    @classmethod
    def from_json(cls, data: Any) -> Claim:
        """A Claim from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            assigned=data["assigned"],
            at=_datetime(data["at"]),
            claimant=data["claimant"],
            id=data["id"],
            members=_list(_same)(data["members"]),
            note=data["note"],
            volunteer=data["volunteer"],
            wish=data["wish"],
        )


@dataclass(frozen=True)
class Peer:
    """A peer this node has synchronised with.

    Attributes:
        last_seen: When this node last heard from it (UTC).
        node_id: The peer's key (hex).
        sync_state: Opaque sync state.
    """

    last_seen: datetime.datetime
    node_id: str
    sync_state: bytes

    @classmethod
    def from_json(cls, data: Any) -> Peer:
        """A Peer from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            last_seen=_datetime(data["last_seen"]),
            node_id=data["node_id"],
            sync_state=bytes.fromhex(data["sync_state"]),
        )


@dataclass(frozen=True)
class SyncReport:
    """What one sync session moved (`Node.sync_with`).

    Attributes:
        bytes_in: Bytes received.
        bytes_out: Bytes sent.
        received: New changes received and applied.
        refused: Received changes refused by a write policy (stored with their reasons).
        sent: Changes sent.
    """

    bytes_in: int
    bytes_out: int
    received: int
    refused: int
    sent: int

    @classmethod
    def from_json(cls, data: Any) -> SyncReport:
        """A SyncReport from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            bytes_in=data["bytes_in"],
            bytes_out=data["bytes_out"],
            received=data["received"],
            refused=data["refused"],
            sent=data["sent"],
        )


@dataclass(frozen=True)
class TeamLine:
    """One team's line of a report (the line with team `""` counts what has no team).

    Attributes:
        hours: Hours served (decimal, e.g. `12.5`).
        members: Active volunteers of the registry in the team (at the time of reading).
        minutes: Minutes served.
        name: Team display name (the code where the registry has no such team).
        points: Points credited for that service (decimal, e.g. `12.5`).
        registered: Volunteers registered (or moved in) in the period.
        served: Distinct volunteers who served in the period.
        services: Service records in the period.
        team: Team code (`""`: no team; the total line: `"*"`).
    """

    hours: str
    members: int
    minutes: int
    name: str
    points: str
    registered: int
    served: int
    services: int
    team: str

    @classmethod
    def from_json(cls, data: Any) -> TeamLine:
        """A TeamLine from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            hours=data["hours"],
            members=data["members"],
            minutes=data["minutes"],
            name=data["name"],
            points=data["points"],
            registered=data["registered"],
            served=data["served"],
            services=data["services"],
            team=data["team"],
        )


@dataclass(frozen=True)
class MonthlyReport:
    """The monthly volunteer report of a community.

    Attributes:
        community: The community.
        month: The month, `YYYY-MM`.
        teams: One line per team (code order), then the total (`team` = `"*"`).
    """

    community: str
    month: str
    teams: tuple[TeamLine, ...]

    @classmethod
    def from_json(cls, data: Any) -> MonthlyReport:
        """A MonthlyReport from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            community=data["community"],
            month=data["month"],
            teams=_tuple(TeamLine.from_json)(data["teams"]),
        )


@dataclass(frozen=True)
class YearlyReport:
    """The yearly public report of a community (年度公开报告).

    Attributes:
        community: The community.
        matters_received: Matters received: wishes, suggestions and problems posted in
            the year.
        problems_resolved: Problems and suggestions posted in the year and resolved.
        teams: One line per team (code order), then the total (`team` = `"*"`).
        volunteers: Active volunteers of the registry (at the time of reading).
        wishes_fulfilled: Micro-wishes posted in the year and fulfilled (or confirmed).
        wishes_posted: Micro-wishes posted in the year.
        year: The year.
    """

    community: str
    matters_received: int
    problems_resolved: int
    teams: tuple[TeamLine, ...]
    volunteers: int
    wishes_fulfilled: int
    wishes_posted: int
    year: int

    @classmethod
    def from_json(cls, data: Any) -> YearlyReport:
        """A YearlyReport from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            community=data["community"],
            matters_received=data["matters_received"],
            problems_resolved=data["problems_resolved"],
            teams=_tuple(TeamLine.from_json)(data["teams"]),
            volunteers=data["volunteers"],
            wishes_fulfilled=data["wishes_fulfilled"],
            wishes_posted=data["wishes_posted"],
            year=data["year"],
        )


@dataclass(frozen=True)
class StoreItem:
    """An item of a ledger's points store with its stock.

    Attributes:
        cost: Cost in points.
        id: Its id (`org@tag:n`).
        initial: Units put in when the item was added.
        name: Name.
        redeemed: Units redeemed.
        restocked: Units added by restocks.
        stock: Units in stock: initial + restocked − redeemed (below zero only after
            two workstations redeemed the last unit concurrently; then refused until
            restocked).
    """

    cost: Decimal
    id: str
    initial: int
    name: str
    redeemed: int
    restocked: int
    stock: int

    @classmethod
    def from_json(cls, data: Any) -> StoreItem:
        """A StoreItem from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            cost=Decimal(data["cost"]),
            id=data["id"],
            initial=data["initial"],
            name=data["name"],
            redeemed=data["redeemed"],
            restocked=data["restocked"],
            stock=data["stock"],
        )


@dataclass(frozen=True)
class YearHours:
    """Hours served in one year.

    Attributes:
        hours: Hours served, as text with two decimals.
        minutes: Minutes served.
        year: The year.
    """

    hours: str
    minutes: int
    year: int

    @classmethod
    def from_json(cls, data: Any) -> YearHours:
        """A YearHours from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            hours=data["hours"],
            minutes=data["minutes"],
            year=data["year"],
        )


@dataclass(frozen=True)
class StarCertificate:
    """A volunteer's star certificate, issued by the home community.

    Attributes:
        balance: Points spendable today.
        earned: Points earned over every ledger held (never reduced by redemptions or
            expiry).
        expired: Points that expired unspent.
        hours: Hours by year of service.
        issued_by: The issuing (home) community's scope.
        name: The masked name, where the home community's volunteer registry is held.
        on: The day it describes.
        stars: Star level.
        thresholds: Earned points needed for each star.
        volunteer: The volunteer's pseudonymous id.
    """

    balance: Decimal
    earned: Decimal
    expired: Decimal
    hours: tuple[YearHours, ...]
    issued_by: str
    name: Optional[str]
    on: datetime.date
    stars: int
    thresholds: list[Decimal]
    volunteer: str

    @classmethod
    def from_json(cls, data: Any) -> StarCertificate:
        """A StarCertificate from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            balance=Decimal(data["balance"]),
            earned=Decimal(data["earned"]),
            expired=Decimal(data["expired"]),
            hours=_tuple(YearHours.from_json)(data["hours"]),
            issued_by=data["issued_by"],
            name=data["name"],
            on=_date(data["on"]),
            stars=data["stars"],
            thresholds=_list(Decimal)(data["thresholds"]),
            volunteer=data["volunteer"],
        )


@dataclass(frozen=True)
class PointsInfo:
    """A volunteer's points today, with expiry.

    Attributes:
        balance: Points spendable (negative: owed).
        earned: Points earned.
        expired: Points expired unspent.
        expiring: How many expire then.
        next_expiry: The next day points expire, if any.
        redeemed: Points redeemed.
        volunteer: The volunteer.
    """

    balance: Decimal
    earned: Decimal
    expired: Decimal
    expiring: Optional[Decimal]
    next_expiry: Optional[datetime.date]
    redeemed: Decimal
    volunteer: str

    @classmethod
    def from_json(cls, data: Any) -> PointsInfo:
        """A PointsInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            balance=Decimal(data["balance"]),
            earned=Decimal(data["earned"]),
            expired=Decimal(data["expired"]),
            expiring=_opt(Decimal)(data["expiring"]),
            next_expiry=_opt(_date)(data["next_expiry"]),
            redeemed=Decimal(data["redeemed"]),
            volunteer=data["volunteer"],
        )


@dataclass(frozen=True)
class ClaimCount:
    """A claimant's claims of a year: a team claim counts once.

    Attributes:
        claimant: The claiming organisation.
        claims: Claims offered.
        fulfilled: Claims fulfilled under their assignment.
        team_claims: Of which team claims.
        volunteers: Distinct volunteers named (teams' members included).
    """

    claimant: str
    claims: int
    fulfilled: int
    team_claims: int
    volunteers: int

    @classmethod
    def from_json(cls, data: Any) -> ClaimCount:
        """A ClaimCount from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            claimant=data["claimant"],
            claims=data["claims"],
            fulfilled=data["fulfilled"],
            team_claims=data["team_claims"],
            volunteers=data["volunteers"],
        )


@dataclass(frozen=True)
class RotaShift:
    """One occurrence of a rota's shift with who covers it, as listed by `Node.rota()`.

    Attributes:
        assigned: Active volunteers covering it (after one-day assignments and approved
            swaps).
        date: The local date.
        end: End (UTC, exclusive).
        missing: Volunteers missing (0: covered; more: a coverage gap).
        needed: Volunteers needed.
        rota: The rota's code, e.g. `bikes`.
        served: Volunteers marked as having served it.
        shift: The shift's index (from 0).
        start: Start (UTC).
        title: Its title.
    """

    assigned: list[str]
    date: datetime.date
    end: datetime.datetime
    missing: int
    needed: int
    rota: str
    served: list[str]
    shift: int
    start: datetime.datetime
    title: str

    @classmethod
    def from_json(cls, data: Any) -> RotaShift:
        """A RotaShift from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            assigned=_list(_same)(data["assigned"]),
            date=_date(data["date"]),
            end=_datetime(data["end"]),
            missing=data["missing"],
            needed=data["needed"],
            rota=data["rota"],
            served=_list(_same)(data["served"]),
            shift=data["shift"],
            start=_datetime(data["start"]),
            title=data["title"],
        )


@dataclass(frozen=True)
class Activity:
    """An activity on a booking with its sign-ups, as listed by `Node.activities()`.

    Attributes:
        booking: The booking (`org@tag:n`).
        booking_status: The booking's status (sign-ups are taken while it is confirmed).
        capacity: Places.
        deadline: Sign-ups close at (UTC).
        organiser: The organiser (the booking's requester).
        placed: Places taken.
        signups: Sign-ups: placed in order, then waitlisted in promotion order, then
            cancelled.
        title: Title.
        waitlist_length: Waitlist length the organiser takes.
    """

    booking: str
    booking_status: str
    capacity: int
    deadline: datetime.datetime
    organiser: str
    placed: int
    signups: tuple[ActivitySignUp, ...]
    title: str
    waitlist_length: int

    @classmethod
    def from_json(cls, data: Any) -> Activity:
        """A Activity from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            booking=data["booking"],
            booking_status=data["booking_status"],
            capacity=data["capacity"],
            deadline=_datetime(data["deadline"]),
            organiser=data["organiser"],
            placed=data["placed"],
            signups=_tuple(ActivitySignUp.from_json)(data["signups"]),
            title=data["title"],
            waitlist_length=data["waitlist_length"],
        )


@dataclass(frozen=True)
class CheckinInfo:
    """A volunteer's check-in at a session.

    Attributes:
        auto: Whether the check-out was written by the session's close, not by the
            volunteer.
        checked_in: When they checked in.
        checked_out: When they checked out (absent: still checked in).
        entry: The verified service entry the close wrote for them, once closed.
        minutes: Minutes that entry verifies.
        volunteer: The volunteer's pseudonymous id.
    """

    auto: bool
    checked_in: datetime.datetime
    checked_out: Optional[datetime.datetime]
    entry: Optional[str]
    minutes: Optional[int]
    volunteer: str

    @classmethod
    def from_json(cls, data: Any) -> CheckinInfo:
        """A CheckinInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            auto=data["auto"],
            checked_in=_datetime(data["checked_in"]),
            checked_out=_opt(_datetime)(data["checked_out"]),
            entry=data["entry"],
            minutes=data["minutes"],
            volunteer=data["volunteer"],
        )


@dataclass(frozen=True)
class SessionInfo:
    """A check-in session of an activity or post, with its check-ins, as `Node.sessions()`
    lists them.

    Attributes:
        activity: Activity or post.
        checkins: The check-ins, by volunteer.
        closed: When it was closed (absent: open).
        doc: The ledger it belongs to.
        end: Planned end.
        here: Whether this node opened it (only it shows the code and takes check-ins).
        id: Its id (`org@tag:n`).
        organiser: The organiser's scope.
        place: Where.
        planned_minutes: Planned minutes (the cap of hours recorded by hand).
        start: Planned start.
        team: The team, if any.
    """

    activity: str
    checkins: tuple[CheckinInfo, ...]
    closed: Optional[datetime.datetime]
    doc: str
    end: datetime.datetime
    here: bool
    id: str
    organiser: str
    place: str
    planned_minutes: int
    start: datetime.datetime
    team: Optional[str]

    @classmethod
    def from_json(cls, data: Any) -> SessionInfo:
        """A SessionInfo from its JSON form (a dict, as `json.loads` gives it)."""
        return cls(
            activity=data["activity"],
            checkins=_tuple(CheckinInfo.from_json)(data["checkins"]),
            closed=_opt(_datetime)(data["closed"]),
            doc=data["doc"],
            end=_datetime(data["end"]),
            here=data["here"],
            id=data["id"],
            organiser=data["organiser"],
            place=data["place"],
            planned_minutes=data["planned_minutes"],
            start=_datetime(data["start"]),
            team=data["team"],
        )
