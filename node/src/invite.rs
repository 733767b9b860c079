//! Join codes: `linli invite` on a certified node makes one, `linli join <code>` on a new
//! node uses it to get its certificate over the network.
//!
//! A code is the text form of a compact binary ([`JoinCode`]): what a new node needs to
//! reach its district and be certified — the district root, the issuing node's key and
//! addresses, the role and organisation invited (with its parent), the code's expiry and a
//! one-time secret of 128 bits. Text: `lj1` followed by RFC 4648 base32 (lowercase, no
//! padding); dashes and white space are ignored when reading, so a code split over lines
//! or grouped by hand still reads. The last 4 bytes of the binary are a BLAKE3 checksum of
//! the rest, so a mistyped or truncated code is refused before anything is done.
//!
//! The issuer keeps only the BLAKE3 hash of the secret ([`secret_hash`]), with what it
//! invites, in its local store (table `invites`, never replicated). A join request carries
//! the secret; the issuer compares its hash with every stored hash in constant time
//! ([`ct_eq`]), and issues the certificate only for an unused, unexpired code.

use linli_core::cert::Role;
use linli_core::{NodeId, OrgId, Timestamp};

/// Prefix of a join code's text (version 1).
pub const CODE_PREFIX: &str = "lj1";
/// Bytes of a code's one-time secret.
pub const SECRET_LEN: usize = 16;
/// Most addresses a code carries.
pub const MAX_ADDRS: usize = 8;
const VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 4;
const CHECKSUM_DOMAIN: &[u8] = b"linli/join-code/v1";
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// What a join code carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCode {
    /// The district root key the new node trusts.
    pub root: NodeId,
    /// The node that made the code and issues the certificate.
    pub issuer: NodeId,
    /// Addresses of the issuer (multiaddrs without `/p2p/…`; the issuer's key is added).
    pub addrs: Vec<String>,
    /// The one-time secret.
    pub secret: [u8; SECRET_LEN],
    /// The role invited.
    pub role: Role,
    /// The organisation invited.
    pub org: OrgId,
    /// Its parent organisation (a community's street, a unit's community).
    pub parent: Option<OrgId>,
    /// When the code stops working.
    pub expires: Timestamp,
}

/// Why a text is not a join code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The text does not start with the prefix.
    #[error("not a linli join code: it must start with `{CODE_PREFIX}` (got {0:?})")]
    Prefix(String),
    /// A character outside the code's alphabet.
    #[error(
        "not a linli join code: character {ch:?} at position {pos} is not one of a-z, 2-7 (check for a typo: 0, 1, 8 and 9 never occur)"
    )]
    Char {
        /// The character.
        ch: char,
        /// Its position after the prefix (1-based, dashes and spaces not counted).
        pos: usize,
    },
    /// The checksum does not match: a typo, or a cut or altered code.
    #[error(
        "the join code is damaged: its checksum does not match (a typo, a missing part, or an altered code); copy it again from the issuer"
    )]
    Checksum,
    /// The checksum matched but the content is not a code this version reads.
    #[error("the join code is not valid: {0}")]
    Content(String),
}

/// The BLAKE3 hash of a secret, as the issuer stores it.
pub fn secret_hash(secret: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("linli join code secret v1");
    h.update(secret);
    *h.finalize().as_bytes()
}

/// Constant-time equality of two 32-byte values.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // `black_box` keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut h = blake3::Hasher::new();
    h.update(CHECKSUM_DOMAIN);
    h.update(payload);
    let d = h.finalize();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&d.as_bytes()[..CHECKSUM_LEN]);
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Organisation codes and multiaddrs are far below 255 bytes (checked by `encode`).
    out.push(s.len() as u8);
    out.extend(s.as_bytes());
}

fn role_byte(r: Role) -> u8 {
    match r {
        Role::Street => 1,
        Role::Community => 2,
        Role::Unit => 3,
        Role::Partner => 4,
    }
}

fn role_of(b: u8) -> Option<Role> {
    Some(match b {
        1 => Role::Street,
        2 => Role::Community,
        3 => Role::Unit,
        4 => Role::Partner,
        _ => return None,
    })
}

