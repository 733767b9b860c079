"""Every operation of linli-core, one typed function each (generated from the
operation catalogue by linli-node's codegen; do not edit: `LINLI_BLESS=1 cargo test -p
linli-node --test it python_ops` rewrites it).

Each function runs ``node.operation("kind.name", doc=doc, **fields)``: ``doc`` defaults
to the node's only document of the operation's kind; values are what the operation's
JSON form takes (dates and times as strings).
"""

from __future__ import annotations

from typing import Any, Optional

from ._linli import Node

__all__ = [
    "federation_issue",
    "federation_revoke",
    "federation_set_config",
    "registry_add_compound",
    "registry_update_compound",
    "registry_appoint",
    "registry_inspect",
    "registry_score",
    "ledger_record_service",
    "ledger_redeem",
    "ledger_correct",
    "ledger_set_rules",
    "ledger_record_services",
    "ledger_store_add",
    "ledger_store_restock",
    "ledger_redeem_item",
    "ledger_open_session",
    "ledger_check_in",
    "ledger_check_out",
    "ledger_close_session",
    "ledger_record_session_hours",
    "ledger_decline",
    "resource_delegate",
    "resource_request",
    "resource_confirm",
    "resource_reject",
    "resource_waitlist",
    "resource_revoke",
    "resource_cancel",
    "resource_bar",
    "resource_promote_waitlist",
    "resource_place_order",
    "resource_accept_order",
    "resource_refuse_order",
    "resource_mark_collected",
    "resource_cancel_order",
    "resource_set_spec",
    "resource_set_activity",
    "resource_sign_up",
    "resource_cancel_sign_up",
    "wishes_post",
    "wishes_claim",
    "wishes_assign",
    "wishes_release",
    "wishes_advance",
    "wishes_claim_team",
    "volunteers_add_team",
    "volunteers_pair",
    "volunteers_unpair",
    "volunteers_register",
    "volunteers_update",
    "volunteers_set_status",
    "volunteers_release",
    "volunteers_move_in",
    "volunteers_import_roster",
    "volunteers_set_rota",
    "volunteers_assign_shift",
    "volunteers_unassign_shift",
    "volunteers_request_swap",
    "volunteers_decide_swap",
    "volunteers_mark_served",
]


