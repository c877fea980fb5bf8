//! Checks shared by both stores, run before anything reaches an engine: the engines accept
//! NaN and zero vectors silently and then rank them arbitrarily.

use std::collections::HashMap;

use crate::{Point, VectorError, MAX_AUDIENCE, MAX_CHANNELS, MAX_DIM, MAX_ID_BYTES, MAX_K};

pub(crate) fn dim(dim: usize) -> Result<(), VectorError> {
    if dim == 0 || dim > MAX_DIM {
        return Err(VectorError::InvalidInput(format!(
            "dimension {dim} is outside 1..={MAX_DIM}"
        )));
    }
    Ok(())
}

/// Ids name payload fields and files elsewhere; the same bound as the rest of Sextant.
pub(crate) fn text(what: &str, value: &str) -> Result<(), VectorError> {
    if value.is_empty() || value.len() > MAX_ID_BYTES {
        return Err(VectorError::InvalidInput(format!(
            "{what} must be 1..={MAX_ID_BYTES} bytes, got {}",
            value.len()
        )));
    }
    Ok(())
}

/// A vector cosine can rank: right length, finite, and not zero (cosine divides by the norm).
/// The norm is summed in f32 as the engines do, so a vector whose squares overflow is refused
/// here rather than turned into NaN scores there.
pub(crate) fn vector(vector: &[f32], dim: usize) -> Result<(), VectorError> {
    if vector.len() != dim {
        return Err(VectorError::DimensionMismatch {
            expected: dim,
            actual: vector.len(),
        });
    }
    if vector.iter().any(|x| !x.is_finite()) {
        return Err(VectorError::InvalidInput(
            "vector has a non-finite component".into(),
        ));
    }
    let norm_squared: f32 = vector.iter().map(|x| x * x).sum();
    if !norm_squared.is_finite() || norm_squared <= f32::MIN_POSITIVE {
        return Err(VectorError::InvalidInput(
            "vector norm is zero or overflows; cosine similarity is undefined".into(),
        ));
    }
    Ok(())
}

pub(crate) fn k(k: usize) -> Result<(), VectorError> {
    if k > MAX_K {
        return Err(VectorError::InvalidInput(format!(
            "k = {k} is above the limit of {MAX_K}"
        )));
    }
    Ok(())
}

pub(crate) fn audience_k(k: usize) -> Result<(), VectorError> {
    if k > MAX_AUDIENCE {
        return Err(VectorError::InvalidInput(format!(
            "an audience of {k} is above the limit of {MAX_AUDIENCE}"
        )));
    }
    Ok(())
}

pub(crate) fn min_score(min_score: Option<f32>) -> Result<(), VectorError> {
    match min_score {
        Some(s) if !(-1.0..=1.0).contains(&s) => Err(VectorError::InvalidInput(format!(
            "a minimum cosine similarity of {s} is outside -1..=1"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn point(point: &Point, dim: usize) -> Result<(), VectorError> {
    text("customer id", &point.customer_id)?;
    if point.payload.customer_id != point.customer_id {
        return Err(VectorError::InvalidInput(format!(
            "point for {} carries the payload of {}",
            point.customer_id, point.payload.customer_id
        )));
    }
    vector(&point.vector, dim)?;
    text("region", &point.payload.region)?;
    if point.payload.marketing_channels.len() > MAX_CHANNELS {
        return Err(VectorError::InvalidInput(format!(
            "more than {MAX_CHANNELS} marketing channels"
        )));
    }
    for channel in &point.payload.marketing_channels {
        text("marketing channel", channel)?;
    }
    Ok(())
}

/// Validates every point, then keeps the last point of each customer (in first-seen order),
/// so "last wins" holds whatever the engine does with duplicate ids in one operation.
pub(crate) fn points(points: Vec<Point>, dim: usize) -> Result<Vec<Point>, VectorError> {
    for p in &points {
        point(p, dim)?;
    }
    let mut slot_by_id: HashMap<String, usize> = HashMap::with_capacity(points.len());
    let mut unique: Vec<Point> = Vec::with_capacity(points.len());
    for p in points {
        match slot_by_id.get(&p.customer_id) {
            Some(&slot) => unique[slot] = p,
            None => {
                slot_by_id.insert(p.customer_id.clone(), unique.len());
                unique.push(p);
            }
        }
    }
    Ok(unique)
}

pub(crate) fn customer_ids(ids: &[String]) -> Result<(), VectorError> {
    ids.iter().try_for_each(|id| text("customer id", id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payload;

    fn sample(id: &str, x: f32) -> Point {
        Point {
            customer_id: id.into(),
            vector: vec![x, 1.0],
            payload: Payload {
                customer_id: id.into(),
                segment: None,
                region: "north".into(),
                profiling_consent: true,
                marketing_channels: vec!["email".into()],
            },
        }
    }

    #[test]
    fn refuses_bad_vectors() {
        assert!(matches!(
            vector(&[1.0], 2),
            Err(VectorError::DimensionMismatch {
                expected: 2,
                actual: 1
            })
        ));
        for bad in [
            [f32::NAN, 1.0],
            [f32::INFINITY, 1.0],
            [0.0, 0.0],
            [f32::MAX, 1.0],
        ] {
            assert!(matches!(vector(&bad, 2), Err(VectorError::InvalidInput(_))));
        }
        assert!(vector(&[1e-3, 0.0], 2).is_ok());
    }

    #[test]
    fn refuses_mismatched_payload_and_long_ids() {
        let mut p = sample("a", 1.0);
        p.payload.customer_id = "b".into();
        assert!(point(&p, 2).is_err());
        let long = "x".repeat(MAX_ID_BYTES + 1);
        assert!(point(&sample(&long, 1.0), 2).is_err());
        assert!(point(&sample("", 1.0), 2).is_err());
        assert!(k(MAX_K).is_ok() && k(MAX_K + 1).is_err());
    }

    #[test]
    fn last_point_of_a_customer_wins() {
        let unique = points(
            vec![sample("a", 1.0), sample("b", 2.0), sample("a", 3.0)],
            2,
        )
        .unwrap();
        let ids: Vec<_> = unique.iter().map(|p| p.customer_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(unique[0].vector[0], 3.0);
    }
}
