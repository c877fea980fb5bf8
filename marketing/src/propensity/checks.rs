//! What every offer model must satisfy, whether just fitted or read from a file: valid,
//! unique product ids and feature names within the limits, and a body whose every shape the
//! scorer relies on (lengths, finite numbers, shares inside 0..1), so that no model can make
//! scoring panic or answer NaN.

use std::collections::HashSet;

use sextant_domain::ProductId;
use sextant_models::linear::Standardizer;

use super::{
    column, Body, MarketingError, ProductModel, FORMAT, MAX_FEATURES, MAX_PRODUCTS, MAX_SEGMENTS,
};

/// Product ids are catalogue ids, unique, at most [`MAX_PRODUCTS`]; feature names are unique
/// and non-empty, at most [`MAX_FEATURES`]. Also checks loaded model files.
pub(super) fn check_names(
    product_ids: &[String],
    feature_names: &[String],
) -> Result<(), MarketingError> {
    if product_ids.is_empty() || product_ids.len() > MAX_PRODUCTS {
        return Err(MarketingError::invalid(
            "product_ids",
            format!(
                "has {} products; a model covers 1 to {MAX_PRODUCTS}",
                product_ids.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, id) in product_ids.iter().enumerate() {
        if let Err(error) = ProductId::parse(id) {
            return Err(MarketingError::invalid(
                format!("product_ids[{i}]"),
                error.message,
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(MarketingError::invalid(
                format!("product_ids[{i}]"),
                format!("`{id}` appears twice"),
            ));
        }
    }
    if feature_names.len() > MAX_FEATURES {
        return Err(MarketingError::invalid(
            "feature_names",
            format!(
                "has {} names; the limit is {MAX_FEATURES}",
                feature_names.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, name) in feature_names.iter().enumerate() {
        if name.is_empty() {
            return Err(MarketingError::invalid(
                format!("feature_names[{i}]"),
                "is empty",
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(MarketingError::invalid(
                format!("feature_names[{i}]"),
                format!("`{name}` appears twice"),
            ));
        }
    }
    Ok(())
}

/// Every shape the scorer relies on.
pub(super) fn check_body(body: &Body) -> Result<(), String> {
    if body.format != FORMAT {
        return Err(format!(
            "format `{}` is not `{FORMAT}`",
            body.format.chars().take(40).collect::<String>()
        ));
    }
    check_names(&body.product_ids, &body.feature_names).map_err(|e| e.to_string())?;
    let products = body.product_ids.len();
    let features = body.feature_names.len();
    check_standardizer("profile", &body.profile, features)?;
    check_shares("overall_popularity", &body.overall_popularity, products)?;
    if body.segments.len() > MAX_SEGMENTS {
        return Err(format!(
            "{} segments; the limit is {MAX_SEGMENTS}",
            body.segments.len()
        ));
    }
    for pair in body.segments.windows(2) {
        if pair[0].segment >= pair[1].segment {
            return Err("segments are not in increasing order".to_owned());
        }
    }
    for segment in &body.segments {
        check_shares(
            &format!("segment {} shares", segment.segment),
            &segment.shares,
            products,
        )?;
    }
    if body.products.len() != products {
        return Err(format!(
            "{} product models for {products} products",
            body.products.len()
        ));
    }
    for (id, model) in body.product_ids.iter().zip(&body.products) {
        if let ProductModel::Logistic {
            extras, regression, ..
        } = model
        {
            check_standardizer(&format!("{id} extras"), extras, column::EXTRA)?;
            if regression.weights.len() != features + column::EXTRA {
                return Err(format!(
                    "{id} has {} weights; expected {}",
                    regression.weights.len(),
                    features + column::EXTRA
                ));
            }
            let finite = regression.weights.iter().all(|w| w.is_finite())
                && regression.intercept.is_finite();
            if !finite {
                return Err(format!("{id} has a non-finite weight"));
            }
        }
    }
    Ok(())
}

fn check_standardizer(what: &str, standardizer: &Standardizer, width: usize) -> Result<(), String> {
    if standardizer.mean.len() != width || standardizer.std.len() != width {
        return Err(format!(
            "{what} standardisation is not {width} columns wide"
        ));
    }
    let usable = standardizer.mean.iter().all(|m| m.is_finite())
        && standardizer.std.iter().all(|s| s.is_finite() && *s > 0.0);
    if !usable {
        return Err(format!(
            "{what} standardisation has a non-finite mean or a standard deviation that is not positive"
        ));
    }
    Ok(())
}

fn check_shares(what: &str, shares: &[f64], products: usize) -> Result<(), String> {
    if shares.len() != products {
        return Err(format!(
            "{what} has {} values for {products} products",
            shares.len()
        ));
    }
    if !shares.iter().all(|s| *s > 0.0 && *s < 1.0) {
        return Err(format!("{what} has a share outside (0, 1)"));
    }
    Ok(())
}
