//! The one list of document kinds, and what is derived from it.
//!
//! A kind is a module (`federation`, `registry`, `ledger`, `resource`, `wishes`) with a
//! value implementing [`crate::kind::Kind`], a `plan` for its operation enum (which
//! implements [`crate::kind::KindOp`]), a `genesis` for its new documents and an error type,
//! listed once in `kind_list`. From that one entry this module generates `ALL`, [`of`],
//! [`layout`], [`Op`] (with its planning and personal-data split), [`Error`]'s variant and
//! class for the kind, and [`NewDoc`]'s variant and genesis: a new kind writes no arm here.
//! Everything above the kinds (replica, sync, catalogue, the node) reaches a kind through
//! [`of`] or these types.

use serde::{Deserialize, Serialize};

use crate::cert::CertError;
use crate::document::{DocError, DocKind, Document, Genesis, Layout, Put};
use crate::ids::{DocId, IdError, OrgId};
use crate::kind::{Ctx, Effect, Kind, KindOp};
use crate::outcome::{Rejection, WaitLimit};
use crate::personal::PersonalData;
use crate::policy::PolicyError;
use crate::signed::SignedError;
use crate::time::TimeError;

/// Generates what is derived from `kind_list`: `ALL`, `of`, `layout`, `Op` and its planning
/// and personal-data split, `Error` and its classes, `NewDoc` and its genesis. The first
/// entry is the federation document (planned by the replica, its errors the policy's).
macro_rules! kind_list {
    (
        $fvariant:ident, $fmodule:ident, $fop:ident, $ferr:ident, $fdoc:literal, $flabel:literal,
        $fopdoc:literal, { $($(#[$ffmeta:meta])* $ffield:ident: $ffty:ty,)* };
        $($variant:ident, $module:ident, $op:ident, $err:ident, $doc:literal, $label:literal,
        $opdoc:literal, { $($(#[$fmeta:meta])* $field:ident: $fty:ty,)* };)*
    ) => {
        /// Every kind, in catalogue order.
        pub const ALL: &[DocKind] = &[DocKind::$fvariant, $(DocKind::$variant),*];

        /// The module that implements `kind`.
        pub fn of(kind: DocKind) -> &'static dyn Kind {
            match kind {
                DocKind::$fvariant => &crate::$fmodule::KIND,
                $(DocKind::$variant => &crate::$module::KIND,)*
            }
        }

        /// The layout of `kind`, for the document layer ([`crate::document::Layouts`]).
        pub fn layout(kind: DocKind) -> &'static dyn Layout {
            match kind {
                DocKind::$fvariant => &crate::$fmodule::KIND,
                $(DocKind::$variant => &crate::$module::KIND,)*
            }
        }

        /// A typed write on one document.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case", tag = "kind", content = "op")]
        pub enum Op {
            #[doc = $fopdoc]
            $fvariant(crate::$fmodule::$fop),
            $(
                #[doc = $opdoc]
                $variant(crate::$module::$op),
            )*
        }

        impl Op {
            /// The kind of document the operation writes.
            pub fn kind(&self) -> DocKind {
                match self {
                    Op::$fvariant(_) => DocKind::$fvariant,
                    $(Op::$variant(_) => DocKind::$variant,)*
                }
            }

            /// Splits the personal data out of the operation (its kind's
            /// [`KindOp::split_personal`]): the operation keeps the public view and the data
            /// is returned, to be kept in the record the operation's effect names
            /// ([`crate::Effect::personal_record`]).
            pub fn split_personal(self) -> (Op, Option<PersonalData>) {
                match self {
                    Op::$fvariant(op) => {
                        let (op, data) = op.split_personal();
                        (Op::$fvariant(op), data)
                    }
                    $(Op::$variant(op) => {
                        let (op, data) = op.split_personal();
                        (Op::$variant(op), data)
                    })*
                }
            }

            /// Plans the operation on `doc` (its kind's `plan`): the records to put, the
            /// effect and the change message. Federation operations need the replica's keys
            /// and trust store: `federation` plans them.
            pub(crate) fn plan(
                self,
                doc: &Document,
                ctx: &Ctx<'_>,
                federation: impl FnOnce(crate::$fmodule::$fop) -> Result<Planned, Error>,
            ) -> Result<Planned, Error> {
                match self {
                    Op::$fvariant(op) => federation(op),
                    $(Op::$variant(op) => crate::$module::plan(doc, ctx, op).map_err(Error::from),)*
                }
            }
        }

        /// Errors of linli-core operations.
        #[derive(Debug, Clone, PartialEq, thiserror::Error)]
        pub enum Error {
            $(
                #[doc = concat!("A rule of the ", $label, " kind.")]
                #[error(transparent)]
                $variant(#[from] crate::$module::$err),
            )*
            /// Document layer (bytes, layout, automerge).
            #[error(transparent)]
            Doc(#[from] DocError),
            /// Times and time zones.
            #[error(transparent)]
            Time(#[from] TimeError),
            /// Identifier syntax.
            #[error(transparent)]
            Id(#[from] IdError),
            /// No document with this id in the replica.
            #[error("unknown document {0}")]
            UnknownDocument(DocId),
            /// The operation is for another kind of document.
            #[error("document {doc} is a {actual}, not a {expected}")]
            WrongKind {
                /// The document.
                doc: DocId,
                /// What the operation needs.
                expected: &'static str,
                /// What the document is.
                actual: &'static str,
            },
            /// A change from elsewhere was refused; it is kept out of every document.
            #[error("change refused: {0}")]
            Rejected(Box<Rejection>),
            /// The signed envelope of a change is invalid (bytes, signature, actor binding).
            #[error("invalid signed change: {0}")]
            Envelope(#[from] SignedError),
            /// This node has no valid certificate chain for a write at this time.
            #[error("this node cannot write: {0}")]
            NotCertified(CertError),
            /// This node's key has been revoked.
            #[error("this node's key has been revoked and may no longer write")]
            SelfRevoked,
            /// A local write breaks the write policy of the document kind (the federation
            /// document's errors are the policy's).
            #[error(transparent)]
            Policy(#[from] $ferr),
            /// The signed bytes of logged changes could not be read back from the change
            /// source.
            #[error("cannot read stored changes of {doc}: {reason}")]
            Source {
                /// The document.
                doc: DocId,
                /// Why.
                reason: String,
            },
            /// A bound of the changes waiting for dependencies or a certificate was reached:
            /// the change is dropped, not refused (it is not recorded and may come again by
            /// sync).
            #[error(
                "pending set full: the limit of {limit} {bound} is reached (signer {signer}); \
                 change {change} dropped, it may come again by sync"
            )]
            PendingFull {
                /// The limit.
                limit: usize,
                /// Which bound it is.
                bound: WaitLimit,
                /// Short form of the signer of the dropped change.
                signer: String,
                /// The dropped change (hex).
                change: String,
            },
            /// A received change without a signature of its own that nothing in its batch
            /// covers (a later signed change of its signer, see [`crate::signed`]): dropped,
            /// not refused (not recorded; it may come again with its cover).
            #[error(
                "change {change} carries no signature and nothing in its batch covers it \
                 (a later change of {signer}, signed); dropped, it may come again by sync"
            )]
            Uncovered {
                /// The dropped change (short hex).
                change: String,
                /// Short form of its signer.
                signer: String,
            },
            /// A received change does not fit in its signer's write quota for the day (checked
            /// by the node, see [`crate::quota`]); it is not recorded and may come again
            /// another day.
            #[error(transparent)]
            Quota(#[from] crate::quota::QuotaError),
            /// Personal records.
            #[error(transparent)]
            Personal(#[from] crate::personal::PersonalError),
        }

        impl Error {
            /// The class of this error.
            pub fn class(&self) -> crate::class::ErrorClass {
                use crate::class::ErrorClass;
                match self {
                    $(Error::$variant(e) => e.class(),)*
                    Error::Personal(e) => e.class(),
                    Error::Time(_) | Error::Id(_) | Error::Envelope(_) | Error::Doc(_) => {
                        ErrorClass::Malformed
                    }
                    Error::UnknownDocument(_) => ErrorClass::NotFound,
                    Error::WrongKind { .. } => ErrorClass::Invalid,
                    Error::NotCertified(_) | Error::SelfRevoked | Error::Policy(_) => {
                        ErrorClass::Unauthorized
                    }
                    Error::Rejected(_)
                    | Error::PendingFull { .. }
                    | Error::Uncovered { .. }
                    | Error::Quota(_) => ErrorClass::Conflict,
                    Error::Source { .. } => ErrorClass::Storage,
                }
            }
        }

        /// Specification of a new document: what creating one of each kind takes (JSON:
        /// `{"resource": {"street": …, "spec": …}}`).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        pub enum NewDoc {
            #[doc = concat!("A new ", $flabel, ": ", $fdoc)]
            $fvariant {
                $($(#[$ffmeta])* $ffield: $ffty,)*
            },
            $(
                #[doc = concat!("A new ", $label, ": ", $doc)]
                $variant {
                    $($(#[$fmeta])* $field: $fty,)*
                },
            )*
        }

        impl NewDoc {
            /// The kind of the new document.
            pub fn kind(&self) -> DocKind {
                match self {
                    NewDoc::$fvariant { .. } => DocKind::$fvariant,
                    $(NewDoc::$variant { .. } => DocKind::$variant,)*
                }
            }

            /// The header (without time and nonce) and initial records of the new document
            /// (its kind's `genesis`), created by organisation `owner`. Who may create it
            /// is the kind's genesis policy, checked by the replica.
            pub(crate) fn genesis(self, owner: OrgId) -> Result<Genesis, Error> {
                match self {
                    NewDoc::$fvariant { $($ffield),* } => {
                        crate::$fmodule::genesis(owner, $($ffield),*).map_err(Error::from)
                    }
                    $(NewDoc::$variant { $($field),* } => {
                        crate::$module::genesis(owner, $($field),*).map_err(Error::from)
                    })*
                }
            }
        }
    };
}
crate::kind_list::with_kinds!(kind_list);

/// Whether the volunteer registry of `home`, if `docs` holds it, knows `volunteer`
/// (`None`: no registry of `home` here) — the ledger's check of a service record, given to
/// it through [`Ctx`].
pub(crate) fn volunteer_known(
    docs: &crate::docs::Docs,
    home: &crate::ids::Scope,
    volunteer: &crate::ids::VolunteerId,
) -> Option<bool> {
    crate::volunteers::registry_of(docs, home).map(|d| crate::volunteers::knows(d, volunteer))
}

/// Whether the volunteer registry of `home`, if held here, lists `volunteer` as active.
pub(crate) fn volunteer_active(
    docs: &crate::docs::Docs,
    home: &crate::ids::Scope,
    volunteer: &crate::ids::VolunteerId,
) -> Option<bool> {
    crate::volunteers::registry_of(docs, home).map(|d| crate::volunteers::is_active(d, volunteer))
}

/// What planning an operation gives: the records to put, the effect, the change message.
pub(crate) type Planned = (Vec<Put>, Effect, String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_each_kind_once_and_each_module_is_its_kind() {
        for &k in ALL {
            assert_eq!(of(k).kind(), k);
            assert_eq!(of(k).maps(), layout(k).maps());
            assert!(of(k).operations().get("oneOf").is_some(), "{k:?}");
        }
        let unique: std::collections::BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len());
    }
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for Error {
    fn zh(&self) -> String {
        macro_rules! kind_arms {
            (
                $_fv:ident, $_fm:ident, $_fo:ident, $_fe:ty, $_fd:literal, $_fl:literal,
                $_fod:literal, { $($_fg:tt)* };
                $($variant:ident, $module:ident, $op:ident, $err:ty, $doc:literal, $label:literal, $opdoc:literal, { $($g:tt)* };)*) => {
                match self {
                    $(Error::$variant(e) => crate::zh::Chinese::zh(e),)*
                    Error::Doc(e) => crate::zh::Chinese::zh(e),
                    Error::Time(e) => crate::zh::Chinese::zh(e),
                    Error::Id(e) => crate::zh::Chinese::zh(e),
                    Error::UnknownDocument(d) => format!("未知的文档 {d}"),
                    Error::WrongKind { doc, expected, actual } => {
                        format!("文档 {doc} 是{}，不是{}", crate::zh::word(actual), crate::zh::word(expected))
                    }
                    Error::Rejected(r) => format!("变更被拒绝：{r}"),
                    Error::Envelope(e) => format!("签名变更无效：{}", crate::zh::Chinese::zh(e)),
                    Error::NotCertified(e) => format!("本节点无法写入：{}", crate::zh::Chinese::zh(e)),
                    Error::SelfRevoked => "本节点的密钥已被撤销，不能再写入".to_string(),
                    Error::Policy(e) => crate::zh::Chinese::zh(e),
                    Error::Source { doc, reason } => {
                        format!("无法读取文档 {doc} 已存储的变更：{reason}")
                    }
                    Error::PendingFull { limit, bound, signer, change } => format!(
                        "等待队列已满：已达到 {limit} 的上限（{bound}，签名者 {signer}）；\
                         变更 {change} 已丢弃，之后可再次同步"
                    ),
                    Error::Uncovered { change, signer } => format!(
                        "变更 {change} 没有自己的签名，同批中也没有签名者 {signer} 之后的已签名变更覆盖它；\
                         已丢弃，之后可再次同步"
                    ),
                    Error::Quota(e) => crate::zh::Chinese::zh(e),
                    Error::Personal(e) => crate::zh::Chinese::zh(e),
                }
            };
        }
        crate::kind_list::with_kinds!(kind_arms)
    }
}

#[cfg(test)]
mod zh_tests {
    use crate::ids::{OrgId, Scope};
    use crate::kinds::Error;
    use crate::ledger::LedgerError;
    use crate::resource::ResourceError;
    use crate::zh::Chinese;

    #[test]
    fn a_refusal_names_the_rule_and_its_values_in_chinese() {
        let e = Error::from(ResourceError::AfterCutoff {
            action: "placing the order",
            date: jiff::civil::date(2026, 12, 8),
            cutoff: "2026-12-07 20:00".into(),
            at: "2026-12-07 20:01".into(),
        });
        assert_eq!(
            e.zh(),
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
