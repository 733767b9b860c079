//! An invertible Bloom lookup table over catalog items, for the one-round-trip fast path of
//! reconciliation: the responder sends the table of its items, the initiator subtracts its
//! own and peels the difference. Cost is proportional to the table size (chosen for a few
//! dozen differences), not to the catalog. When peeling fails the session falls back to
//! range-based reconciliation.

/// Bytes of an item key (the first bytes of its 32-byte catalog id).
pub(super) const KEY: usize = 12;
/// Cells of the table sent on the fast path (three hash positions per item, one per third).
pub(super) const CELLS: usize = 48;

/// Keys only in the first set, and keys only in the second.
pub(super) type Difference = (Vec<[u8; KEY]>, Vec<[u8; KEY]>);

/// One cell: how many items hashed here, and the XOR of their keys and check values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cell {
    count: i64,
    key: [u8; KEY],
    check: u32,
}

/// The table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Iblt {
    cells: Vec<Cell>,
}

fn digest(key: &[u8; KEY]) -> [u8; 32] {
    *blake3::hash(key).as_bytes()
}

fn positions(key: &[u8; KEY], m: usize) -> [usize; 3] {
    let d = digest(key);
    let third = (m / 3).max(1);
    let p = |i: usize| {
        let v = u32::from_le_bytes([d[4 + 4 * i], d[5 + 4 * i], d[6 + 4 * i], d[7 + 4 * i]]);
        i * third + (v as usize % third)
    };
    [p(0), p(1), p(2)]
}

fn check(key: &[u8; KEY]) -> u32 {
    let d = digest(key);
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

/// The key of a 32-byte catalog id.
pub(super) fn key_of(id: &[u8; 32]) -> [u8; KEY] {
    let mut k = [0u8; KEY];
    k.copy_from_slice(&id[..KEY]);
    k
}

impl Iblt {
    /// An empty table of `m` cells (a multiple of 3).
    pub(super) fn new(m: usize) -> Self {
        Self {
            cells: vec![Cell::default(); m.max(3) / 3 * 3],
        }
    }
    /// A table of the given keys.
    pub(super) fn of<'a>(m: usize, keys: impl IntoIterator<Item = &'a [u8; KEY]>) -> Self {
        let mut t = Self::new(m);
        for k in keys {
            t.toggle(k, 1);
        }
        t
    }
    fn toggle(&mut self, key: &[u8; KEY], sign: i64) {
        let c = check(key);
        let m = self.cells.len();
        for p in positions(key, m) {
            let cell = &mut self.cells[p];
            cell.count += sign;
            for (a, b) in cell.key.iter_mut().zip(key) {
                *a ^= b;
            }
            cell.check ^= c;
        }
    }
    /// `self − other`, cell by cell (tables of the same size).
    pub(super) fn subtract(&self, other: &Iblt) -> Option<Iblt> {
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
    pub(super) fn decode(mut self) -> Option<Difference> {
        let (mut plus, mut minus) = (Vec::new(), Vec::new());
        loop {
            let pure = self
                .cells
                .iter()
                .position(|c| (c.count == 1 || c.count == -1) && c.check == check(&c.key));
            let Some(i) = pure else { break };
            let c = self.cells[i];
            if c.count == 1 {
                plus.push(c.key);
            } else {
                minus.push(c.key);
            }
            self.toggle(&c.key, -c.count);
            if plus.len() + minus.len() > self.cells.len() {
                return None;
            }
        }
        let empty = self
            .cells
            .iter()
            .all(|c| c.count == 0 && c.check == 0 && c.key == [0; KEY]);
        empty.then_some((plus, minus))
    }
    /// Encoding: `[m: u16]` then per cell `[count: zigzag varint][key][check: u32]`.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.cells.len() * (KEY + 6));
        out.extend_from_slice(&u16::try_from(self.cells.len()).unwrap_or(0).to_le_bytes());
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
        out
    }
    /// Decodes a table; `None` on malformed input or a size other than a multiple of 3 up to
    /// 3,000 cells.
    pub(super) fn decode_bytes(b: &[u8]) -> Option<Iblt> {
        let m = usize::from(u16::from_le_bytes([*b.first()?, *b.get(1)?]));
        if m == 0 || m % 3 != 0 || m > 3000 {
            return None;
        }
        let mut rest = &b[2..];
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
            if rest.len() < KEY + 4 {
                return None;
            }
            let mut key = [0u8; KEY];
            key.copy_from_slice(&rest[..KEY]);
            let check =
                u32::from_le_bytes([rest[KEY], rest[KEY + 1], rest[KEY + 2], rest[KEY + 3]]);
            rest = &rest[KEY + 4..];
            cells.push(Cell { count, key, check });
        }
        rest.is_empty().then_some(Iblt { cells })
    }
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
        let wire = Iblt::decode_bytes(&tb.encode()).unwrap();
        assert_eq!(wire, tb);
        let (plus, minus) = wire.subtract(&ta).unwrap().decode().unwrap();
        assert_eq!(plus.len(), 12);
        assert_eq!(minus.len(), 10);
        assert!(minus.iter().all(|m| a[9_990..].contains(m)));
        // 300 differences do not fit in 60 cells.
        let c: Vec<_> = (30_000..30_300).map(k).collect();
        assert!(
            Iblt::of(CELLS, &c)
                .subtract(&ta)
                .unwrap()
                .decode()
                .is_none()
        );
        assert!(Iblt::decode_bytes(&[1, 2, 3]).is_none());
        assert!(Iblt::decode_bytes(&[]).is_none());
    }
}
