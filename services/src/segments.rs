//! The segments explorer's map: customers' embeddings projected onto their first two
//! principal components (computed here, on a bounded sample), each point with its segment.
//! The map is kept for [`MAP_MAX_AGE`]: it describes the population's shape, which moves
//! slowly, and computing it reads every profile.

use serde::Serialize;
use sextant_domain::CustomerId;
use utoipa::ToSchema;

use crate::{Context, Result};

/// Customers projected at most: enough to see the segments' shapes, cheap to draw.
pub const MAP_SAMPLE_MAX: usize = 2_000;
/// How long a computed map is served before it is computed again.
pub const MAP_MAX_AGE: chrono::Duration = chrono::Duration::minutes(10);
/// Power-iteration steps per component (converges far sooner on embeddings of this size).
const POWER_STEPS: usize = 200;

/// One customer on the map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapPoint {
    pub customer_id: String,
    /// Coordinate on the first principal component of the embeddings.
    pub x: f64,
    /// Coordinate on the second principal component.
    pub y: f64,
    /// The customer's k-means segment; null when not yet assigned.
    pub segment: Option<u32>,
}

/// Customers' embeddings projected onto their first two principal components.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbeddingMap {
    /// When the projection was computed (RFC 3339); it is kept for 10 minutes.
    #[schema(value_type = String)]
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// Up to 2,000 customers, spread over the id range.
    pub points: Vec<MapPoint>,
    /// Share of the sample's variance along each axis.
    pub explained_variance: [f64; 2],
    /// Dimensions of the embeddings projected.
    pub dimensions: usize,
}

/// The map of [`MAP_SAMPLE_MAX`] customers, computed at most [`MAP_MAX_AGE`] ago.
pub async fn current_map(ctx: &Context) -> Result<std::sync::Arc<EmbeddingMap>> {
    let now = chrono::Utc::now();
    if let Some((at, map)) = ctx.engines.segment_map.read().await.as_ref() {
        if now - *at < MAP_MAX_AGE {
            return Ok(map.clone());
        }
    }
    let mut slot = ctx.engines.segment_map.write().await;
    // Another request may have computed it while this one waited.
    if let Some((at, map)) = slot.as_ref() {
        if now - *at < MAP_MAX_AGE {
            return Ok(map.clone());
        }
    }
    let map = std::sync::Arc::new(embedding_map(ctx, MAP_SAMPLE_MAX).await?);
    *slot = Some((now, map.clone()));
    Ok(map)
}

/// The projection of up to `sample` profiled customers (spread over the id range).
pub async fn embedding_map(ctx: &Context, sample: usize) -> Result<EmbeddingMap> {
    let sample = sample.clamp(1, MAP_SAMPLE_MAX);
    let mut rows: Vec<(String, Option<u32>, Vec<f64>)> = Vec::with_capacity(sample);
    let mut after: Option<CustomerId> = None;
    // Every k-th profile of each page, so the sample spans the whole population.
    let total = ctx
        .vectors
        .count()
        .await
        .map_err(|e| crate::ServiceError::Unavailable(e.to_string()))?;
    let stride = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .div_ceil(sample)
        .max(1);
    loop {
        let page = ctx
            .store
            .profiles(after.as_ref(), sextant_store::PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for p in page.iter().step_by(stride) {
            if rows.len() >= sample {
                break;
            }
            if let Some(v) = ctx
                .vectors
                .vector(p.customer_id.as_str())
                .await
                .map_err(|e| crate::ServiceError::Unavailable(e.to_string()))?
            {
                rows.push((
                    p.customer_id.to_string(),
                    p.segment,
                    v.into_iter().map(f64::from).collect(),
                ));
            }
        }
        if rows.len() >= sample {
            break;
        }
    }
    let vectors: Vec<&[f64]> = rows.iter().map(|r| r.2.as_slice()).collect();
    let (axes, explained) = principal_axes(&vectors);
    let dimensions = vectors.first().map_or(0, |v| v.len());
    let mean = mean(&vectors);
    let points = rows
        .iter()
        .map(|(id, segment, v)| {
            let centred: Vec<f64> = v.iter().zip(&mean).map(|(a, m)| a - m).collect();
            MapPoint {
                customer_id: id.clone(),
                x: dot(&centred, &axes[0]),
                y: dot(&centred, &axes[1]),
                segment: *segment,
            }
        })
        .collect();
    Ok(EmbeddingMap {
        computed_at: chrono::Utc::now(),
        points,
        explained_variance: explained,
        dimensions,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn mean(rows: &[&[f64]]) -> Vec<f64> {
    let d = rows.first().map_or(0, |r| r.len());
    let mut m = vec![0.0; d];
    for r in rows {
        for (a, b) in m.iter_mut().zip(r.iter()) {
            *a += b;
        }
    }
    let n = rows.len().max(1) as f64;
    m.iter_mut().for_each(|a| *a /= n);
    m
}

/// The first two eigenvectors of the sample covariance (power iteration with deflation)
/// and the share of the total variance along each.
fn principal_axes(rows: &[&[f64]]) -> ([Vec<f64>; 2], [f64; 2]) {
    let d = rows.first().map_or(0, |r| r.len());
    if d == 0 || rows.len() < 2 {
        return ([vec![0.0; d], vec![0.0; d]], [0.0, 0.0]);
    }
    let m = mean(rows);
    let n = (rows.len() - 1) as f64;
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&m).map(|(a, b)| a - b).collect())
        .collect();
    let mut cov: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| centred.iter().map(|c| c[i] * c[j]).sum::<f64>() / n)
                .collect()
        })
        .collect();
    let trace: f64 = cov.iter().enumerate().map(|(i, row)| row[i]).sum();
    let mut axes: [Vec<f64>; 2] = [vec![0.0; d], vec![0.0; d]];
    let mut shares = [0.0; 2];
    for k in 0..2 {
        // A fixed, non-degenerate start keeps the map the same from run to run.
        let mut v: Vec<f64> = (0..d)
            .map(|i| 1.0 + i as f64 * 0.01 * (k as f64 + 1.0))
            .collect();
        let mut eigen = 0.0;
        for _ in 0..POWER_STEPS {
            let w: Vec<f64> = cov.iter().map(|row| dot(row, &v)).collect();
            let norm = dot(&w, &w).sqrt();
            if norm == 0.0 {
                break;
            }
            v = w.iter().map(|x| x / norm).collect();
            eigen = norm;
        }
        // Deflate: remove the found component before looking for the next.
        for (row, vi) in cov.iter_mut().zip(&v) {
            for (cell, vj) in row.iter_mut().zip(&v) {
                *cell -= eigen * vi * vj;
            }
        }
        shares[k] = if trace > 0.0 { eigen / trace } else { 0.0 };
        axes[k] = v;
    }
    (axes, shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_axis_follows_the_widest_spread() {
        // Points along (1, 1) with a little spread along (1, -1).
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                let t = f64::from(i) - 25.0;
                let e = if i % 2 == 0 { 0.1 } else { -0.1 };
                vec![t + e, t - e]
            })
            .collect();
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let ([a, b], shares) = principal_axes(&refs);
        assert!((a[0].abs() - a[1].abs()).abs() < 1e-3, "{a:?}");
        assert!(a[0] * a[1] > 0.0, "first axis along (1, 1)");
        assert!(dot(&a, &b).abs() < 1e-6, "axes are orthogonal");
        assert!(shares[0] > 0.99 && shares[1] < 0.01, "{shares:?}");
    }
}
