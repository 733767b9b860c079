//! linli-core's refusals in Chinese (简体中文), for the people who read them: the clerks of
//! DOMAIN.md work in Chinese, so the dashboard (and every surface that asks) shows the same
//! rule in their language. English stays the primary message (`Display`, logs, tests).
//!
//! Every error type a local operation can end in implements [`Chinese`], each with one
//! exhaustive `match`: a new variant does not compile until it has its Chinese words. Values
//! (ids, scopes, dates, local times) are shown as in English; the few English words that
//! reach a message as values (an action, a status, a field) go through [`word`], which keeps
//! a word it does not know as it is.

use crate::catalogue::CatalogueError;
use crate::cert::CertError;
use crate::document::DocError;
use crate::ids::IdError;
use crate::kinds::Error;
use crate::ledger::LedgerError;
use crate::personal::PersonalError;
use crate::policy::PolicyError;
use crate::quota::QuotaError;
use crate::registry::RegistryError;
use crate::resource::ResourceError;
use crate::signed::SignedError;
use crate::time::TimeError;
use crate::volunteers::VolunteersError;
use crate::wishes::WishesError;

/// An error's message in Chinese.
pub trait Chinese {
    /// The message, in Chinese, with the same values as the English one.
    fn zh(&self) -> String;
}

/// An English word or phrase that reaches a message as a value (an action, a status, a
/// field name), in Chinese; a phrase it does not know is returned as it is.
pub fn word(en: &str) -> String {
    let fixed = match en {
        // statuses
        "tentative" => "待定",
        "confirmed" => "已确认",
        "rejected" => "已拒绝",
        "revoked" => "已撤销",
        "cancelled" => "已取消",
        "waitlisted" => "候补中",
        "placed" => "已下单",
        "accepted" => "已接单",
        "refused" => "已拒单",
        "collected" => "已取餐",
        "active" => "在册",
        "paused" => "暂停",
        "moved" => "已迁出",
        "left" => "已退出",
        "open" => "待认领",
        "claimed" => "已认领",
        "assigned" => "已指派",
        "in_progress" | "in progress" => "办理中",
        "done" => "已完成",
        "closed" => "已关闭",
        "withdrawn" => "已撤回",
        // actions
        "confirm" => "确认",
        "reject" => "拒绝",
        "revoke" => "撤销",
        "cancel" => "取消",
        "waitlist" => "列入候补",
        "accept" => "接单",
        "promote the waitlist" => "递补候补预约",
        "placing the order" => "下单",
        "cancelling an order" => "取消订单",
        "add teams" => "添加志愿队伍",
        "change the rules of this ledger" => "修改本积分账本的规则",
        "correct entries in this ledger" => "更正本积分账本的记录",
        "pair units" => "结对共建单位",
        "record service in this ledger" => "在本积分账本中记录服务",
        "register volunteers" => "登记志愿者",
        "release volunteers" => "办理志愿者迁出",
        "set volunteers' status" => "设置志愿者状态",
        "update volunteers" => "修改志愿者信息",
        "write redemptions in this ledger" => "在本积分账本中记录兑换",
        "change teams or posts" => "修改队伍或岗位",
        // kinds
        "federation document" => "联盟文档",
        "compound registry" => "小区名册",
        "service ledger" => "志愿服务积分账本",
        "resource" => "共享场地",
        "wishes" => "微心愿清单",
        "volunteer registry" => "志愿者名册",
        // fields
        "reason" => "原因",
        "purpose" => "用途",
        "household" => "住户",
        "booker" => "预约人",
        "who" => "对象",
        "phone" => "电话",
        "name" => "姓名",
        "title" => "标题",
        "team name" => "队伍名称",
        "post duty" => "岗位职责",
        "message" => "留言",
        "item" => "兑换物品",
        "outlet" => "兑换点",
        "activity" => "活动",
        _ => return phrase(en),
    };
    fixed.to_string()
}

/// Phrases made of a verb and a value (`cancel booking x:1`, `assign x:2`).
fn phrase(en: &str) -> String {
    const VERBS: &[(&str, &str)] = &[
        ("cancel booking ", "取消预约 "),
        ("cancel order ", "取消订单 "),
        ("release it to ", "迁往 "),
        ("assign ", "指派 "),
        ("release ", "释放 "),
        ("the owner ", "所有者 "),
    ];
    for (prefix, zh) in VERBS {
        if let Some(rest) = en.strip_prefix(prefix) {
            return format!("{zh}{rest}");
        }
    }
    if let Some(rest) = en
        .strip_prefix("post in ")
        .and_then(|r| r.strip_suffix("'s wishes"))
    {
        return format!("在 {rest} 的心愿清单中发布");
    }
    en.to_string()
}

