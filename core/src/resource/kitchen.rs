//! Shared kitchen: meal orders per service day, a cut-off on the previous evening and a
//! daily capacity in portions, decided by the kitchen operator (the resource's owner).
//!
//! An order is two records written in one change by the placing organisation: the order at
//! `orders/<order>` and its listing under the service date at `order_days/<date>/<order>`,
//! so that one day's orders are read without scanning every order of the kitchen's life
//! (140 a day, 51,100 a year). An order counts only if both exist and agree on the date;
//! an order without its listing is unknown and can never be accepted.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{
    KitchenDay, KitchenSpec, Order, OrderCancellation, OrderDecision, OrderStatus, OrderVerdict,
    OrderView, Planned, Resource, ResourceError, keyed,
};
use crate::document::Put;
use crate::ids::OrderId;
use crate::kind::{Ctx, Effect};
use crate::time::{TimeError, Timestamp};

/// The listing of an order under its service date (`order_days/<date>/<order>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderListing {}

fn listing_key(date: Date, order: &OrderId) -> String {
    format!("{date}/{order}")
}

fn kitchen<'r>(r: &'r Resource<'_>) -> Result<&'r KitchenSpec, ResourceError> {
    r.spec()
        .kitchen
        .as_ref()
        .ok_or_else(|| ResourceError::NotAKitchen {
            resource: r.spec().name.clone(),
        })
}

fn order_status(decision: Option<&OrderDecision>, cancelled: bool) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    match decision.map(|d| &d.verdict) {
        None => OrderStatus::Placed,
        Some(OrderVerdict::Accepted) => OrderStatus::Accepted,
        Some(OrderVerdict::Refused { reason }) => OrderStatus::Refused {
            reason: reason.clone(),
        },
        Some(OrderVerdict::Collected) => OrderStatus::Collected,
        Some(OrderVerdict::Uncollected) => OrderStatus::Uncollected,
    }
}

impl Resource<'_> {
    /// When ordering for service date `date` closes: the kitchen's cut-off time on the
    /// previous local day.
    pub fn cutoff(&self, date: Date) -> Result<Timestamp, ResourceError> {
        let k = kitchen(self)?;
        let eve = date
            .yesterday()
            .map_err(|e| TimeError::OutOfRange(format!("{date}: {e}")))?;
        Ok(Timestamp::from_local(eve, k.cutoff, self.zone())?)
    }

    /// All meal orders with their statuses, in id order (reads every order ever placed).
    pub fn all_orders(&self) -> Vec<OrderView> {
        let doc = self.document();
        let decisions: BTreeMap<OrderId, OrderDecision> = keyed(doc, "order_decisions");
        let cancelled: BTreeMap<OrderId, OrderCancellation> = keyed(doc, "order_cancellations");
        keyed::<OrderId, Order>(doc, "orders")
            .into_iter()
            .filter(|(id, o)| self.listed(o.date, id))
            .map(|(id, order)| {
                let status = order_status(decisions.get(&id), cancelled.contains_key(&id));
                OrderView { id, order, status }
            })
            .collect()
    }

    fn listed(&self, date: Date, order: &OrderId) -> bool {
        let key = listing_key(date, order);
        matches!(
            self.document().get::<OrderListing>("order_days", &key),
            Ok(Some(_))
        )
    }

    /// One meal order.
    pub fn order(&self, id: &OrderId) -> Option<OrderView> {
        let doc = self.document();
        let key = id.to_string();
        let order: Order = doc.get("orders", &key).ok().flatten()?;
        if !self.listed(order.date, id) {
            return None;
        }
        let decision: Option<OrderDecision> = doc.get("order_decisions", &key).ok().flatten();
        let cancelled = doc
            .get::<OrderCancellation>("order_cancellations", &key)
            .ok()
            .flatten()
            .is_some();
        Some(OrderView {
            id: id.clone(),
            order,
            status: order_status(decision.as_ref(), cancelled),
        })
    }

    /// The meal orders for service date `date`, in id order.
    pub fn orders(&self, date: Date) -> Vec<OrderView> {
        self.document()
            .records_with_prefix::<OrderListing>("order_days", &format!("{date}/"))
            .into_iter()
            .filter_map(|(k, _)| k.split_once('/')?.1.parse::<OrderId>().ok())
            .filter_map(|id| self.order(&id))
            .filter(|o| o.order.date == date)
            .collect()
    }

    /// Portions accepted for `date` (accepted, collected or uncollected orders).
    pub fn accepted_portions(&self, date: Date) -> u32 {
        sum(&self.orders(date), OrderStatus::holds_portions)
    }

    /// The summary of one service day: cut-off, capacity, accepted and waiting portions and
    /// the orders.
    pub fn kitchen_day(&self, date: Date) -> Result<KitchenDay, ResourceError> {
        let k = kitchen(self)?;
        let orders = self.orders(date);
        Ok(KitchenDay {
            date,
            service: k.service.clone(),
            cutoff: self.cutoff(date)?,
            capacity: k.daily_capacity,
            accepted_portions: sum(&orders, OrderStatus::holds_portions),
            waiting_portions: sum(&orders, |s| *s == OrderStatus::Placed),
            orders,
        })
    }

    /// Kitchen part of [`Resource::check_invariants`].
    pub(super) fn check_kitchen_invariants(&self) -> Result<(), String> {
        let Some(k) = &self.spec().kitchen else {
            return Ok(());
        };
        let mut per_day: BTreeMap<Date, u32> = BTreeMap::new();
        for o in self
            .all_orders()
            .iter()
            .filter(|o| o.status.holds_portions())
        {
            let cutoff = self.cutoff(o.order.date).map_err(|e| e.to_string())?;
            if o.order.placed_at >= cutoff {
                return Err(format!(
                    "order {} was accepted but placed after the cut-off",
                    o.id
                ));
            }
            *per_day.entry(o.order.date).or_default() += o.order.portions;
        }
        match per_day.into_iter().find(|(_, n)| *n > k.daily_capacity) {
            Some((date, n)) => Err(format!(
                "{n} portions accepted for {date}, above the daily capacity of {}",
                k.daily_capacity
            )),
            None => Ok(()),
        }
    }
}

