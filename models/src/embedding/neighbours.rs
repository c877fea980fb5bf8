//! Nearest neighbours in the prepared input space: the "who resembles whom" that training
//! teaches the encoder to keep.
//!
//! Exact search by matrix products (|q - p|^2 = |q|^2 + |p|^2 - 2 q.p, the |q|^2 term being
//! irrelevant to a query's ranking). Search cost is quadratic, so rows are searched within
//! pools of at most [`MAX_POOL_ROWS`]: neighbours from a random pool of that size are nearly
//! as near as the true ones, and cost grows linearly with the data.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

/// Largest pool searched exhaustively: 20,000^2 distances, a few seconds on two cores.
pub(crate) const MAX_POOL_ROWS: usize = 20_000;
/// Queries per matrix product: bounds the distance block to 512 x 20,000 floats (40 MB).
const QUERY_BLOCK_ROWS: usize = 512;

/// Points in the metric space, row-major.
pub(crate) struct Points<'a> {
    pub(crate) values: &'a [f32],
    pub(crate) width: usize,
}

impl Points<'_> {
    fn gather(&self, rows: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows.len() * self.width);
        for &row in rows {
            out.extend_from_slice(&self.values[row * self.width..(row + 1) * self.width]);
        }
        out
    }
}

/// Splits `rows` (already shuffled) into pools of nearly equal size, none over the limit.
pub(crate) fn pools(rows: &[usize]) -> Vec<&[usize]> {
    let count = rows.len().div_ceil(MAX_POOL_ROWS).max(1);
    let size = rows.len().div_ceil(count);
    rows.chunks(size.max(1)).collect()
}

/// For each query, the `k` nearest pool rows (nearest first), never the query itself; ties
/// are broken by row index so the result is deterministic. Needs a pool of more than `k` rows.
pub(crate) fn nearest(
    points: &Points,
    queries: &[usize],
    pool: &[usize],
    k: usize,
) -> candle_core::Result<Vec<Vec<usize>>> {
    assert!(
        pool.len() > k,
        "a pool of {} rows cannot give {k} neighbours",
        pool.len()
    );
    let device = Device::Cpu;
    let pool_values = Tensor::from_vec(points.gather(pool), (pool.len(), points.width), &device)?;
    let pool_norms: Vec<f32> = pool_values.sqr()?.sum(1)?.to_vec1()?;
    let pool_t = pool_values.t()?;
    let mut result = Vec::with_capacity(queries.len());
    for block in queries.chunks(QUERY_BLOCK_ROWS) {
        let q = Tensor::from_vec(points.gather(block), (block.len(), points.width), &device)?;
        let dots: Vec<Vec<f32>> = q.matmul(&pool_t)?.to_vec2()?;
        let found: Vec<Vec<usize>> = block
            .par_iter()
            .zip(dots.par_iter())
            .map(|(&query, dots)| top_k(query, dots, &pool_norms, pool, k))
            .collect();
        result.extend(found);
    }
    Ok(result)
}

fn top_k(query: usize, dots: &[f32], pool_norms: &[f32], pool: &[usize], k: usize) -> Vec<usize> {
    let mut candidates: Vec<(f32, usize)> = dots
        .iter()
        .zip(pool_norms)
        .zip(pool)
        .filter(|(_, &row)| row != query)
        .map(|((dot, norm), &row)| (norm - 2.0 * dot, row))
        .collect();
    let order = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    candidates.select_nth_unstable_by(k - 1, order);
    candidates.truncate(k);
    candidates.sort_unstable_by(order);
    candidates.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_points_on_a_line() {
        let values: Vec<f32> = [0.0, 1.0, 3.0, 7.0, 15.0].to_vec();
        let points = Points {
            values: &values,
            width: 1,
        };
        let all: Vec<usize> = (0..5).collect();
        let found = nearest(&points, &all, &all, 2).unwrap();
        assert_eq!(found[0], vec![1, 2]);
        assert_eq!(found[2], vec![1, 0]);
        assert_eq!(found[4], vec![3, 2]);
    }

    #[test]
    fn pools_cover_every_row_within_the_limit() {
        let rows: Vec<usize> = (0..45_001).collect();
        let pools = pools(&rows);
        assert_eq!(pools.len(), 3);
        assert!(pools.iter().all(|p| p.len() <= MAX_POOL_ROWS));
        assert_eq!(pools.iter().map(|p| p.len()).sum::<usize>(), rows.len());
    }
}