impl JoinCode {
    /// The binary form: version, root, issuer, secret, role, expiry, org, parent,
    /// addresses, checksum.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodeError> {
        if self.addrs.len() > MAX_ADDRS {
            return Err(CodeError::Content(format!(
                "{} addresses, at most {MAX_ADDRS}",
                self.addrs.len()
            )));
        }
        let mut out = vec![VERSION];
        out.extend(self.root.0);
        out.extend(self.issuer.0);
        out.extend(self.secret);
        out.push(role_byte(self.role));
        out.extend(self.expires.0.to_le_bytes());
        put_str(&mut out, self.org.as_str());
        put_str(&mut out, self.parent.as_ref().map_or("", |p| p.as_str()));
        out.push(self.addrs.len() as u8);
        for a in &self.addrs {
            if a.len() > 255 {
                return Err(CodeError::Content(format!("address {a:?} is too long")));
            }
            put_str(&mut out, a);
        }
        let sum = checksum(&out);
        out.extend(sum);
        Ok(out)
    }

    /// The text form (`lj1…`).
    pub fn encode(&self) -> Result<String, CodeError> {
        Ok(format!("{CODE_PREFIX}{}", base32(&self.to_bytes()?)))
    }

    /// Reads a code's text; every error names what was wrong.
    pub fn decode(text: &str) -> Result<JoinCode, CodeError> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        let Some(body) = clean.strip_prefix(CODE_PREFIX) else {
            let shown: String = clean.chars().take(12).collect();
            return Err(CodeError::Prefix(shown));
        };
        let bytes = unbase32(body)?;
        if bytes.len() < 1 + CHECKSUM_LEN {
            return Err(CodeError::Checksum);
        }
        let (payload, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(payload) != sum {
            return Err(CodeError::Checksum);
        }
        Self::parse(payload).map_err(CodeError::Content)
    }

    fn parse(b: &[u8]) -> Result<JoinCode, String> {
        let mut r = Reader(b);
        let v = r.take(1)?[0];
        if v != VERSION {
            return Err(format!(
                "version {v}; this linli reads version {VERSION} (update linli)"
            ));
        }
        let root = NodeId(r.array()?);
        let issuer = NodeId(r.array()?);
        let secret: [u8; SECRET_LEN] = r.array()?;
        let rb = r.take(1)?[0];
        let role = role_of(rb).ok_or_else(|| format!("unknown role {rb}"))?;
        let expires = Timestamp(i64::from_le_bytes(r.array()?));
        let org = r.text("organisation")?;
        let org = OrgId::new(org.clone()).map_err(|e| format!("organisation {org:?}: {e}"))?;
        let parent = r.text("parent")?;
        let parent = if parent.is_empty() {
            None
        } else {
            Some(OrgId::new(parent.clone()).map_err(|e| format!("parent {parent:?}: {e}"))?)
        };
        let n = r.take(1)?[0] as usize;
        if n > MAX_ADDRS {
            return Err(format!("{n} addresses, at most {MAX_ADDRS}"));
        }
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            addrs.push(r.text("address")?);
        }
        if addrs.is_empty() {
            return Err("it names no address of the issuer".into());
        }
        if !r.0.is_empty() {
            return Err(format!("{} bytes after its end", r.0.len()));
        }
        Ok(JoinCode {
            root,
            issuer,
            addrs,
            secret,
            role,
            org,
            parent,
            expires,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("it ends too early".into());
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let n = self.take(1)?[0] as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| format!("its {what} is not UTF-8"))
    }
}