fn sum(orders: &[OrderView], pick: impl Fn(&OrderStatus) -> bool) -> u32 {
    orders
        .iter()
        .filter(|o| pick(&o.status))
        .map(|o| o.order.portions)
        .fold(0, u32::saturating_add)
}

fn after_cutoff(
    r: &Resource<'_>,
    action: &'static str,
    date: Date,
    at: Timestamp,
) -> Result<(), ResourceError> {
    let cutoff = r.cutoff(date)?;
    if at >= cutoff {
        return Err(ResourceError::AfterCutoff {
            action,
            date,
            cutoff: cutoff.display_in(r.zone()),
            at: at.display_in(r.zone()),
        });
    }
    Ok(())
}

fn within_capacity(r: &Resource<'_>, date: Date, portions: u32) -> Result<(), ResourceError> {
    let capacity = kitchen(r)?.daily_capacity;
    let accepted = r.accepted_portions(date);
    if accepted.saturating_add(portions) > capacity {
        return Err(ResourceError::OverDailyCapacity {
            date,
            accepted,
            portions,
            capacity,
        });
    }
    Ok(())
}

pub(super) fn place(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    household: String,
    date: Date,
    portions: u32,
    items: Vec<String>,
) -> Planned {
    let k = kitchen(r)?;
    if household.trim().is_empty() {
        return Err(ResourceError::EmptyField { field: "household" });
    }
    if portions == 0 {
        return Err(ResourceError::NoPortions);
    }
    if !k.menu.is_empty()
        && let Some(item) = items.iter().find(|i| !k.menu.contains(i))
    {
        return Err(ResourceError::NotOnMenu {
            item: item.clone(),
            menu: k.menu.join(", "),
        });
    }
    if r.spec().is_blackout(date) {
        return Err(ResourceError::KitchenClosed { date });
    }
    after_cutoff(r, "placing an order", date, ctx.now)?;
    within_capacity(r, date, portions)?;
    let id = OrderId(ctx.author.next_id(r.document(), "orders", ""));
    let msg = format!(
        "order {id}: {portions} × {} on {date} for {household}",
        k.service
    );
    let order = Order {
        household,
        date,
        portions,
        items,
        placed_at: ctx.now,
        by: ctx.scope.clone(),
    };
    let puts = vec![
        Put::new("order_days", listing_key(date, &id), &OrderListing {}),
        Put::new("orders", id.to_string(), &order),
    ];
    Ok((puts, Effect::Order(id), msg))
}

