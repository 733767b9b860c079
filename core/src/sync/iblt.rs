//! Invertible Bloom lookup tables over catalog items, and a strata estimator of the size of
//! a difference.
//!
//! The fast path of reconciliation: the responder sends a table of its items, the initiator
//! subtracts its own and peels the difference. The first table has [`CELLS`] cells (a few
//! dozen differences peel in one round trip). When it does not peel, the initiator sends a
//! [`Strata`] estimator of its items; the responder subtracts its own, estimates the size of
//! the difference and sends a table sized for it. Cost is proportional to the difference,
//! not to the catalog. When peeling still fails the session falls back to range-based
//! reconciliation.

/// Bytes of an item key (the first bytes of its 32-byte catalog id).
pub(super) const KEY: usize = 12;
/// Cells of the first table (three hash positions per item, one per third).
pub(super) const CELLS: usize = 48;
/// Most cells of a table on the wire (its size is a `u16`; 65,535 cells are ≈ 1.1 MB).
pub(super) const MAX_CELLS: usize = 65_535;
/// Strata of the estimator: stratum `i` holds the items whose key has `i` trailing zero
/// bits (the last one the rest), so the estimator covers differences up to millions.
pub(super) const STRATA: usize = 16;
/// Cells of each stratum.
pub(super) const STRATUM_CELLS: usize = 48;
/// Bytes of the short keys the estimator's cells hold (it counts, it recovers nothing).
const SHORT: usize = 4;

/// Keys only in the first set, and keys only in the second.
pub(super) type Difference<const K: usize> = (Vec<[u8; K]>, Vec<[u8; K]>);

/// One cell: how many items hashed here, and the XOR of their keys and check values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell<const K: usize> {
    count: i64,
    key: [u8; K],
    check: u32,
}

impl<const K: usize> Default for Cell<K> {
    fn default() -> Self {
        Self {
            count: 0,
            key: [0; K],
            check: 0,
        }
    }
}

/// A table of `K`-byte keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Iblt<const K: usize = KEY> {
    cells: Vec<Cell<K>>,
}

fn digest<const K: usize>(key: &[u8; K]) -> [u8; 32] {
    *blake3::hash(key).as_bytes()
}

fn positions(d: &[u8; 32], m: usize) -> [usize; 3] {
    let third = (m / 3).max(1);
    let p = |i: usize| {
        let v = u32::from_le_bytes([d[4 + 4 * i], d[5 + 4 * i], d[6 + 4 * i], d[7 + 4 * i]]);
        i * third + (v as usize % third)
    };
    [p(0), p(1), p(2)]
}

