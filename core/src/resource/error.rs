//! Errors of resource operations. Every message names the concrete values that were wrong.

use jiff::civil::Date;

use crate::document::DocError;
use crate::ids::{BookingId, DelegationId, OrderId, Scope};
use crate::time::TimeError;

/// Why a resource operation (or a resource specification) was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    /// Time arithmetic or an invalid slot (e.g. a slot that ends before it starts).
    #[error(transparent)]
    Time(#[from] TimeError),
    /// The document could not be read.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The resource specification is invalid.
    #[error("invalid resource specification: {0}")]
    InvalidSpec(String),
    /// The document holds no resource specification at `meta/spec`.
    #[error("the document has no resource specification (meta/spec)")]
    MissingSpec,
    /// The writer may not perform this action.
    #[error("{who} may not {action}: only {allowed} may")]
    NotAllowed {
        /// The writing organisation.
        who: Scope,
        /// What it tried.
        action: String,
        /// Who may.
        allowed: String,
    },
    /// A required text field is empty.
    #[error("{field} is required and must not be empty")]
    EmptyField {
        /// The field.
        field: &'static str,
    },
    /// No booking request with this id.
    #[error("unknown booking {0}")]
    UnknownBooking(BookingId),
    /// A booking needs at least one attendee.
    #[error("a booking needs at least 1 attendee (got 0)")]
    NoAttendees,
    /// More attendees than the resource holds.
    #[error("{attendees} attendees exceed the capacity of {capacity} persons")]
    OverCapacity {
        /// Expected attendance.
        attendees: u32,
        /// Capacity of the resource.
        capacity: u32,
    },
    /// Too many alternate slots.
    #[error("{count} alternate slots given, at most {max} are allowed")]
    TooManyAlternates {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The weekly recurrence is out of range.
    #[error("a weekly recurrence must repeat for 1 to 52 weeks (got {weeks})")]
    BadRecurrence {
        /// Requested number of weeks.
        weeks: u32,
    },
    /// An exception of a weekly series is not one of its dates (or leaves no occurrence).
    #[error("exception {date} of the weekly series: {reason}")]
    BadException {
        /// The local date.
        date: Date,
        /// What is wrong with it.
        reason: String,
    },
    /// The slot is not inside one opening interval of its local day.
    #[error("slot {slot} is outside opening hours ({hours})")]
    OutsideOpeningHours {
        /// The slot, in local time.
        slot: String,
        /// The opening hours, e.g. `Mon–Fri 08:00–21:00`.
        hours: String,
    },
    /// The slot falls on a blackout date.
    #[error("slot {slot} falls on blackout date {date}")]
    Blackout {
        /// The slot, in local time.
        slot: String,
        /// The blackout date.
        date: Date,
    },
    /// The slot is longer than the longest allowed booking.
    #[error("slot {slot} lasts {minutes} minutes, longer than the maximum of {max} minutes")]
    TooLong {
        /// The slot, in local time.
        slot: String,
        /// Its length.
        minutes: i64,
        /// The maximum.
        max: u32,
    },
    /// The slot starts too soon.
    #[error("slot {slot} starts less than {lead_minutes} minutes after now ({now})")]
    LeadTime {
        /// The slot, in local time.
        slot: String,
        /// Required lead time.
        lead_minutes: u32,
        /// The writer's clock, in local time.
        now: String,
    },
    /// The person or group is barred from booking this resource.
    #[error("{who} is barred from booking this resource: {reason}")]
    Barred {
        /// The barred organisation or booker.
        who: String,
        /// The owner's reason.
        reason: String,
    },
    /// The same organisation or booker is already barred.
    #[error("{who} is already barred")]
    AlreadyBarred {
        /// The barred organisation or booker.
        who: String,
    },
    /// The writer is not the arbiter of the slot.
    #[error("{who} is not the arbiter of slot {slot}: {arbiter}")]
    NotArbiter {
        /// The writer.
        who: Scope,
        /// The slot, in local time.
        slot: String,
        /// Who arbitrates it, in words.
        arbiter: String,
    },
    /// The slot overlaps a confirmed booking.
    #[error("slot {slot} overlaps confirmed booking {other} ({other_slot})")]
    Overlap {
        /// The slot, in local time.
        slot: String,
        /// The confirmed booking.
        other: BookingId,
        /// Its occurrence, in local time.
        other_slot: String,
    },
    /// None of several candidate slots can be confirmed; one failure per candidate.
    #[error("no candidate slot of booking {booking} can be confirmed: {}", list_failures(.failures))]
    NoCandidateFits {
        /// The booking.
        booking: BookingId,
        /// Candidate index (0 = the requested slot, then alternates) and why it failed.
        failures: Vec<(usize, ResourceError)>,
    },
    /// The booking is revoked or cancelled; nothing can change it any more.
    #[error("booking {booking} is already {status}; that is final")]
    Final {
        /// The booking.
        booking: BookingId,
        /// Its status.
        status: &'static str,
    },
    /// The action does not apply to a booking in this status.
    #[error("cannot {action} booking {booking}: it is {status}")]
    WrongStatus {
        /// The booking.
        booking: BookingId,
        /// What was tried.
        action: &'static str,
        /// Its status.
        status: &'static str,
    },
    /// No waitlisted booking fits a free slot now.
    #[error("none of the {waiting} waitlisted bookings fits a free slot that {who} arbitrates")]
    NothingToPromote {
        /// The writer.
        who: Scope,
        /// Number of waitlisted bookings.
        waiting: usize,
    },
    /// A delegation block is invalid.
    #[error("invalid delegation: {0}")]
    InvalidDelegation(String),
    /// A delegation block intersects an existing one.
    #[error("block {block} intersects block {other_block} already delegated as {other}")]
    DelegationOverlap {
        /// The new block.
        block: String,
        /// The existing delegation.
        other: DelegationId,
        /// Its block.
        other_block: String,
    },
    /// Kitchen operations on a resource without a kitchen.
    #[error("resource {resource:?} is not a kitchen")]
    NotAKitchen {
        /// Name of the resource.
        resource: String,
    },
    /// No meal order with this id.
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
    /// A meal order needs at least one portion.
    #[error("an order needs at least 1 portion (got 0)")]
    NoPortions,
    /// An ordered item is not on the menu.
    #[error("{item:?} is not on the menu ({menu})")]
    NotOnMenu {
        /// The item.
        item: String,
        /// The menu.
        menu: String,
    },
    /// The kitchen does not serve on this date.
    #[error("the kitchen is closed on {date} (blackout date)")]
    KitchenClosed {
        /// The service date.
        date: Date,
    },
    /// Placing, cancelling or accepting after the cut-off.
    #[error("{action} at {at} is after the cut-off {cutoff} for {date}")]
    AfterCutoff {
        /// What happened too late, e.g. "placing an order".
        action: &'static str,
        /// The service date.
        date: Date,
        /// The cut-off, in local time.
        cutoff: String,
        /// When it happened, in local time.
        at: String,
    },
    /// Accepting would exceed the daily capacity.
    #[error(
        "{portions} more portions for {date} would exceed the daily capacity: {accepted} of {capacity} already accepted"
    )]
    OverDailyCapacity {
        /// The service date.
        date: Date,
        /// Portions already accepted.
        accepted: u32,
        /// Portions of this order.
        portions: u32,
        /// The daily capacity.
        capacity: u32,
    },
    /// The action does not apply to an order in this status.
    #[error("cannot {action} order {order}: it is {status}")]
    OrderStatus {
        /// The order.
        order: OrderId,
        /// What was tried.
        action: &'static str,
        /// Its status.
        status: &'static str,
    },
    /// An activity sign-up was refused (see `signups.rs`; boxed: errors stay small).
    #[error(transparent)]
    Signup(Box<super::SignupError>),
}