impl Chinese for Error {
    fn zh(&self) -> String {
        macro_rules! kind_arms {
            (
                $_fv:ident, $_fm:ident, $_fo:ident, $_fe:ty, $_fd:literal, $_fl:literal,
                $_fod:literal, { $($_fg:tt)* };
                $($variant:ident, $module:ident, $op:ident, $err:ty, $doc:literal, $label:literal, $opdoc:literal, { $($g:tt)* };)*) => {
                match self {
                    $(Error::$variant(e) => e.zh(),)*
                    Error::Doc(e) => e.zh(),
                    Error::Time(e) => e.zh(),
                    Error::Id(e) => e.zh(),
                    Error::UnknownDocument(d) => format!("未知的文档 {d}"),
                    Error::WrongKind { doc, expected, actual } => {
                        format!("文档 {doc} 是{}，不是{}", word(actual), word(expected))
                    }
                    Error::Rejected(r) => format!("变更被拒绝：{r}"),
                    Error::Envelope(e) => format!("签名变更无效：{}", e.zh()),
                    Error::NotCertified(e) => format!("本节点无法写入：{}", e.zh()),
                    Error::SelfRevoked => "本节点的密钥已被撤销，不能再写入".to_string(),
                    Error::Policy(e) => e.zh(),
                    Error::Source { doc, reason } => {
                        format!("无法读取文档 {doc} 已存储的变更：{reason}")
                    }
                    Error::PendingFull { limit, bound, signer, change } => format!(
                        "等待队列已满：已达到 {limit} 的上限（{bound}，签名者 {signer}）；\
                         变更 {change} 已丢弃，之后可再次同步"
                    ),
                    Error::Quota(e) => e.zh(),
                    Error::Personal(e) => e.zh(),
                }
            };
        }
        crate::kind_list::with_kinds!(kind_arms)
    }
}

impl Chinese for PolicyError {
    fn zh(&self) -> String {
        match self {
            PolicyError::Denied {
                who,
                kind,
                map,
                key,
                reason,
            } => format!("{who} 无权写入此{}的 {map}/{key}：{reason}", word(kind)),
            PolicyError::Genesis { who, kind, reason } => {
                format!("{who} 无权创建此{}：{reason}", word(kind))
            }
        }
    }
}

impl Chinese for DocError {
    fn zh(&self) -> String {
        match self {
            DocError::MalformedChange(m) => format!("变更字节格式错误：{m}"),
            DocError::MalformedDocument(m) => format!("文档字节格式错误：{m}"),
            DocError::Oversized { size, limit } => {
                format!("变更大小 {size} 字节，超过上限 {limit} 字节")
            }
            DocError::BadGenesis(m) => format!("创世变更无效：{m}"),
            DocError::BadShape {
                change,
                kind,
                reason,
            } => format!("变更 {change} 不是有效的{}变更：{reason}", word(kind)),
            DocError::BadActor(n) => format!("{n} 字节的作者标识不是 linli 作者（应为 40 字节）"),
            DocError::Automerge(m) => format!("automerge 拒绝了该变更：{m}"),
            DocError::BadRecord { map, key, reason } => {
                format!("记录 {map}/{key} 无法解码：{reason}")
            }
        }
    }
}

impl Chinese for TimeError {
    fn zh(&self) -> String {
        match self {
            TimeError::UnknownZone(z) => {
                format!("未知的时区 {z:?}（请用 IANA 名称，如 \"Asia/Shanghai\"）")
            }
            TimeError::EndBeforeStart { start, end } => {
                format!("时段的结束时间（{end}）不晚于开始时间（{start}）")
            }
            TimeError::OutOfRange(m) => format!("时间超出范围：{m}"),
        }
    }
}

impl Chinese for IdError {
    fn zh(&self) -> String {
        match self {
            IdError::BadHex { what, len, got } => {
                format!("{what} 应为 {len} 个十六进制字符，收到 {got:?}")
            }
            IdError::BadOrg(o) => format!(
                "组织代码 {o:?} 无效：请用 1-48 个 a-z、0-9、'-'、'_' 字符，以字母或数字开头"
            ),
            IdError::BadScope(s) => {
                format!("范围 {s:?} 无效：应为自上而下最多四级组织代码，如 `beishi/dianye`")
            }
            IdError::BadRecord(r) => {
                format!("记录编号 {r:?} 无效：应为 `组织:序号`，如 `dianye:12`")
            }
        }
    }
}

