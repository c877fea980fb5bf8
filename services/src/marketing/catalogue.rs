//! The catalogue as marketing manages it: numbered versions of every product, each with an
//! eligibility rule, terms and whether it is offered. An edit applies to the very next offer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{Product, ProductId, ProductKind, RiskLevel};
use sextant_store::{Actor, ProductVersion};
use utoipa::ToSchema;

use super::audiences::parse_rule;
use super::text_field;
use crate::records::format_timestamp;
use crate::{Context, ItemProblem, Result, ServiceError};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductVersionRequest {
    /// The version this write creates: the current version + 1 (1 for a new product; a
    /// built-in product never edited is at version 0). Another number is a 409.
    pub version: u32,
    /// deposit, fund, insurance, credit_card, consumer_loan, instalment_plan
    #[schema(schema_with = crate::schema::product_kind)]
    pub kind: String,
    /// Not blank, at most 4096 bytes (the schema counts characters, so its bound is looser
    /// for text beyond ASCII).
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    /// R1..R5
    #[schema(schema_with = crate::schema::product_risk_level)]
    pub risk_level: String,
    /// A supported ISO 4217 currency.
    #[schema(schema_with = crate::schema::currency)]
    pub currency: String,
    /// Zero or more.
    #[schema(minimum = 0)]
    pub min_amount_minor: i64,
    #[serde(default)]
    #[schema(maximum = 65_535)]
    pub term_months: Option<u16>,
    #[serde(default)]
    pub rate_bps: Option<u32>,
    #[serde(default)]
    pub fee_bps: Option<u32>,
    #[serde(default)]
    pub asset_class: Option<String>,
    /// A rule in the segment language the customer must match to be offered it: not blank,
    /// at most 4096 bytes, and it must parse (which the schema cannot state).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub eligibility: Option<String>,
    /// Terms shown with the offer: not blank, at most 4096 bytes (the schema counts
    /// characters, so its bound is looser for text beyond ASCII).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub terms: Option<String>,
    /// False retires the product: never offered again, still held.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductVersionView {
    pub product_id: String,
    pub version: u32,
    pub kind: String,
    pub name: String,
    pub risk_level: String,
    pub currency: String,
    pub min_amount_minor: i64,
    pub term_months: Option<u16>,
    pub rate_bps: Option<u32>,
    pub fee_bps: Option<u32>,
    pub asset_class: Option<String>,
    pub eligibility: Option<String>,
    pub terms: Option<String>,
    pub active: bool,
    pub actor: String,
    pub created_at: String,
}

impl From<&ProductVersion> for ProductVersionView {
    fn from(v: &ProductVersion) -> Self {
        let p = &v.product;
        ProductVersionView {
            product_id: p.id.to_string(),
            version: v.version,
            kind: p.kind.as_str().to_owned(),
            name: p.name.clone(),
            risk_level: p.risk_level.to_string(),
            currency: p.currency.to_string(),
            min_amount_minor: p.min_amount_minor,
            term_months: p.term_months,
            rate_bps: p.rate_bps,
            fee_bps: p.fee_bps,
            asset_class: p.asset_class.clone(),
            eligibility: v.eligibility.clone(),
            terms: v.terms.clone(),
            active: v.active,
            actor: v.actor.clone(),
            created_at: format_timestamp(v.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueView {
    pub products: Vec<ProductVersionView>,
}

/// The product the request describes, every bad field named.
fn product_from(id: &str, r: &ProductVersionRequest) -> Result<Product> {
    let mut problems = Vec::new();
    let mut field = |name: &str, e: sextant_domain::ParseError| {
        problems.push(ItemProblem::field(name, e.code, e.message))
    };
    let id = ProductId::parse(id).map_err(|e| field("id", e)).ok();
    let kind = ProductKind::parse(&r.kind)
        .map_err(|e| field("kind", e))
        .ok();
    let risk_level = RiskLevel::parse(&r.risk_level)
        .map_err(|e| field("risk_level", e))
        .ok();
    let currency = sextant_domain::Currency::parse(&r.currency)
        .map_err(|e| field("currency", e))
        .ok();
    text_field("name", &r.name, &mut problems);
    if r.min_amount_minor < 0 {
        problems.push(ItemProblem::field(
            "min_amount_minor",
            "out_of_range",
            "must not be negative",
        ));
    }
    if let Some(terms) = &r.terms {
        text_field("terms", terms, &mut problems);
    }
    if let Some(rule) = &r.eligibility {
        if let Err(ServiceError::Invalid(mut p)) = parse_rule("eligibility", rule) {
            problems.append(&mut p);
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    Ok(Product {
        id: id.expect("checked"),
        kind: kind.expect("checked"),
        name: r.name.trim().to_owned(),
        risk_level: risk_level.expect("checked"),
        currency: currency.expect("checked"),
        min_amount_minor: r.min_amount_minor,
        term_months: r.term_months,
        rate_bps: r.rate_bps,
        fee_bps: r.fee_bps,
        asset_class: r.asset_class.clone(),
    })
}

/// Writes the next version of a product (or a new product at version 1) and reloads the
/// offer engine, so the next offer checks suitability against the product's new level.
pub async fn put_version(
    ctx: &Context,
    id: &str,
    request: &ProductVersionRequest,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<ProductVersionView> {
    let product = product_from(id, request)?;
    let version = ProductVersion {
        product,
        version: request.version,
        eligibility: request.eligibility.clone(),
        terms: request.terms.clone(),
        active: request.active,
        actor: by.id.clone(),
        created_at: at,
    };
    ctx.store.put_product_version(&version, by).await?;
    if let Err(e) = ctx.reload_offers().await {
        tracing::warn!(error = %e, "offer engine reload after a catalogue edit failed");
    }
    Ok(ProductVersionView::from(&version))
}

/// The newest version of every product.
pub async fn catalogue(ctx: &Context) -> Result<CatalogueView> {
    let versions = ctx.store.catalogue().await?;
    Ok(CatalogueView {
        products: versions.iter().map(ProductVersionView::from).collect(),
    })
}

/// Every version of a product, oldest first.
pub async fn versions(ctx: &Context, id: &str) -> Result<CatalogueView> {
    let id = ProductId::parse(id).map_err(|_| ServiceError::NotFound)?;
    let versions = ctx.store.product_versions(&id).await?;
    if versions.is_empty() {
        return Err(ServiceError::NotFound);
    }
    Ok(CatalogueView {
        products: versions.iter().map(ProductVersionView::from).collect(),
    })
}
