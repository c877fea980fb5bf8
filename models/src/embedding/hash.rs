//! Stable content hashes: 128-bit FNV-1a over a canonical little-endian byte stream.
//!
//! Not cryptographic; it names a training set or a set of weights so that two runs can be
//! compared, and it must never change between releases (saved metadata holds its output).

const FNV_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

pub(crate) struct Fnv128(u128);

impl Fnv128 {
    pub(crate) fn new() -> Self {
        Fnv128(FNV_OFFSET)
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    pub(crate) fn usize(&mut self, value: usize) {
        self.bytes(&(value as u64).to_le_bytes());
    }

    /// A matrix with its shape: row count, then each row's length and values, so that
    /// different shapes holding the same numbers hash differently.
    pub(crate) fn rows(&mut self, rows: &[Vec<f32>]) {
        self.usize(rows.len());
        for row in rows {
            self.usize(row.len());
            self.f32s(row);
        }
    }

    pub(crate) fn f32s(&mut self, values: &[f32]) {
        for value in values {
            self.bytes(&value.to_le_bytes());
        }
    }

    pub(crate) fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_128_vectors() {
        let mut empty = Fnv128::new();
        empty.bytes(b"");
        assert_eq!(empty.hex(), "6c62272e07bb014262b821756295c58d");
        let mut a = Fnv128::new();
        a.bytes(b"a");
        assert_eq!(a.hex(), "d228cb696f1a8caf78912b704e4a8964");
    }

    #[test]
    fn shape_is_part_of_the_hash() {
        let mut one_row = Fnv128::new();
        one_row.rows(&[vec![1.0, 2.0]]);
        let mut two_rows = Fnv128::new();
        two_rows.rows(&[vec![1.0], vec![2.0]]);
        assert_ne!(one_row.hex(), two_rows.hex());
    }
}