impl Chinese for QuotaError {
    fn zh(&self) -> String {
        match self {
            QuotaError::Changes {
                signer,
                doc,
                day,
                limit,
            } => format!(
                "签名者 {signer} 在文档 {doc} 上超出每日 {limit} 个变更的配额（{day}）；该变更可改日再同步"
            ),
            QuotaError::Bytes {
                signer,
                doc,
                day,
                limit,
                used,
                bytes,
            } => format!(
                "签名者 {signer} 在文档 {doc} 上超出每日 {limit} 字节的配额（{day}：已用 {used} 字节，本变更 {bytes} 字节）；该变更可改日再同步"
            ),
        }
    }
}

impl Chinese for CertError {
    fn zh(&self) -> String {
        match self {
            CertError::NoCertificate { node, root } => {
                format!("密钥 {node} 没有能连到所配置根密钥 {root} 的证书")
            }
            CertError::Expired { node, not_after, at } => {
                format!("密钥 {node} 的证书已于 {not_after} 过期（核查时间 {at}）")
            }
            CertError::NotYetValid {
                node,
                not_before,
                at,
            } => format!("密钥 {node} 的证书在 {not_before} 之前无效（核查时间 {at}）"),
            CertError::BadSignature { node, issuer } => {
                format!("密钥 {node} 的证书没有颁发者 {issuer} 的有效签名")
            }
            CertError::NotAllowedToIssue {
                issuer,
                subject,
                reason,
            } => format!("密钥 {issuer} 无权为密钥 {subject} 颁发证书：{reason}"),
            CertError::Withdrawn { node } => format!("密钥 {node} 的所有证书链均已被撤销"),
            CertError::ChainTooLong { node, max } => {
                format!("密钥 {node} 的证书链在 {max} 张证书内到不了根密钥")
            }
        }
    }
}

impl Chinese for SignedError {
    fn zh(&self) -> String {
        match self {
            SignedError::Truncated { needed, got } => {
                format!("签名变更不完整：需要 {needed} 字节，只有 {got} 字节")
            }
            SignedError::UnknownVersion(v) => {
                format!("未知的签名变更编码版本 {v}（本版本只读版本 1）")
            }
            SignedError::Oversized { size, limit } => {
                format!("变更大小 {size} 字节，超过上限 {limit} 字节")
            }
            SignedError::TrailingBytes(n) => format!("签名变更之后多出 {n} 字节"),
            SignedError::MalformedChange(m) => format!("变更字节格式错误：{m}"),
            SignedError::BadSignature => "签名与签名者、文档和变更不符".to_string(),
            SignedError::ActorMismatch { actor, signer } => {
                format!("变更的作者是密钥 {actor}，签名的却是 {signer}")
            }
            SignedError::BadActor(n) => {
                format!("{n} 字节的作者标识不是 linli 作者（应为 40 字节）")
            }
        }
    }
}

impl Chinese for PersonalError {
    fn zh(&self) -> String {
        match self {
            PersonalError::EmptyField { field } => format!("{}不能为空", word(field)),
            PersonalError::FieldTooLong { field, max } => {
                format!("{}超过 {max} 个字符", word(field))
            }
            PersonalError::UnknownRecord { doc, record } => {
                format!("文档 {doc} 中没有个人信息所属的记录 {record:?}")
            }
            PersonalError::NotHome {
                volunteer,
                community,
            } => format!("志愿者 {volunteer} 不属于社区 {community}"),
            PersonalError::WrongKind {
                record,
                expected,
                got,
            } => format!("记录 {record} 存放的是 {expected} 信息，不是 {got}"),
            PersonalError::BadSignature { record, by } => {
                format!("个人信息记录 {record} 的签名无效（密钥 {by}）")
            }
            PersonalError::NotAllowed {
                who,
                what,
                record,
                audience,
            } => format!("{who} 无权{}个人信息记录 {record}（可见范围：{audience}）", word(what)),
            PersonalError::NotAudience { record, audience } => {
                format!("本节点不在个人信息记录 {record} 的可见范围内（{audience}）")
            }
            PersonalError::NotHeld { doc, record } => {
                format!("本节点没有文档 {doc} 记录 {record} 的个人信息")
            }
            PersonalError::Erased { record } => format!("个人信息记录 {record} 已被删除"),
            PersonalError::Malformed(m) => format!("个人信息记录格式错误：{m}"),
        }
    }
}