fn check_of(d: &[u8; 32]) -> u32 {
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

/// The key of a 32-byte catalog id.
pub(super) fn key_of(id: &[u8; 32]) -> [u8; KEY] {
    let mut k = [0u8; KEY];
    k.copy_from_slice(&id[..KEY]);
    k
}

impl<const K: usize> Iblt<K> {
    /// An empty table of `m` cells (rounded down to a multiple of 3, at least 3).
    pub(super) fn new(m: usize) -> Self {
        Self {
            cells: vec![Cell::default(); m.clamp(3, MAX_CELLS) / 3 * 3],
        }
    }
    /// A table of the given keys.
    pub(super) fn of<'a>(m: usize, keys: impl IntoIterator<Item = &'a [u8; K]>) -> Self {
        let mut t = Self::new(m);
        for k in keys {
            t.toggle(k, 1);
        }
        t
    }
    /// Cells of the table.
    pub(super) fn len(&self) -> usize {
        self.cells.len()
    }
    fn toggle(&mut self, key: &[u8; K], sign: i64) {
        let d = digest(key);
        let c = check_of(&d);
        let m = self.cells.len();
        for p in positions(&d, m) {
            let cell = &mut self.cells[p];
            cell.count += sign;
            for (a, b) in cell.key.iter_mut().zip(key) {
                *a ^= b;
            }
            cell.check ^= c;
        }
    }
    fn pure(&self, i: usize) -> bool {
        let c = &self.cells[i];
        (c.count == 1 || c.count == -1) && c.check == check_of(&digest(&c.key))
    }
    /// `self − other`, cell by cell (tables of the same size).
    pub(super) fn subtract(&self, other: &Iblt<K>) -> Option<Iblt<K>> {
        if self.cells.len() != other.cells.len() {
            return None;
        }
        let cells = self
            .cells
            .iter()
            .zip(&other.cells)
            .map(|(a, b)| {
                let mut key = a.key;
                for (x, y) in key.iter_mut().zip(&b.key) {
                    *x ^= y;
                }
                Cell {
                    count: a.count - b.count,
                    key,
                    check: a.check ^ b.check,
                }
            })
            .collect();
        Some(Iblt { cells })
    }
    /// Peels a difference table: keys only in the first set (count +1) and only in the
    /// second (count −1). `None` if the difference is too large to peel.
    pub(super) fn decode(mut self) -> Option<Difference<K>> {
        let (mut plus, mut minus) = (Vec::new(), Vec::new());
        let m = self.cells.len();
        // Cells that may be pure: all at first, then those a peeled key touched.
        let mut todo: Vec<usize> = (0..m).rev().collect();
        while let Some(i) = todo.pop() {
            if !self.pure(i) {
                continue;
            }
            let c = self.cells[i];
            if c.count == 1 {
                plus.push(c.key);
            } else {
                minus.push(c.key);
            }
            self.toggle(&c.key, -c.count);
            if plus.len() + minus.len() > m {
                return None;
            }
            todo.extend(positions(&digest(&c.key), m));
        }
        let empty = self
            .cells
            .iter()
            .all(|c| c.count == 0 && c.check == 0 && c.key == [0; K]);
        empty.then_some((plus, minus))
    }
    /// Encoding: `[m: u16]` then per cell `[count: zigzag varint][key][check: u32]`.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.cells.len() * (K + 6));
        // Invariant: `new` keeps the size at most MAX_CELLS = u16::MAX.
        out.extend_from_slice(&u16::try_from(self.cells.len()).unwrap_or(0).to_le_bytes());
        self.encode_cells(&mut out);
        out
    }
    fn encode_cells(&self, out: &mut Vec<u8>) {
        for c in &self.cells {
            let mut z = ((c.count << 1) ^ (c.count >> 63)) as u64;
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend_from_slice(&c.key);
            out.extend_from_slice(&c.check.to_le_bytes());
        }
    }
    /// Decodes a table of at most `max` cells; `None` on malformed input or a size other
    /// than a multiple of 3 up to `max`.
    pub(super) fn decode_bytes(b: &[u8], max: usize) -> Option<Iblt<K>> {
        let m = usize::from(u16::from_le_bytes([*b.first()?, *b.get(1)?]));
        if m == 0 || m % 3 != 0 || m > max {
            return None;
        }
        let (t, rest) = Self::decode_cells(&b[2..], m)?;
        rest.is_empty().then_some(t)
    }
    /// Decodes `m` cells from the front of `b`, returning the rest.
    fn decode_cells(mut rest: &[u8], m: usize) -> Option<(Iblt<K>, &[u8])> {
        // Each cell takes at least K + 5 bytes: refuse sizes the input cannot hold before
        // allocating.
        if rest.len() / (K + 5) < m {
            return None;
        }
        let mut cells = Vec::with_capacity(m);
        for _ in 0..m {
            let mut z = 0u64;
            let mut shift = 0;
            loop {
                let (&byte, r) = rest.split_first()?;
                rest = r;
                if shift > 63 {
                    return None;
                }
                z |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            let count = ((z >> 1) as i64) ^ -((z & 1) as i64);
            if rest.len() < K + 4 {
                return None;
            }
            let mut key = [0u8; K];
            key.copy_from_slice(&rest[..K]);
            let check = u32::from_le_bytes([rest[K], rest[K + 1], rest[K + 2], rest[K + 3]]);
            rest = &rest[K + 4..];
            cells.push(Cell { count, key, check });
        }
        Some((Iblt { cells }, rest))
    }
}