def federation_issue(node: Node, *, name: str, not_after: int, not_before: int, org: str, role: str, subject: str, parent: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Issue a certificate signed by this node's key.

    Fields:
        name (text): Name shown to people.
        not_after (integer): End of validity (exclusive).
        not_before (integer): Start of validity.
        org (text): The organisation it acts for.
        parent (text, optional): The organisation `org` belongs to (a community's street, a unit's community).
        role (one of street, community, unit, partner): Its role.
        subject (text): The key certified.
    """
    fields: dict[str, Any] = {}
    fields["name"] = name
    fields["not_after"] = not_after
    fields["not_before"] = not_before
    fields["org"] = org
    if parent is not None:
        fields["parent"] = parent
    fields["role"] = role
    fields["subject"] = subject
    return node.operation("federation.issue", doc, **fields)


def federation_revoke(node: Node, *, reason: str, subject: str, certs: Optional[list[Any]] = None, doc: Optional[str] = None) -> Any:
    """Revoke certificates of a key: its changes after what this node has accepted so far
    no longer count on them (and are refused when no other certificate chain remains).

    Fields:
        certs (JSON (array), optional): The certificates to withdraw; `None` (the default, also when absent in JSON): every certificate of `subject` this node may withdraw and has not withdrawn yet.
        reason (text): Why.
        subject (text): The key.
    """
    fields: dict[str, Any] = {}
    if certs is not None:
        fields["certs"] = certs
    fields["reason"] = reason
    fields["subject"] = subject
    return node.operation("federation.revoke", doc, **fields)


def federation_set_config(node: Node, *, checklist: dict[str, Any], scoring: dict[str, Any], doc: Optional[str] = None) -> Any:
    """Replace the district settings (root only).

    Fields:
        checklist (JSON (object)): The compound quality checklist.
        scoring (JSON (object)): Weights and pass mark of the annual scoring.
    """
    fields: dict[str, Any] = {}
    fields["checklist"] = checklist
    fields["scoring"] = scoring
    return node.operation("federation.set_config", doc, **fields)


def registry_add_compound(node: Node, *, address: str, buildings: list[Any], facilities: list[Any], households: int, mode: Any, name: str, owners_committee: bool, status: str, grid: Optional[str] = None, year_built: Optional[int] = None, doc: Optional[str] = None) -> Any:
    """Register a new compound.

    Fields:
        address (text): Street address.
        buildings (JSON (array)): Buildings; may be empty when only the total is known.
        facilities (JSON (array)): Facilities (fire box, cameras, e-bike charging …).
        grid (text, optional): Grid (网格) code, if the community uses grids.
        households (integer): Total households.
        mode (JSON): How the compound is managed.
        name (text): Name, e.g. "Shimalu compound".
        owners_committee (boolean): Whether an owners' committee exists.
        status (one of registered, under_renovation, active, archived): Lifecycle state.
        year_built (integer, optional): Year built.
    """
    fields: dict[str, Any] = {}
    fields["address"] = address
    fields["buildings"] = buildings
    fields["facilities"] = facilities
    if grid is not None:
        fields["grid"] = grid
    fields["households"] = households
    fields["mode"] = mode
    fields["name"] = name
    fields["owners_committee"] = owners_committee
    fields["status"] = status
    if year_built is not None:
        fields["year_built"] = year_built
    return node.operation("registry.add_compound", doc, **fields)


def registry_update_compound(node: Node, *, compound: dict[str, Any], id: str, doc: Optional[str] = None) -> Any:
    """Replace a compound's profile.

    Fields:
        compound (JSON (object)): The new profile.
        id (text): Which compound.
    """
    fields: dict[str, Any] = {}
    fields["compound"] = compound
    fields["id"] = id
    return node.operation("registry.update_compound", doc, **fields)


def registry_appoint(node: Node, *, compound: str, manager: str, mode: Any, start: str, status: str, end: Optional[str] = None, selection: Optional[dict[str, Any]] = None, doc: Optional[str] = None) -> Any:
    """Write the compound's appointment (street only).

    Fields:
        compound (text): Which compound.
        end (text, optional): Term end.
        manager (text): Manager.
        mode (JSON): Mode.
        selection (JSON (object), optional): Selection record.
        start (text): Term start.
        status (one of proposed, appointed, renewed, dismissed, ended): Status.
    """
    fields: dict[str, Any] = {}
    fields["compound"] = compound
    if end is not None:
        fields["end"] = end
    fields["manager"] = manager
    fields["mode"] = mode
    if selection is not None:
        fields["selection"] = selection
    fields["start"] = start
    fields["status"] = status
    return node.operation("registry.appoint", doc, **fields)


def registry_inspect(node: Node, *, compound: str, date: str, note: str, results: dict[str, Any], doc: Optional[str] = None) -> Any:
    """Record an inspection (community).

    Fields:
        compound (text): Which compound.
        date (text): Date.
        note (text): Note.
        results (JSON (object)): Item id → compliant.
    """
    fields: dict[str, Any] = {}
    fields["compound"] = compound
    fields["date"] = date
    fields["note"] = note
    fields["results"] = results
    return node.operation("registry.inspect", doc, **fields)


def registry_score(node: Node, *, comment: str, compound: str, marks: dict[str, Any], role: str, year: int, doc: Optional[str] = None) -> Any:
    """Write the author's own score sheet for a year.

    Fields:
        comment (text): Comment.
        compound (text): Which compound.
        marks (JSON (object)): Marks per item.
        role (one of owners, community, street, department): The role the author scores as.
        year (integer): Year.
    """
    fields: dict[str, Any] = {}
    fields["comment"] = comment
    fields["compound"] = compound
    fields["marks"] = marks
    fields["role"] = role
    fields["year"] = year
    return node.operation("registry.score", doc, **fields)


def ledger_record_service(node: Node, *, activity: str, date: str, hours: float, volunteer: str, evidence: Optional[str] = None, team: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Record service done (by the issuing community).

    Fields:
        activity (text): Activity or post.
        date (text): Local date (must be in the ledger's year).
        evidence (text, optional): Evidence reference.
        hours (number): Hours (> 0, ≤ 24), rounded to the minute.
        team (text, optional): Team.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    fields["activity"] = activity
    fields["date"] = date
    if evidence is not None:
        fields["evidence"] = evidence
    fields["hours"] = hours
    if team is not None:
        fields["team"] = team
    fields["volunteer"] = volunteer
    return node.operation("ledger.record_service", doc, **fields)


def ledger_redeem(node: Node, *, cost: int, item: str, outlet: str, volunteer: str, doc: Optional[str] = None) -> Any:
    """Redeem points (by the volunteer's home community, in its own ledger).

    Fields:
        cost (integer): Cost (> 0).
        item (text): Item.
        outlet (text): Outlet.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    fields["cost"] = cost
    fields["item"] = item
    fields["outlet"] = outlet
    fields["volunteer"] = volunteer
    return node.operation("ledger.redeem", doc, **fields)


def ledger_correct(node: Node, *, delta: int, reason: str, volunteer: str, corrects: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Correct points (by the issuing community).

    Fields:
        corrects (text, optional): Entry corrected.
        delta (integer): Points to add (negative removes).
        reason (text): Why.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    if corrects is not None:
        fields["corrects"] = corrects
    fields["delta"] = delta
    fields["reason"] = reason
    fields["volunteer"] = volunteer
    return node.operation("ledger.correct", doc, **fields)


def ledger_set_rules(node: Node, *, points_per_hour: int, star_thresholds: list[Any], expiry: Optional[Any] = None, hand_points: Optional[bool] = None, doc: Optional[str] = None) -> Any:
    """Replace the points rule and star thresholds (the community).

    Fields:
        expiry (JSON, optional): When earned points expire (default never; see [`store`]).
        hand_points (boolean, optional): Whether hours recorded by hand (not verified by a session's check-in) earn points: false for a new ledger; rules written before this rule existed read as true, so their entries stay valid ([`sessions`]).
        points_per_hour (integer): Points per hour of service.
        star_thresholds (JSON (array)): Earned points needed for 1, 2, 3 … stars (ascending).
    """
    fields: dict[str, Any] = {}
    if expiry is not None:
        fields["expiry"] = expiry
    if hand_points is not None:
        fields["hand_points"] = hand_points
    fields["points_per_hour"] = points_per_hour
    fields["star_thresholds"] = star_thresholds
    return node.operation("ledger.set_rules", doc, **fields)


def ledger_record_services(node: Node, *, rows: list[Any], doc: Optional[str] = None) -> Any:
    """Record many services as one change (an import; by the issuing community or an
    organiser): at most [`MAX_BATCH_ROWS`] rows, each validated on its own — an invalid
    row is reported and the others are written; a row whose source the writer already
    recorded in this ledger is skipped; rows past [`BATCH_BYTES`] are deferred. The
    effect is [`Effect::Imported`] with one [`RowOutcome`] per row, in order; when no row
    is to be written, the error [`LedgerError::NothingToWrite`] carries them.

    Fields:
        rows (JSON (array)): The rows.
    """
    fields: dict[str, Any] = {}
    fields["rows"] = rows
    return node.operation("ledger.record_services", doc, **fields)


def ledger_store_add(node: Node, *, cost: int, name: str, stock: int, doc: Optional[str] = None) -> Any:
    """Add an item to this ledger's points store (the community).

    Fields:
        cost (integer): Cost in points (> 0).
        name (text): Name, e.g. "5 kg rice".
        stock (integer): Units in stock (≤ 100000).
    """
    fields: dict[str, Any] = {}
    fields["cost"] = cost
    fields["name"] = name
    fields["stock"] = stock
    return node.operation("ledger.store_add", doc, **fields)


def ledger_store_restock(node: Node, *, item: str, quantity: int, doc: Optional[str] = None) -> Any:
    """Add units to a store item (the community).

    Fields:
        item (text): The item.
        quantity (integer): Units added (1 to 100000).
    """
    fields: dict[str, Any] = {}
    fields["item"] = item
    fields["quantity"] = quantity
    return node.operation("ledger.store_restock", doc, **fields)


def ledger_redeem_item(node: Node, *, item: str, volunteer: str, outlet: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Redeem a volunteer's points for a store item (the home community, in its own
    ledger): takes one unit out of stock; refused when out of stock or when the balance
    (with expiry) does not cover the item's cost.

    Fields:
        item (text): The item.
        outlet (text, optional): Outlet (default "points store").
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    fields["item"] = item
    if outlet is not None:
        fields["outlet"] = outlet
    fields["volunteer"] = volunteer
    return node.operation("ledger.redeem_item", doc, **fields)


def ledger_open_session(node: Node, *, activity: str, end: int, place: str, start: int, team: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Open a check-in session of an activity or post (the community or an organiser):
    volunteers check in and out with the code shown on the organiser's screen
    ([`sessions`]).

    Fields:
        activity (text): Activity or post.
        end (integer): Planned end (1 minute to 24 hours after the start).
        place (text): Where.
        start (integer): Planned start.
        team (text, optional): Team.
    """
    fields: dict[str, Any] = {}
    fields["activity"] = activity
    fields["end"] = end
    fields["place"] = place
    fields["start"] = start
    if team is not None:
        fields["team"] = team
    return node.operation("ledger.open_session", doc, **fields)


def ledger_check_in(node: Node, *, code: str, session: str, volunteer: str, doc: Optional[str] = None) -> Any:
    """Check a volunteer in with the session's current code (on the node that opened it).

    Fields:
        code (text): The six-digit code shown.
        session (text): Session.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    fields["code"] = code
    fields["session"] = session
    fields["volunteer"] = volunteer
    return node.operation("ledger.check_in", doc, **fields)


def ledger_check_out(node: Node, *, code: str, session: str, volunteer: str, doc: Optional[str] = None) -> Any:
    """Check a volunteer out with the session's current code.

    Fields:
        code (text): The six-digit code shown.
        session (text): Session.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    fields["code"] = code
    fields["session"] = session
    fields["volunteer"] = volunteer
    return node.operation("ledger.check_out", doc, **fields)


def ledger_close_session(node: Node, *, session: str, doc: Optional[str] = None) -> Any:
    """Close a session: check out who is still in and write one verified service record
    per volunteer (again: only the records still missing).

    Fields:
        session (text): Session.
    """
    fields: dict[str, Any] = {}
    fields["session"] = session
    return node.operation("ledger.close_session", doc, **fields)


def ledger_record_session_hours(node: Node, *, hours: float, session: str, volunteer: str, evidence: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Record hours by hand for a session (labelled by hand, at most its planned duration).

    Fields:
        evidence (text, optional): Evidence reference.
        hours (number): Hours (> 0, ≤ the planned duration).
        session (text): Session.
        volunteer (text): Volunteer.
    """
    fields: dict[str, Any] = {}
    if evidence is not None:
        fields["evidence"] = evidence
    fields["hours"] = hours
    fields["session"] = session
    fields["volunteer"] = volunteer
    return node.operation("ledger.record_session_hours", doc, **fields)


def ledger_decline(node: Node, *, entry: str, reason: str, doc: Optional[str] = None) -> Any:
    """Decline a wrong service record with a reason (the entry's issuer or the community):
    kept and shown, counted nowhere.

    Fields:
        entry (text): The entry.
        reason (text): Why.
    """
    fields: dict[str, Any] = {}
    fields["entry"] = entry
    fields["reason"] = reason
    return node.operation("ledger.decline", doc, **fields)


def resource_delegate(node: Node, *, block: dict[str, Any], delegate: str, doc: Optional[str] = None) -> Any:
    """Owner: hand a weekly block to a delegate, who then decides the slots inside it.

    Fields:
        block (JSON (object)): The block; it must not intersect another delegated block.
        delegate (text): The delegate, by its certified scope (e.g. `beishi/dianye/state-grid`).
    """
    fields: dict[str, Any] = {}
    fields["block"] = block
    fields["delegate"] = delegate
    return node.operation("resource.delegate", doc, **fields)


def resource_request(node: Node, *, alternates: list[Any], attendees: int, booker: str, purpose: str, slot: dict[str, Any], contact: Optional[str] = None, organisation: Optional[str] = None, recurrence: Optional[dict[str, Any]] = None, doc: Optional[str] = None) -> Any:
    """Anyone: request a booking (numbered with the author's organisation).

    Fields:
        alternates (JSON (array)): Acceptable other slots, in order of preference (at most [`MAX_ALTERNATES`]).
        attendees (integer): Expected attendance.
        booker (text): The named responsible person (required). Personal data: in a document only its masked public view ([`crate::personal::mask_name`]); the full name is kept in a personal record read by the resource owner and the requesting organisation.
        contact (text, optional): How to reach the booker. Personal data: never in a document (see `booker`).
        organisation (text, optional): The organising group, e.g. "Dianye reading club".
        purpose (text): What the room is for (required).
        recurrence (JSON (object), optional): Weekly repetition of whichever slot is confirmed.
        slot (JSON (object)): The wished slot (first occurrence).
    """
    fields: dict[str, Any] = {}
    fields["alternates"] = alternates
    fields["attendees"] = attendees
    fields["booker"] = booker
    if contact is not None:
        fields["contact"] = contact
    if organisation is not None:
        fields["organisation"] = organisation
    fields["purpose"] = purpose
    if recurrence is not None:
        fields["recurrence"] = recurrence
    fields["slot"] = slot
    return node.operation("resource.request", doc, **fields)


def resource_confirm(node: Node, *, booking: str, doc: Optional[str] = None) -> Any:
    """Arbiter: confirm the first candidate slot that fits.

    Fields:
        booking (text): The booking.
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    return node.operation("resource.confirm", doc, **fields)


def resource_reject(node: Node, *, booking: str, reason: str, doc: Optional[str] = None) -> Any:
    """Arbiter: decline.

    Fields:
        booking (text): The booking.
        reason (text): Why.
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["reason"] = reason
    return node.operation("resource.reject", doc, **fields)


def resource_waitlist(node: Node, *, booking: str, doc: Optional[str] = None) -> Any:
    """Arbiter: keep waiting; [`ResourceOp::PromoteWaitlist`] confirms it when a slot frees.

    Fields:
        booking (text): The booking.
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    return node.operation("resource.waitlist", doc, **fields)


def resource_revoke(node: Node, *, booking: str, reason: str, doc: Optional[str] = None) -> Any:
    """Arbiter of the confirmed slot, or the owner: withdraw a confirmation; final.

    Fields:
        booking (text): The booking.
        reason (text): Why (e.g. misuse of the room).
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["reason"] = reason
    return node.operation("resource.revoke", doc, **fields)


def resource_cancel(node: Node, *, booking: str, reason: str, doc: Optional[str] = None) -> Any:
    """Requesting organisation: cancel; final.

    Fields:
        booking (text): The booking.
        reason (text): Why (may be empty).
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["reason"] = reason
    return node.operation("resource.cancel", doc, **fields)


def resource_bar(node: Node, *, reason: str, who: Any, doc: Optional[str] = None) -> Any:
    """Owner: bar an organisation or a named booker or group.

    Fields:
        reason (text): Why.
        who (JSON): Who.
    """
    fields: dict[str, Any] = {}
    fields["reason"] = reason
    fields["who"] = who
    return node.operation("resource.bar", doc, **fields)


def resource_promote_waitlist(node: Node, *, doc: Optional[str] = None) -> Any:
    """Arbiter: confirm waitlisted requests, oldest first, where a slot is now free.
    """
    fields: dict[str, Any] = {}
    return node.operation("resource.promote_waitlist", doc, **fields)


def resource_place_order(node: Node, *, date: str, household: str, items: list[Any], portions: int, doc: Optional[str] = None) -> Any:
    """Anyone (kitchens only): order meals for a service date before its cut-off.

    Fields:
        date (text): The local service date.
        household (text): The household, e.g. "3-2-401".
        items (JSON (array)): Dishes.
        portions (integer): Portions.
    """
    fields: dict[str, Any] = {}
    fields["date"] = date
    fields["household"] = household
    fields["items"] = items
    fields["portions"] = portions
    return node.operation("resource.place_order", doc, **fields)


def resource_accept_order(node: Node, *, order: str, doc: Optional[str] = None) -> Any:
    """Kitchen operator: accept an order placed before the cut-off, within daily capacity.

    Fields:
        order (text): The order.
    """
    fields: dict[str, Any] = {}
    fields["order"] = order
    return node.operation("resource.accept_order", doc, **fields)


def resource_refuse_order(node: Node, *, order: str, reason: str, doc: Optional[str] = None) -> Any:
    """Kitchen operator: refuse a placed order.

    Fields:
        order (text): The order.
        reason (text): Why.
    """
    fields: dict[str, Any] = {}
    fields["order"] = order
    fields["reason"] = reason
    return node.operation("resource.refuse_order", doc, **fields)


def resource_mark_collected(node: Node, *, collected: bool, order: str, doc: Optional[str] = None) -> Any:
    """Kitchen operator: record whether an accepted order was collected.

    Fields:
        collected (boolean): Collected or not.
        order (text): The order.
    """
    fields: dict[str, Any] = {}
    fields["collected"] = collected
    fields["order"] = order
    return node.operation("resource.mark_collected", doc, **fields)


def resource_cancel_order(node: Node, *, order: str, doc: Optional[str] = None) -> Any:
    """Placing organisation: cancel an order before the cut-off; final.

    Fields:
        order (text): The order.
    """
    fields: dict[str, Any] = {}
    fields["order"] = order
    return node.operation("resource.cancel_order", doc, **fields)


def resource_set_spec(node: Node, *, spec: dict[str, Any], doc: Optional[str] = None) -> Any:
    """Owner: change the resource's rules — name, capacity, opening hours, blackout dates,
    lead time, longest booking, house rules, a kitchen's menu and cut-off. Its kind and
    time zone stay (they are the resource's identity and the meaning of every slot);
    bookings already decided stand, new requests are checked against the new rules.

    Fields:
        spec (JSON (object)): The new rules.
    """
    fields: dict[str, Any] = {}
    fields["spec"] = spec
    return node.operation("resource.set_spec", doc, **fields)


def resource_set_activity(node: Node, *, booking: str, capacity: int, deadline: int, title: str, waitlist: Optional[int] = None, doc: Optional[str] = None) -> Any:
    """Organiser (the booking's requester): open or change the activity on a confirmed
    booking — its title, places, waitlist length and sign-up deadline (at the latest its
    start).

    Fields:
        booking (text): The booking.
        capacity (integer): Places (1..=10000).
        deadline (integer): Sign-ups close at this instant.
        title (text): Title, e.g. "Paper-cutting class".
        waitlist (integer, optional): How many more sign-ups wait for a place once the places are full.
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["capacity"] = capacity
    fields["deadline"] = deadline
    fields["title"] = title
    if waitlist is not None:
        fields["waitlist"] = waitlist
    return node.operation("resource.set_activity", doc, **fields)


def resource_sign_up(node: Node, *, booking: str, participant: str, doc: Optional[str] = None) -> Any:
    """Organiser: sign a household (`dianye:h301`) or a volunteer (`dianye:7`) up for the
    activity: a place while there is one, else the waitlist; refused after the deadline
    or when places and waitlist are full.

    Fields:
        booking (text): The booking.
        participant (text): Who: a household pseudonym or a volunteer id (no names).
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["participant"] = participant
    return node.operation("resource.sign_up", doc, **fields)


def resource_cancel_sign_up(node: Node, *, booking: str, participant: str, doc: Optional[str] = None) -> Any:
    """Organiser: cancel a sign-up; the first on the waitlist (earliest, then smallest id)
    takes the place.

    Fields:
        booking (text): The booking.
        participant (text): Who.
    """
    fields: dict[str, Any] = {}
    fields["booking"] = booking
    fields["participant"] = participant
    return node.operation("resource.cancel_sign_up", doc, **fields)


def wishes_post(node: Node, *, category: str, channel: Any, kind: str, text: str, title: str, place: Optional[str] = None, resident: Optional[dict[str, Any]] = None, doc: Optional[str] = None) -> Any:
    """Post an item.

    Fields:
        category (text): Category.
        channel (JSON): Channel.
        kind (one of wish, offer, suggestion, problem): Kind.
        place (text, optional): Place.
        resident (JSON (object), optional): The resident it is about (personal data: kept out of the document, held only by the posting community and the organisations assigned to it).
        text (text): Text.
        title (text): Title.
    """
    fields: dict[str, Any] = {}
    fields["category"] = category
    fields["channel"] = channel
    fields["kind"] = kind
    if place is not None:
        fields["place"] = place
    if resident is not None:
        fields["resident"] = resident
    fields["text"] = text
    fields["title"] = title
    return node.operation("wishes.post", doc, **fields)


def wishes_claim(node: Node, *, note: str, wish: str, volunteer: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Offer to take up a wish or offer.

    Fields:
        note (text): Note.
        volunteer (text, optional): Volunteer, if an individual.
        wish (text): The item.
    """
    fields: dict[str, Any] = {}
    fields["note"] = note
    if volunteer is not None:
        fields["volunteer"] = volunteer
    fields["wish"] = wish
    return node.operation("wishes.claim", doc, **fields)


def wishes_assign(node: Node, *, claim: str, wish: str, doc: Optional[str] = None) -> Any:
    """Assign a claim (the community).

    Fields:
        claim (text): The claim.
        wish (text): The item.
    """
    fields: dict[str, Any] = {}
    fields["claim"] = claim
    fields["wish"] = wish
    return node.operation("wishes.assign", doc, **fields)


def wishes_release(node: Node, *, claim: str, wish: str, doc: Optional[str] = None) -> Any:
    """Release an assignment (the community); the item returns to published/claimed.

    Fields:
        claim (text): The claim.
        wish (text): The item.
    """
    fields: dict[str, Any] = {}
    fields["claim"] = claim
    fields["wish"] = wish
    return node.operation("wishes.release", doc, **fields)


def wishes_advance(node: Node, *, stage: Any, wish: str, doc: Optional[str] = None) -> Any:
    """Record a lifecycle step.

    Fields:
        stage (JSON): The step.
        wish (text): The item.
    """
    fields: dict[str, Any] = {}
    fields["stage"] = stage
    fields["wish"] = wish
    return node.operation("wishes.advance", doc, **fields)


def wishes_claim_team(node: Node, *, lead: str, members: list[Any], wish: str, note: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Offer to take up a wish or offer as a team of volunteers with one accountable lead
    (counted once in the yearly counts).

    Fields:
        lead (text): The accountable volunteer (one of the members).
        members (JSON (array)): The members (2 to 50, distinct).
        note (text, optional): Note.
        wish (text): The item.
    """
    fields: dict[str, Any] = {}
    fields["lead"] = lead
    fields["members"] = members
    if note is not None:
        fields["note"] = note
    fields["wish"] = wish
    return node.operation("wishes.claim_team", doc, **fields)


def volunteers_add_team(node: Node, *, code: str, name: str, doc: Optional[str] = None) -> Any:
    """Add or rename a volunteer team (the community).

    Fields:
        code (text): Team code: lowercase letters, digits, '-' and '_' (e.g. `patrol`).
        name (text): Display name.
    """
    fields: dict[str, Any] = {}
    fields["code"] = code
    fields["name"] = name
    return node.operation("volunteers.add_team", doc, **fields)


def volunteers_pair(node: Node, *, unit: str, note: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Pair a unit with the community: its in-service party members report here (双报到).

    Fields:
        note (text, optional): Note.
        unit (text): The unit, by its certified scope (e.g. `beishi/dianye/state-grid`).
    """
    fields: dict[str, Any] = {}
    if note is not None:
        fields["note"] = note
    fields["unit"] = unit
    return node.operation("volunteers.pair", doc, **fields)


def volunteers_unpair(node: Node, *, unit: str, doc: Optional[str] = None) -> Any:
    """End a unit's pairing.

    Fields:
        unit (text): The unit.
    """
    fields: dict[str, Any] = {}
    fields["unit"] = unit
    return node.operation("volunteers.unpair", doc, **fields)


def volunteers_register(node: Node, *, kind: str, name: str, id_number: Optional[str] = None, phone: Optional[str] = None, posts: Optional[list[Any]] = None, teams: Optional[list[Any]] = None, unit: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Register a volunteer (the community). Name, phone and ID number are personal data,
    held only by this community's nodes; the document keeps the masked name.

    Fields:
        id_number (text, optional): Resident ID number.
        kind (one of resident, in_service): Resident or in-service party member.
        name (text): Full name.
        phone (text, optional): Phone (unique among the community's current volunteers).
        posts (JSON (array), optional): Posts (an in-service member holds at least one).
        teams (JSON (array), optional): Teams (codes of known teams).
        unit (text, optional): The reporting unit (in-service members; a paired unit).
    """
    fields: dict[str, Any] = {}
    if id_number is not None:
        fields["id_number"] = id_number
    fields["kind"] = kind
    fields["name"] = name
    if phone is not None:
        fields["phone"] = phone
    if posts is not None:
        fields["posts"] = posts
    if teams is not None:
        fields["teams"] = teams
    if unit is not None:
        fields["unit"] = unit
    return node.operation("volunteers.register", doc, **fields)


def volunteers_update(node: Node, *, kind: str, volunteer: str, posts: Optional[list[Any]] = None, teams: Optional[list[Any]] = None, unit: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Change a volunteer's type, teams and posts.

    Fields:
        kind (one of resident, in_service): Resident or in-service party member.
        posts (JSON (array), optional): Posts.
        teams (JSON (array), optional): Teams.
        unit (text, optional): The reporting unit (in-service members).
        volunteer (text): The volunteer.
    """
    fields: dict[str, Any] = {}
    fields["kind"] = kind
    if posts is not None:
        fields["posts"] = posts
    if teams is not None:
        fields["teams"] = teams
    if unit is not None:
        fields["unit"] = unit
    fields["volunteer"] = volunteer
    return node.operation("volunteers.update", doc, **fields)


def volunteers_set_status(node: Node, *, status: str, volunteer: str, reason: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Set a volunteer's status: active, paused or left (moving is `release`).

    Fields:
        reason (text, optional): Why.
        status (one of active, paused, moved, left): The new status.
        volunteer (text): The volunteer.
    """
    fields: dict[str, Any] = {}
    if reason is not None:
        fields["reason"] = reason
    fields["status"] = status
    fields["volunteer"] = volunteer
    return node.operation("volunteers.set_status", doc, **fields)


def volunteers_release(node: Node, *, to: str, volunteer: str, doc: Optional[str] = None) -> Any:
    """Let a volunteer move to another community (the origin): writes the signed release
    and sets the volunteer `moved`. The destination then runs `move_in`.

    Fields:
        to (text): The destination community (`street/community`).
        volunteer (text): The volunteer.
    """
    fields: dict[str, Any] = {}
    fields["to"] = to
    fields["volunteer"] = volunteer
    return node.operation("volunteers.release", doc, **fields)


def volunteers_move_in(node: Node, *, from_: str, kind: str, name: str, id_number: Optional[str] = None, phone: Optional[str] = None, posts: Optional[list[Any]] = None, release: Optional[str] = None, teams: Optional[list[Any]] = None, unit: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Register a volunteer arriving from another community (the destination), under the
    origin's release: found in the origin's registry when held here, else given as
    `release` (its JSON, as `volunteers release` prints it).

    Fields:
        from (text): The volunteer's id at the origin.
        id_number (text, optional): Resident ID number.
        kind (one of resident, in_service): Resident or in-service party member.
        name (text): Full name.
        phone (text, optional): Phone.
        posts (JSON (array), optional): Posts.
        release (text, optional): The origin's signed release as JSON (default: from the origin's registry).
        teams (JSON (array), optional): Teams.
        unit (text, optional): The reporting unit (in-service members).
    """
    fields: dict[str, Any] = {}
    fields["from"] = from_
    if id_number is not None:
        fields["id_number"] = id_number
    fields["kind"] = kind
    fields["name"] = name
    if phone is not None:
        fields["phone"] = phone
    if posts is not None:
        fields["posts"] = posts
    if release is not None:
        fields["release"] = release
    if teams is not None:
        fields["teams"] = teams
    if unit is not None:
        fields["unit"] = unit
    return node.operation("volunteers.move_in", doc, **fields)


def volunteers_import_roster(node: Node, *, rows: list[Any], doc: Optional[str] = None) -> Any:
    """Register the volunteers of a roster (a spreadsheet's rows) as one change, each row
    validated on its own like `register` (identity kept at home only); a row naming a
    volunteer already registered (its id, or the same person by phone or ID number) is
    skipped. See [`import`].

    Fields:
        rows (JSON (array)): The rows, at most [`MAX_ROSTER_ROWS`].
    """
    fields: dict[str, Any] = {}
    fields["rows"] = rows
    return node.operation("volunteers.import_roster", doc, **fields)


def volunteers_set_rota(node: Node, *, code: str, from_: str, shifts: list[Any], title: str, team: Optional[str] = None, until: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Create or change a duty rota (the community): recurring shifts in local time with
    weekdays and volunteers needed, e.g. daily 07:00–08:00 bike tidying or 24 h
    monitoring in six 4-hour shifts. Shifts are named by their index (from 0).

    Fields:
        code (text): Rota code: lowercase letters, digits, '-' and '_' (e.g. `bikes`).
        from (text): First local date.
        shifts (JSON (array)): The shifts.
        team (text, optional): The team serving it (a team of the registry).
        title (text): Title, e.g. "Bike tidying".
        until (text, optional): Last local date (none: open-ended).
    """
    fields: dict[str, Any] = {}
    fields["code"] = code
    fields["from"] = from_
    fields["shifts"] = shifts
    if team is not None:
        fields["team"] = team
    fields["title"] = title
    if until is not None:
        fields["until"] = until
    return node.operation("volunteers.set_rota", doc, **fields)


def volunteers_assign_shift(node: Node, *, rota: str, shift: int, volunteer: str, date: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Assign an active volunteer to a shift: every occurrence, or one date.

    Fields:
        date (text, optional): One occurrence's date (none: every occurrence).
        rota (text): Rota code.
        shift (integer): Shift index (from 0).
        volunteer (text): The volunteer.
    """
    fields: dict[str, Any] = {}
    if date is not None:
        fields["date"] = date
    fields["rota"] = rota
    fields["shift"] = shift
    fields["volunteer"] = volunteer
    return node.operation("volunteers.assign_shift", doc, **fields)


def volunteers_unassign_shift(node: Node, *, rota: str, shift: int, volunteer: str, date: Optional[str] = None, doc: Optional[str] = None) -> Any:
    """Take a volunteer off a shift: every occurrence, or one date.

    Fields:
        date (text, optional): One occurrence's date (none: the recurring assignment).
        rota (text): Rota code.
        shift (integer): Shift index (from 0).
        volunteer (text): The volunteer.
    """
    fields: dict[str, Any] = {}
    if date is not None:
        fields["date"] = date
    fields["rota"] = rota
    fields["shift"] = shift
    fields["volunteer"] = volunteer
    return node.operation("volunteers.unassign_shift", doc, **fields)


def volunteers_request_swap(node: Node, *, date: str, from_: str, rota: str, shift: int, to: str, doc: Optional[str] = None) -> Any:
    """Record a volunteer's request to hand one occurrence to another, active volunteer;
    it takes effect when the community approves it (`decide_swap`).

    Fields:
        date (text): The occurrence's date.
        from (text): Who gives it away (covers the occurrence).
        rota (text): Rota code.
        shift (integer): Shift index.
        to (text): Who takes it (active).
    """
    fields: dict[str, Any] = {}
    fields["date"] = date
    fields["from"] = from_
    fields["rota"] = rota
    fields["shift"] = shift
    fields["to"] = to
    return node.operation("volunteers.request_swap", doc, **fields)


def volunteers_decide_swap(node: Node, *, approve: bool, rota: str, swap: str, doc: Optional[str] = None) -> Any:
    """Approve or decline a swap request (the community, once).

    Fields:
        approve (boolean): Approve (true) or decline.
        rota (text): Rota code.
        swap (text): The swap's id (as `request_swap` reported it).
    """
    fields: dict[str, Any] = {}
    fields["approve"] = approve
    fields["rota"] = rota
    fields["swap"] = swap
    return node.operation("volunteers.decide_swap", doc, **fields)


def volunteers_mark_served(node: Node, *, date: str, rota: str, shift: int, volunteers: list[Any], doc: Optional[str] = None) -> Any:
    """Mark an ended occurrence served by these volunteers; `linli volunteers rota record`
    then writes their service records to the ledger.

    Fields:
        date (text): The occurrence's date.
        rota (text): Rota code.
        shift (integer): Shift index.
        volunteers (JSON (array)): Who served.
    """
    fields: dict[str, Any] = {}
    fields["date"] = date
    fields["rota"] = rota
    fields["shift"] = shift
    fields["volunteers"] = volunteers
    return node.operation("volunteers.mark_served", doc, **fields)