impl Chinese for CatalogueError {
    fn zh(&self) -> String {
        match self {
            CatalogueError::Unknown(op) => {
                format!("没有操作 {op:?}（操作名为 种类.名称，如 resource.bar）")
            }
            CatalogueError::UnknownField { op, field, fields } => {
                format!("{op} 没有字段 {field:?}（它的字段：{fields}）")
            }
            CatalogueError::Missing { op, field, doc } => format!("{op} 需要 {field}（{doc}）"),
            CatalogueError::Invalid { op, reason } => format!("{op}：{reason}"),
        }
    }
}

impl Chinese for RegistryError {
    fn zh(&self) -> String {
        match self {
            RegistryError::NotOwner { who, owner } => {
                format!("{who} 无权在此写入：只有 {owner} 可以")
            }
            RegistryError::UnknownCompound(c) => format!("未知的小区 {c}"),
            RegistryError::InvalidCompound(m) => format!("小区信息无效：{m}"),
            RegistryError::Archived(c) => format!("小区 {c} 已归档，不能再修改"),
            RegistryError::InvalidAppointment(m) => format!("物业选聘无效：{m}"),
            RegistryError::ChecklistMismatch { template, reason } => {
                format!("检查记录与检查表 {template} 不符：{reason}")
            }
            RegistryError::InvalidScore(m) => format!("评分表无效：{m}"),
        }
    }
}

impl Chinese for LedgerError {
    fn zh(&self) -> String {
        match self {
            LedgerError::NotAllowed { who, what, allowed } => {
                format!("{who} 无权{}：只有 {allowed} 可以", word(what))
            }
            LedgerError::NotHome {
                volunteer,
                community,
            } => format!("志愿者 {volunteer} 不是 {community} 的志愿者：只有所属社区可以兑换积分"),
            LedgerError::CorrectionTooLarge { max, delta } => {
                format!("一次更正最多改动 {max} 积分，收到 {delta}")
            }
            LedgerError::InvalidHours(h) => format!("服务时长须大于 0 且不超过 24 小时，收到 {h}"),
            LedgerError::WrongYear { date, year } => {
                format!("日期 {date} 不在本账本的年度 {year} 内")
            }
            LedgerError::InsufficientBalance {
                volunteer,
                balance,
                cost,
            } => format!(
                "志愿者 {volunteer} 在本节点可见的积分为 {balance}；兑换 {cost} 积分将透支"
            ),
            LedgerError::InvalidAmount(m) => format!("数额无效：{m}"),
            LedgerError::Empty(f) => format!("{}不能为空", word(f)),
            LedgerError::UnknownEntry(e) => format!("未知的记录 {e}"),
            LedgerError::WrongVolunteer {
                entry,
                owner,
                volunteer,
            } => format!("记录 {entry} 属于 {owner}，不是 {volunteer}"),
            LedgerError::InvalidRules(m) => format!("积分规则无效：{m}"),
            LedgerError::InvalidSource(m) => format!("来源编号无效：{m}"),
            LedgerError::BatchSize { rows, max } => {
                format!("一批可写 1 到 {max} 行，收到 {rows} 行")
            }
            LedgerError::TooLarge { bytes, max } => {
                format!("该记录有 {bytes} 字节，超过 {max} 字节")
            }
            LedgerError::UnknownVolunteer { volunteer, home } => {
                format!("志愿者 {volunteer} 不在 {home} 的志愿者名册中：请先登记")
            }
            LedgerError::FutureDate { date, today } => {
                format!("服务日期 {date} 在将来（今天是 {today}）")
            }
            LedgerError::NothingToWrite(_) => {
                "没有可写入的内容：这批的每一行都已导入过或无效".to_string()
            }
        }
    }
}