/// A strata estimator (Eppstein et al., "What's the difference?", 2011): [`STRATA`] small
/// tables of short keys, stratum `i` holding the items whose key has `i` trailing zero bits
/// (a share of 2^−(i+1)). Subtracting another set's estimator and peeling from the sparsest
/// stratum down estimates the size of the difference: when stratum `i` fails to peel, the
/// strata above it held a share of 2^−(i+1) of the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Strata {
    strata: Vec<Iblt<SHORT>>,
}

fn stratum_of(key: &[u8; KEY]) -> usize {
    let v = u32::from_le_bytes([key[8], key[9], key[10], key[11]]);
    (v.trailing_zeros() as usize).min(STRATA - 1)
}

impl Strata {
    /// The estimator of the given keys.
    pub(super) fn of<'a>(keys: impl IntoIterator<Item = &'a [u8; KEY]>) -> Self {
        let mut strata = vec![Iblt::<SHORT>::new(STRATUM_CELLS); STRATA];
        for k in keys {
            let mut short = [0u8; SHORT];
            short.copy_from_slice(&k[..SHORT]);
            strata[stratum_of(k)].toggle(&short, 1);
        }
        Self { strata }
    }
    /// Estimated size of the difference between `self`'s set and `other`'s.
    pub(super) fn estimate(&self, other: &Strata) -> usize {
        let mut count = 0usize;
        for i in (0..STRATA).rev() {
            let decoded = self.strata[i]
                .subtract(&other.strata[i])
                .and_then(Iblt::decode);
            match decoded {
                Some((a, b)) => count += a.len() + b.len(),
                None => return count.max(1).saturating_mul(1 << (i + 1)),
            }
        }
        count
    }
    /// Encoding: the strata's cells, one after another (their sizes are fixed).
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STRATA * STRATUM_CELLS * (SHORT + 5));
        for s in &self.strata {
            s.encode_cells(&mut out);
        }
        out
    }
    /// Decodes an estimator; `None` on malformed input (the sizes are fixed, so nothing in
    /// the input chooses how much is allocated).
    pub(super) fn decode_bytes(mut b: &[u8]) -> Option<Strata> {
        let mut strata = Vec::with_capacity(STRATA);
        for _ in 0..STRATA {
            let (t, rest) = Iblt::<SHORT>::decode_cells(b, STRATUM_CELLS)?;
            strata.push(t);
            b = rest;
        }
        b.is_empty().then_some(Strata { strata })
    }
}

/// Cells of a table sized for an estimated difference `d`: 1.8 per item plus [`CELLS`].
/// Peeling needs ≈ 1.23 cells per item with three hash positions; the rest is margin for
/// the estimate's error (with 48-cell strata, 1 in 100 estimates is low enough that the
/// table does not peel and a `GROW` follows). `None` when the table would exceed
/// [`MAX_CELLS`].
pub(super) fn cells_for(d: usize) -> Option<usize> {
    let m = d.saturating_mul(9).div_ceil(5).saturating_add(CELLS);
    (m <= MAX_CELLS).then(|| m.div_ceil(3) * 3)
}

