//! Stable content hashes of training inputs and weights: 128-bit FNV-1a (`sextant_hash`)
//! over a canonical little-endian byte stream.
//!
//! Not cryptographic; it names a training set or a set of weights so that two runs can be
//! compared, and it must never change between releases (saved metadata holds its output).

use sextant_hash::Fnv128;

fn write_usize(hasher: &mut Fnv128, value: usize) {
    hasher.write(&(value as u64).to_le_bytes());
}

/// A matrix with its shape: row count, then each row's length and values, so that different
/// shapes holding the same numbers hash differently.
pub(crate) fn write_rows(hasher: &mut Fnv128, rows: &[Vec<f32>]) {
    write_usize(hasher, rows.len());
    for row in rows {
        write_usize(hasher, row.len());
        write_f32s(hasher, row);
    }
}

pub(crate) fn write_f32s(hasher: &mut Fnv128, values: &[f32]) {
    for value in values {
        hasher.write(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_part_of_the_hash() {
        let mut one_row = Fnv128::new();
        write_rows(&mut one_row, &[vec![1.0, 2.0]]);
        let mut two_rows = Fnv128::new();
        write_rows(&mut two_rows, &[vec![1.0], vec![2.0]]);
        assert_ne!(one_row.hex(), two_rows.hex());
    }
}