fn base32(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &x in b {
        acc = (acc << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

fn unbase32(s: &str) -> Result<Vec<u8>, CodeError> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, ch) in s.chars().enumerate() {
        let v = match ch {
            'a'..='z' => ch as u32 - 'a' as u32,
            '2'..='7' => ch as u32 - '2' as u32 + 26,
            _ => return Err(CodeError::Char { ch, pos: i + 1 }),
        };
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // The encoder leaves fewer than 5 padding bits, all zero: anything else is a character
    // added or changed at the end.
    if bits >= 5 || acc != 0 {
        return Err(CodeError::Checksum);
    }
    Ok(out)
}

/// A code as the issuer stores it (without the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// [`secret_hash`] of the secret.
    pub hash: [u8; 32],
    /// The role invited.
    pub role: Role,
    /// The organisation invited.
    pub org: OrgId,
    /// Its parent.
    pub parent: Option<OrgId>,
    /// Name shown to people.
    pub name: Option<String>,
    /// When it was made.
    pub created: Timestamp,
    /// When it stops working.
    pub expires: Timestamp,
}

/// What the issuer's store says of a join request's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The code is valid and is now marked used by the key: issue the certificate (or
    /// [`release`](crate::Node::invite_release) the code if that fails).
    Granted(Invite),
    /// The same key already used this code (a retried join): nothing more to issue.
    Again(Invite),
    /// No code has this secret.
    Unknown,
    /// The code was used, by another key.
    Used {
        /// When.
        at: Timestamp,
    },
    /// The code expired.
    Expired {
        /// When.
        at: Timestamp,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> JoinCode {
        JoinCode {
            root: NodeId([1; 32]),
            issuer: NodeId([2; 32]),
            addrs: vec![
                "/ip4/127.0.0.1/tcp/4710".into(),
                "/ip4/10.0.0.2/tcp/4710".into(),
            ],
            secret: [7; SECRET_LEN],
            role: Role::Community,
            org: OrgId::new("dianye").unwrap(),
            parent: Some(OrgId::new("beishi").unwrap()),
            expires: Timestamp(1_800_000_000_000),
        }
    }

    #[test]
    fn a_code_reads_back_as_written() {
        let c = code();
        let text = c.encode().unwrap();
        assert!(text.starts_with(CODE_PREFIX), "{text}");
        assert!(
            text.chars()
                .all(|ch| ch.is_ascii_lowercase() || ('2'..='7').contains(&ch) || ch == '1'),
            "{text}"
        );
        assert_eq!(JoinCode::decode(&text).unwrap(), c);
        // Grouped by hand, upper case, split over lines: the same code.
        let grouped: Vec<String> = text
            .as_bytes()
            .chunks(5)
            .map(|ch| String::from_utf8(ch.to_vec()).unwrap().to_uppercase())
            .collect();
        assert_eq!(JoinCode::decode(&grouped.join("-\n ")).unwrap(), c);
        let mut none = c.clone();
        none.parent = None;
        none.role = Role::Street;
        assert_eq!(JoinCode::decode(&none.encode().unwrap()).unwrap(), none);
    }

    #[test]
    fn the_checksum_catches_a_typo_and_a_cut() {
        let text = code().encode().unwrap();
        // Every single-character substitution after the prefix is caught.
        let body: Vec<char> = text[CODE_PREFIX.len()..].chars().collect();
        for i in 0..body.len() {
            let mut t = body.clone();
            t[i] = if t[i] == 'a' { 'b' } else { 'a' };
            let typo = format!("{CODE_PREFIX}{}", t.iter().collect::<String>());
            let e = JoinCode::decode(&typo).unwrap_err();
            assert!(
                matches!(e, CodeError::Checksum | CodeError::Content(_)),
                "position {i}: {e}"
            );
            if i + 8 < body.len() {
                assert_eq!(e, CodeError::Checksum, "position {i}");
            }
        }
        // Swapped neighbours.
        let mut t = body.clone();
        let j = (0..t.len() - 1).find(|&j| t[j] != t[j + 1]).unwrap();
        t.swap(j, j + 1);
        let e = JoinCode::decode(&format!("{CODE_PREFIX}{}", t.iter().collect::<String>()));
        assert_eq!(e.unwrap_err(), CodeError::Checksum);
        // A character added at the end.
        assert_eq!(
            JoinCode::decode(&format!("{text}a")).unwrap_err(),
            CodeError::Checksum
        );
        // A code cut short.
        let cut = &text[..text.len() - 10];
        assert_eq!(JoinCode::decode(cut).unwrap_err(), CodeError::Checksum);
        // Characters outside the alphabet, and another prefix, are named.
        let e = JoinCode::decode(&format!("{text}0")).unwrap_err();
        assert!(e.to_string().contains("'0'"), "{e}");
        let e = JoinCode::decode("ln5k2abc").unwrap_err();
        assert!(e.to_string().contains("must start with `lj1`"), "{e}");
    }

    #[test]
    fn secrets_compare_in_constant_time_and_by_their_hash() {
        let a = secret_hash(&[1; SECRET_LEN]);
        let b = secret_hash(&[2; SECRET_LEN]);
        assert!(ct_eq(&a, &a));
        assert!(!ct_eq(&a, &b));
        assert_ne!(a, [1; 32]);
    }
}