impl From<super::SignupError> for ResourceError {
    fn from(e: super::SignupError) -> Self {
        ResourceError::Signup(Box::new(e))
    }
}

fn list_failures(failures: &[(usize, ResourceError)]) -> String {
    failures
        .iter()
        .map(|(i, e)| match i {
            0 => format!("requested slot: {e}"),
            _ => format!("alternate {i}: {e}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ResourceError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use ResourceError as E;
        match self {
            E::Time(_) | E::Doc(_) => crate::class::ErrorClass::Malformed,
            E::Signup(e) => e.class(),
            E::UnknownBooking(_) | E::UnknownOrder(_) => crate::class::ErrorClass::NotFound,
            E::NotAllowed { .. } | E::NotArbiter { .. } | E::Barred { .. } => {
                crate::class::ErrorClass::Unauthorized
            }
            E::Overlap { .. }
            | E::NoCandidateFits { .. }
            | E::Final { .. }
            | E::WrongStatus { .. }
            | E::AlreadyBarred { .. }
            | E::DelegationOverlap { .. }
            | E::NothingToPromote { .. }
            | E::AfterCutoff { .. }
            | E::OverDailyCapacity { .. }
            | E::OrderStatus { .. } => crate::class::ErrorClass::Conflict,
            E::InvalidSpec(_)
            | E::MissingSpec
            | E::EmptyField { .. }
            | E::NoAttendees
            | E::OverCapacity { .. }
            | E::TooManyAlternates { .. }
            | E::BadRecurrence { .. }
            | E::BadException { .. }
            | E::OutsideOpeningHours { .. }
            | E::Blackout { .. }
            | E::TooLong { .. }
            | E::LeadTime { .. }
            | E::InvalidDelegation(_)
            | E::NotAKitchen { .. }
            | E::NoPortions
            | E::NotOnMenu { .. }
            | E::KitchenClosed { .. } => crate::class::ErrorClass::Invalid,
        }
    }
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for ResourceError {
    fn zh(&self) -> String {
        match self {
            ResourceError::Signup(e) => crate::zh::Chinese::zh(e.as_ref()),
            ResourceError::Time(e) => crate::zh::Chinese::zh(e),
            ResourceError::Doc(e) => crate::zh::Chinese::zh(e),
            ResourceError::InvalidSpec(m) => format!("场地设置无效：{m}"),
            ResourceError::MissingSpec => "该文档没有场地设置（meta/spec）".to_string(),
            ResourceError::NotAllowed {
                who,
                action,
                allowed,
            } => format!("{who} 无权{}：只有 {} 可以", crate::zh::word(action), crate::zh::word(allowed)),
            ResourceError::EmptyField { field } => format!("{}为必填项，不能为空", crate::zh::word(field)),
            ResourceError::UnknownBooking(b) => format!("未知的预约 {b}"),
            ResourceError::NoAttendees => "预约至少需要 1 名参加者（收到 0）".to_string(),
            ResourceError::OverCapacity {
                attendees,
                capacity,
            } => format!("{attendees} 名参加者超过了场地容量 {capacity} 人"),
            ResourceError::TooManyAlternates { count, max } => {
                format!("给出了 {count} 个备选时段，最多允许 {max} 个")
            }
            ResourceError::BadRecurrence { weeks } => {
                format!("每周重复须为 1 到 52 周（收到 {weeks}）")
            }
            ResourceError::BadException { date, reason } => {
                format!("每周重复的例外日期 {date}：{}", crate::zh::word(reason))
            }
            ResourceError::OutsideOpeningHours { slot, hours } => {
                format!("时段 {slot} 不在开放时间内（{hours}）")
            }
            ResourceError::Blackout { slot, date } => {
                format!("时段 {slot} 落在停用日 {date}")
            }
            ResourceError::TooLong { slot, minutes, max } => {
                format!("时段 {slot} 长 {minutes} 分钟，超过最长 {max} 分钟")
            }
            ResourceError::LeadTime {
                slot,
                lead_minutes,
                now,
            } => format!("时段 {slot} 距现在（{now}）不足 {lead_minutes} 分钟"),
            ResourceError::Barred { who, reason } => {
                format!("{who} 已被禁止预约此场地：{reason}")
            }
            ResourceError::AlreadyBarred { who } => format!("{who} 已在禁约名单中"),
            ResourceError::NotArbiter { who, slot, arbiter } => {
                format!("{who} 不是时段 {slot} 的审批方：{arbiter}")
            }
            ResourceError::Overlap {
                slot,
                other,
                other_slot,
            } => format!("时段 {slot} 与已确认的预约 {other}（{other_slot}）冲突"),
            ResourceError::NoCandidateFits { booking, failures } => {
                let each: Vec<String> = failures
                    .iter()
                    .map(|(i, e)| {
                        let which = if *i == 0 {
                            "申请时段".to_string()
                        } else {
                            format!("备选 {i}")
                        };
                        format!("{which}：{}", crate::zh::Chinese::zh(e))
                    })
                    .collect();
                format!("预约 {booking} 没有一个候选时段可以确认：{}", each.join("；"))
            }
            ResourceError::Final { booking, status } => {
                format!("预约 {booking} 已{}，不能再更改", crate::zh::word(status).trim_start_matches('已'))
            }
            ResourceError::WrongStatus {
                booking,
                action,
                status,
            } => format!("不能{}预约 {booking}：它的状态为{}", crate::zh::word(action), crate::zh::word(status)),
            ResourceError::NothingToPromote { who, waiting } => format!(
                "{waiting} 个候补预约中没有一个能放进 {who} 审批的空闲时段"
            ),
            ResourceError::InvalidDelegation(m) => format!("委托无效：{m}"),
            ResourceError::DelegationOverlap {
                block,
                other,
                other_block,
            } => format!("时段块 {block} 与已委托的 {other}（{other_block}）相交"),
            ResourceError::NotAKitchen { resource } => format!("场地 {resource:?} 不是厨房"),
            ResourceError::UnknownOrder(o) => format!("未知的订单 {o}"),
            ResourceError::NoPortions => "订单至少需要 1 份（收到 0）".to_string(),
            ResourceError::NotOnMenu { item, menu } => {
                format!("{item:?} 不在菜单上（{menu}）")
            }
            ResourceError::KitchenClosed { date } => format!("厨房 {date} 停用（停用日）"),
            ResourceError::AfterCutoff {
                action,
                date,
                cutoff,
                at,
            } => format!("{}时间 {at} 已过 {date} 的截止时间 {cutoff}", crate::zh::word(action)),
            ResourceError::OverDailyCapacity {
                date,
                accepted,
                portions,
                capacity,
            } => format!(
                "{date} 再加 {portions} 份将超过每日容量：已接 {accepted} 份，共 {capacity} 份"
            ),
            ResourceError::OrderStatus {
                order,
                action,
                status,
            } => format!("不能{}订单 {order}：它的状态为{}", crate::zh::word(action), crate::zh::word(status)),
        }
    }
}