impl Chinese for VolunteersError {
    fn zh(&self) -> String {
        match self {
            VolunteersError::NotAllowed { who, what, owner } => {
                format!("{who} 无权{}：只有 {owner} 可以写自己的志愿者名册", word(what))
            }
            VolunteersError::Empty(f) => format!("志愿者的{}不能为空", word(f)),
            VolunteersError::DuplicatePhone { existing } => {
                format!("该电话已在本社区登记给志愿者 {existing}")
            }
            VolunteersError::UnknownTeam(t) => {
                format!("未知的志愿队伍 {t:?}：请先添加（volunteers.add_team）")
            }
            VolunteersError::BadTeamCode(t) => {
                format!("队伍代码 {t:?}：只能用小写字母、数字、'-' 和 '_'")
            }
            VolunteersError::NoPost => "在职党员须至少认领一个岗位".to_string(),
            VolunteersError::NoUnit => "在职党员须写明其报到的单位".to_string(),
            VolunteersError::UnitForResident(u) => {
                format!("居民志愿者没有报到单位（收到 {u}）")
            }
            VolunteersError::NotPaired(u) => {
                format!("单位 {u} 未与本社区结对：请先结对（volunteers.pair）")
            }
            VolunteersError::TooMany { got, max } => {
                format!("队伍和岗位各最多 {max} 个，收到 {got} 个")
            }
            VolunteersError::UnknownVolunteer(v) => format!("未知的志愿者 {v}"),
            VolunteersError::BadTransition {
                volunteer,
                status,
                what,
            } => format!("志愿者 {volunteer} 状态为{}：不能{}", word(status), word(what)),
            VolunteersError::BadRelease { volunteer, reason } => {
                format!("志愿者 {volunteer} 的迁出证明：{reason}")
            }
        }
    }
}

impl Chinese for WishesError {
    fn zh(&self) -> String {
        match self {
            WishesError::NotAllowed { who, what } => format!("{who} 无权{}", word(what)),
            WishesError::UnknownWish(w) => format!("未知的心愿 {w}"),
            WishesError::NotClaimed { wish, claim } => {
                format!("心愿 {wish} 没有认领 {claim}：只能指派已提出的认领")
            }
            WishesError::AlreadyAssigned { wish, current } => {
                format!("心愿 {wish} 已指派给 {current}；请先释放")
            }
            WishesError::BadTransition { wish, status, what } => {
                format!("心愿 {wish} 状态为{}：不能{}", word(status), word(what))
            }
            WishesError::Empty(f) => format!("{}不能为空", word(f)),
        }
    }
}

impl Chinese for ResourceError {
    fn zh(&self) -> String {
        match self {
            ResourceError::Time(e) => e.zh(),
            ResourceError::Doc(e) => e.zh(),
            ResourceError::InvalidSpec(m) => format!("场地设置无效：{m}"),
            ResourceError::MissingSpec => "该文档没有场地设置（meta/spec）".to_string(),
            ResourceError::NotAllowed {
                who,
                action,
                allowed,
            } => format!("{who} 无权{}：只有 {} 可以", word(action), word(allowed)),
            ResourceError::EmptyField { field } => format!("{}为必填项，不能为空", word(field)),
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
                        format!("{which}：{}", e.zh())
                    })
                    .collect();
                format!("预约 {booking} 没有一个候选时段可以确认：{}", each.join("；"))
            }
            ResourceError::Final { booking, status } => {
                format!("预约 {booking} 已{}，不能再更改", word(status).trim_start_matches('已'))
            }
            ResourceError::WrongStatus {
                booking,
                action,
                status,
            } => format!("不能{}预约 {booking}：它的状态为{}", word(action), word(status)),
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
            } => format!("{}时间 {at} 已过 {date} 的截止时间 {cutoff}", word(action)),
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
            } => format!("不能{}订单 {order}：它的状态为{}", word(action), word(status)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, Scope};

    #[test]
    fn words_translate_and_unknown_words_stay() {
        assert_eq!(word("confirmed"), "已确认");
        assert_eq!(word("cancel booking dianye@ab:3"), "取消预约 dianye@ab:3");
        assert_eq!(word("something new"), "something new");
    }

    #[test]
    fn a_refusal_names_the_rule_and_its_values_in_chinese() {
        let e = Error::from(ResourceError::AfterCutoff {
            action: "placing the order",
            date: jiff::civil::date(2026, 12, 8),
            cutoff: "2026-12-07 20:00".into(),
            at: "2026-12-07 20:01".into(),
        });
        let zh = e.zh();
        assert_eq!(
            zh,
            "下单时间 2026-12-07 20:01 已过 2026-12-08 的截止时间 2026-12-07 20:00"
        );
        let who = Scope::new(vec![OrgId::new("beishi").expect("valid")]).expect("valid");
        let e = Error::from(LedgerError::NotAllowed {
            who: who.clone(),
            what: "write redemptions in this ledger",
            allowed: who,
        });
        assert!(e.zh().contains("无权在本积分账本中记录兑换"), "{}", e.zh());
    }
}