/// Cells of the table asked for when one of `m` cells did not peel: twice as many, `None`
/// past [`MAX_CELLS`].
pub(super) fn grown(m: usize) -> Option<usize> {
    let m = m.saturating_mul(2);
    (m <= MAX_CELLS).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u32) -> [u8; KEY] {
        key_of(blake3::hash(&i.to_le_bytes()).as_bytes())
    }

    #[test]
    fn peels_small_differences_and_refuses_large_ones() {
        let a: Vec<_> = (0..10_000).map(k).collect();
        let mut b = a.clone();
        b.truncate(9_990);
        b.extend((20_000..20_012).map(k));
        let ta = Iblt::of(CELLS, &a);
        let tb = Iblt::of(CELLS, &b);
        let wire = Iblt::decode_bytes(&tb.encode(), CELLS).unwrap();
        assert_eq!(wire, tb);
        let (plus, minus) = wire.subtract(&ta).unwrap().decode().unwrap();
        assert_eq!(plus.len(), 12);
        assert_eq!(minus.len(), 10);
        assert!(minus.iter().all(|m| a[9_990..].contains(m)));
        // 300 differences do not fit in 48 cells.
        let c: Vec<_> = (30_000..30_300).map(k).collect();
        assert!(
            Iblt::of(CELLS, &c)
                .subtract(&ta)
                .unwrap()
                .decode()
                .is_none()
        );
        assert!(Iblt::<KEY>::decode_bytes(&[1, 2, 3], MAX_CELLS).is_none());
        assert!(Iblt::<KEY>::decode_bytes(&[], MAX_CELLS).is_none());
    }

    #[test]
    fn sized_tables_peel_the_estimated_difference() {
        let a: Vec<_> = (0..10_000).map(k).collect();
        for (d, salt) in [(40u32, 1u32), (300, 2), (2_000, 3), (6_000, 4)] {
            let mut b = a.clone();
            for i in 0..d / 2 {
                b[(i * 7 % 10_000) as usize] = k(100_000 * salt + i);
            }
            let est =
                Strata::of(&b).estimate(&Strata::decode_bytes(&Strata::of(&a).encode()).unwrap());
            let d = d as usize;
            assert!(est * 2 > d && est < d * 2, "d {d}, estimate {est}");
            let m = cells_for(est).unwrap();
            let tb = Iblt::decode_bytes(&Iblt::of(m, &b).encode(), MAX_CELLS).unwrap();
            let (plus, minus) = tb.subtract(&Iblt::of(m, &a)).unwrap().decode().unwrap();
            assert_eq!((plus.len(), minus.len()), (d / 2, d / 2));
        }
        assert_eq!(Strata::of(&a).estimate(&Strata::of(&a)), 0);
        assert!(cells_for(MAX_CELLS).is_none());
    }

    #[test]
    fn malformed_tables_and_estimators_are_refused() {
        let t = Iblt::<KEY>::of(CELLS, &[k(1), k(2)]).encode();
        // A size over the bound, a size not a multiple of 3, and an absurd size that the
        // input cannot hold are refused before anything is allocated.
        assert!(Iblt::<KEY>::decode_bytes(&t, 45).is_none());
        let mut odd = t.clone();
        odd[..2].copy_from_slice(&47u16.to_le_bytes());
        assert!(Iblt::<KEY>::decode_bytes(&odd, MAX_CELLS).is_none());
        let mut absurd = t.clone();
        absurd[..2].copy_from_slice(&65_535u16.to_le_bytes());
        assert!(Iblt::<KEY>::decode_bytes(&absurd, MAX_CELLS).is_none());
        assert!(Iblt::<KEY>::decode_bytes(&[0, 0], MAX_CELLS).is_none());
        // Truncated or extended tables.
        assert!(Iblt::<KEY>::decode_bytes(&t[..t.len() - 1], MAX_CELLS).is_none());
        assert!(Iblt::<KEY>::decode_bytes(&[&t[..], &[0]].concat(), MAX_CELLS).is_none());
        // An over-long varint count.
        let mut long = t[..2].to_vec();
        long.extend([0xff; 11]);
        long.extend([0; KEY + 4]);
        assert!(Iblt::<KEY>::decode_bytes(&long, MAX_CELLS).is_none());
        // Estimators: fixed size, so anything else is refused.
        let s = Strata::of(&[k(1)]).encode();
        assert_eq!(Strata::decode_bytes(&s), Some(Strata::of(&[k(1)])));
        assert!(Strata::decode_bytes(&s[..s.len() - 1]).is_none());
        assert!(Strata::decode_bytes(&[&s[..], &[0]].concat()).is_none());
        assert!(Strata::decode_bytes(&[]).is_none());
    }
}
