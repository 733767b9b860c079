//! linli-core's refusals in Chinese (简体中文), for the people who read them: the clerks of
//! DOMAIN.md work in Chinese, so the dashboard (and every surface that asks) shows the same
//! rule in their language. English stays the primary message (`Display`, logs, tests).
//!
//! Every error type a local operation can end in implements [`Chinese`], each with one
//! exhaustive `match` beside its type (a kind's in its module, `kinds::Error`'s in the
//! list's layer): a new variant does not compile until it has its Chinese words. Values
//! (ids, scopes, dates, local times) are shown as in English; the few English words that
//! reach a message as values (an action, a status, a field) go through [`word`], which keeps
//! a word it does not know as it is.

use crate::cert::CertError;
use crate::document::DocError;
use crate::ids::IdError;
use crate::personal::PersonalError;
use crate::policy::PolicyError;
use crate::quota::QuotaError;
use crate::signed::SignedError;
use crate::time::TimeError;

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
        "given twice" => "重复给出",
        "no occurrence of the series falls on it" => "该系列没有一次活动落在这一天",
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
            CertError::Expired {
                node,
                not_after,
                at,
            } => {
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
            SignedError::Uncovered { change, signer } => format!(
                "变更 {change} 没有自己的签名，同批中也没有签名者 {signer} 之后的已签名变更覆盖它"
            ),
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
            } => format!(
                "{who} 无权{}个人信息记录 {record}（可见范围：{audience}）",
                word(what)
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_translate_and_unknown_words_stay() {
        assert_eq!(word("confirmed"), "已确认");
        assert_eq!(word("cancel booking dianye@ab:3"), "取消预约 dianye@ab:3");
        assert_eq!(word("something new"), "something new");
    }
}
