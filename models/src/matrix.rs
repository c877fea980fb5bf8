//! Tabular data as the models take it: an `ndarray` matrix of rows (customers, applicants)
//! by columns (features), `f64`, NaN for a missing value where a model allows one.
//!
//! A matrix is rectangular by construction, so a model never checks row widths; data that
//! arrives as rows (a JSON batch, a CSV file) is checked once, here, where a ragged row can
//! still be named.

use ndarray::Array2;

use crate::ModelError;

/// The rows as one matrix. Errors on a row whose width differs from the first's, naming it.
/// No rows give a 0 x 0 matrix.
pub fn from_rows(rows: &[Vec<f64>]) -> Result<Array2<f64>, ModelError> {
    let width = rows.first().map_or(0, Vec::len);
    let mut values = Vec::with_capacity(rows.len() * width);
    for (row_index, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(ModelError::ShapeMismatch {
                what: "feature",
                row: row_index,
                expected: width,
                found: row.len(),
            });
        }
        values.extend_from_slice(row);
    }
    Ok(Array2::from_shape_vec((rows.len(), width), values).expect("the shape holds every value"))
}

/// `rows` x `width` values produced row by row.
pub fn from_fn_rows(
    rows: usize,
    width: usize,
    mut row: impl FnMut(usize, &mut [f64]),
) -> Array2<f64> {
    let mut values = vec![0.0; rows * width];
    if width > 0 {
        for (i, chunk) in values.chunks_exact_mut(width).enumerate() {
            row(i, chunk);
        }
    }
    Array2::from_shape_vec((rows, width), values).expect("the shape holds every value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_a_matrix_and_a_ragged_row_is_named() {
        let m = from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
        assert_eq!(m.dim(), (2, 2));
        assert_eq!(m[(1, 0)], 3.0);
        assert_eq!(from_rows(&[]).unwrap().dim(), (0, 0));
        assert!(matches!(
            from_rows(&[vec![1.0, 2.0], vec![1.0]]),
            Err(ModelError::ShapeMismatch {
                row: 1,
                expected: 2,
                found: 1,
                ..
            })
        ));
    }

    #[test]
    fn rows_can_be_written_in_place() {
        let m = from_fn_rows(3, 2, |i, row| {
            row[0] = i as f64;
            row[1] = 10.0 * i as f64;
        });
        assert_eq!(m.row(2).to_vec(), vec![2.0, 20.0]);
        assert_eq!(from_fn_rows(2, 0, |_, _| {}).dim(), (2, 0));
    }
}