/// The order, checked to be in one of `allowed` statuses, for an operator action.
fn operator_order(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    order: &OrderId,
    action: &'static str,
    allowed: fn(&OrderStatus) -> bool,
) -> Result<OrderView, ResourceError> {
    kitchen(r)?;
    r.require_owner(ctx.scope, "decide meal orders")?;
    let v = r
        .order(order)
        .ok_or_else(|| ResourceError::UnknownOrder(order.clone()))?;
    if !allowed(&v.status) {
        return Err(ResourceError::OrderStatus {
            order: order.clone(),
            action,
            status: v.status.label(),
        });
    }
    Ok(v)
}

fn decide(ctx: &Ctx<'_>, order: OrderId, verdict: OrderVerdict, msg: String) -> Planned {
    let d = OrderDecision {
        verdict,
        at: ctx.now,
    };
    Ok((
        vec![Put::new("order_decisions", order.to_string(), &d)],
        Effect::Done,
        msg,
    ))
}

pub(super) fn accept(r: &Resource<'_>, ctx: &Ctx<'_>, order: OrderId) -> Planned {
    let v = operator_order(r, ctx, &order, "accept", |s| *s == OrderStatus::Placed)?;
    after_cutoff(r, "placing the order", v.order.date, v.order.placed_at)?;
    within_capacity(r, v.order.date, v.order.portions)?;
    let msg = format!("accept order {order}");
    decide(ctx, order, OrderVerdict::Accepted, msg)
}

pub(super) fn refuse(r: &Resource<'_>, ctx: &Ctx<'_>, order: OrderId, reason: String) -> Planned {
    if reason.trim().is_empty() {
        return Err(ResourceError::EmptyField { field: "reason" });
    }
    operator_order(r, ctx, &order, "refuse", |s| *s == OrderStatus::Placed)?;
    let msg = format!("refuse order {order}: {reason}");
    decide(ctx, order, OrderVerdict::Refused { reason }, msg)
}

pub(super) fn collected(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    order: OrderId,
    collected: bool,
) -> Planned {
    operator_order(r, ctx, &order, "mark as collected", |s| {
        matches!(
            s,
            OrderStatus::Accepted | OrderStatus::Collected | OrderStatus::Uncollected
        )
    })?;
    let (verdict, word) = if collected {
        (OrderVerdict::Collected, "collected")
    } else {
        (OrderVerdict::Uncollected, "uncollected")
    };
    decide(ctx, order.clone(), verdict, format!("order {order} {word}"))
}

pub(super) fn cancel(r: &Resource<'_>, ctx: &Ctx<'_>, order: OrderId) -> Planned {
    kitchen(r)?;
    let me = ctx.scope;
    let v = r
        .order(&order)
        .ok_or_else(|| ResourceError::UnknownOrder(order.clone()))?;
    if v.order.by != *me {
        return Err(ResourceError::NotAllowed {
            who: me.clone(),
            action: format!("cancel order {order}"),
            allowed: format!("the placing organisation {}", v.order.by),
        });
    }
    if !matches!(v.status, OrderStatus::Placed | OrderStatus::Accepted) {
        return Err(ResourceError::OrderStatus {
            order,
            action: "cancel",
            status: v.status.label(),
        });
    }
    after_cutoff(r, "cancelling an order", v.order.date, ctx.now)?;
    let c = OrderCancellation { at: ctx.now };
    let msg = format!("cancel order {order}");
    Ok((
        vec![Put::new("order_cancellations", order.to_string(), &c)],
        Effect::Done,
        msg,
    ))
}
