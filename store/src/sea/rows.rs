//! Conversions between table rows and domain values, in both directions, and the content
//! hashes that tell a re-sent event from a reused id. A row that no longer parses as a domain
//! value is `StoreError::Corrupt`: rows are only ever written from valid values.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::ActiveValue::Set;
use sextant_domain::{
    AccountRef, AmountMinor, AmountSource, BirthYear, Card, Channel, ChannelConsents, Consents,
    ConvertError, Counterparty, CountryCode, Currency, Customer, CustomerId, DeviceId, Direction,
    Event, EventId, Holding, KycStatus, Mcc, MerchantId, MissingRate, Occupation, PaymentEvent,
    PaymentKind, PaymentStatus, Product, ProductId, ProductKind, Region, RiskLevel, ShortText,
    Unconverted,
};
use sextant_hash::Fnv64;

use super::keys::KeySet;
use crate::crypto::{is_sealed, open, seal, DataKey};
use crate::entity::{
    advice, advice_decision, audience, behaviour_event, campaign, credit_decision, credit_model,
    customer, holding, idempotency_key, instalment_plan, offer_model, payment_event, product,
    product_version, profile, risk_assessment,
};
use crate::{
    CampaignEvent, IdempotentResponse, NewAdvice, NewCreditDecision, NewInstalmentPlan,
    ProductVersion, StoreError, StoredAdvice, StoredAssessment, StoredAudience, StoredCampaign,
    StoredCreditModel, StoredCustomer, StoredDecision, StoredOfferModel, StoredProfile,
};

/// `INSERT INTO table (columns) VALUES (..), ..` for `rows` rows, every value a bound
/// parameter in the backend's style. Names must be the caller's constants.
pub(super) fn insert_sql(
    backend: sea_orm::DbBackend,
    table: &str,
    columns: &[&str],
    rows: usize,
) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(128 + rows * columns.len() * 7);
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let _ = write!(
        sql,
        "INSERT INTO \"{table}\" ({}) VALUES ",
        quoted.join(", ")
    );
    let mut parameter = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..columns.len() {
            if column > 0 {
                sql.push(',');
            }
            parameter += 1;
            match backend {
                sea_orm::DbBackend::Postgres => {
                    let _ = write!(sql, "${parameter}");
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

pub(super) fn ms_to_time(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(super) fn corrupt(what: &str) -> impl Fn(sextant_domain::ParseError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn json(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// The last item of each key, in first-seen order of keys.
pub(super) fn last_per_key<'a, T: Clone, K: std::hash::Hash + Eq>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<T> {
    let mut position: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match position.entry(key(item)) {
            std::collections::hash_map::Entry::Occupied(at) => out[*at.get()] = item.clone(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item.clone());
            }
        }
    }
    out
}

pub(super) fn version_from(version: i32, what: &str) -> Result<u32, StoreError> {
    u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("{what} version {version}")))
}

/// Who wrote version 0 of a built-in product (it was seeded, not edited).
const BUILT_IN_ACTOR: &str = "built-in";

/// The personal fields of a customer, sealed together under their data key.
#[derive(serde::Serialize, serde::Deserialize)]
struct Personal {
    birth_year: i32,
    region: String,
    occupation: String,
}

/// The customer's row: birth year, region and occupation only sealed (the clear columns
/// hold blanks).
pub(super) fn customer_model(c: &Customer, now_ms: i64, key: &DataKey) -> customer::ActiveModel {
    let m = c.consents.marketing;
    let personal = Personal {
        birth_year: i32::from(c.birth_year.get()),
        region: c.region.as_str().to_owned(),
        occupation: c.occupation.as_str().to_owned(),
    };
    let personal = serde_json::to_string(&personal).expect("plain fields serialise");
    customer::ActiveModel {
        id: Set(c.id.to_string()),
        birth_year: Set(0),
        region: Set(String::new()),
        occupation: Set(String::new()),
        sealed: Set(seal(key, c.id.as_str(), "personal", &personal)),
        kyc_status: Set(c.kyc_status.as_str().to_owned()),
        base_currency: Set(c.base_currency.as_str().to_owned()),
        consent_profiling: Set(c.consents.profiling),
        consent_push: Set(m.push),
        consent_email: Set(m.email),
        consent_sms: Set(m.sms),
        consent_in_app: Set(m.in_app),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(now_ms),
    }
}

pub(super) fn consents_of(m: &customer::Model) -> Consents {
    Consents {
        profiling: m.consent_profiling,
        marketing: ChannelConsents {
            push: m.consent_push,
            email: m.consent_email,
            sms: m.consent_sms,
            in_app: m.consent_in_app,
        },
    }
}

pub(super) fn customer_from(
    m: customer::Model,
    keys: &KeySet,
) -> Result<StoredCustomer, StoreError> {
    // Rows are only written from valid domain values; judge the birth year at its write time.
    let written = ms_to_time(m.updated_at_ms)?;
    let personal = if m.sealed.is_empty() {
        // Written before encryption existed and not sealed yet.
        Personal {
            birth_year: m.birth_year,
            region: m.region.clone(),
            occupation: m.occupation.clone(),
        }
    } else {
        let text = open(keys.get(&m.id)?, &m.id, "personal", &m.sealed)?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("personal fields: {e}")))?
    };
    Ok(StoredCustomer {
        customer: Customer {
            id: CustomerId::parse(&m.id).map_err(corrupt("customer id"))?,
            birth_year: BirthYear::parse(i64::from(personal.birth_year), written)
                .map_err(corrupt("birth year"))?,
            region: Region::parse(&personal.region).map_err(corrupt("region"))?,
            occupation: Occupation::parse(&personal.occupation).map_err(corrupt("occupation"))?,
            kyc_status: KycStatus::parse(&m.kyc_status).map_err(corrupt("kyc status"))?,
            consents: consents_of(&m),
            base_currency: Currency::parse(&m.base_currency).map_err(corrupt("base currency"))?,
        },
        created_at: ms_to_time(m.created_at_ms)?,
        updated_at: written,
    })
}

/// A stored text that may be sealed: opened under the customer's key.
pub(super) fn unsealed(
    keys: &KeySet,
    customer: &str,
    field: &str,
    stored: Option<&str>,
) -> Result<Option<String>, StoreError> {
    match stored {
        Some(text) if is_sealed(text) => {
            Ok(Some(open(keys.get(customer)?, customer, field, text)?))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

pub(super) fn payment_from(
    m: payment_event::Model,
    keys: &KeySet,
) -> Result<PaymentEvent, StoreError> {
    let c = m.customer_id.as_str();
    let bin = unsealed(keys, c, "card_bin", m.card_bin.as_deref())?;
    let last4 = unsealed(keys, c, "card_last4", m.card_last4.as_deref())?;
    let merchant = unsealed(keys, c, "merchant_id", m.merchant_id.as_deref())?;
    let party_name = unsealed(keys, c, "counterparty_name", m.counterparty_name.as_deref())?;
    let party_account = unsealed(
        keys,
        c,
        "counterparty_account",
        m.counterparty_account.as_deref(),
    )?;
    let device = unsealed(keys, c, "device_id", m.device_id.as_deref())?;
    let counterparty = match (party_name, party_account) {
        (None, None) => None,
        (name, account) => Some(Counterparty {
            name: name
                .as_deref()
                .map(ShortText::parse)
                .transpose()
                .map_err(corrupt("counterparty name"))?,
            account: account
                .as_deref()
                .map(AccountRef::parse)
                .transpose()
                .map_err(corrupt("counterparty account"))?,
        }),
    };
    let card = match (bin.as_deref(), last4.as_deref()) {
        (Some(bin), Some(last4)) => Some(Card::parse(bin, last4).map_err(corrupt("card"))?),
        _ => None,
    };
    Ok(PaymentEvent {
        event_id: EventId::parse(&m.event_id).map_err(corrupt("event id"))?,
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        occurred_at: ms_to_time(m.occurred_at_ms)?,
        amount: AmountMinor::new(m.amount_minor).map_err(corrupt("amount"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        direction: Direction::parse(&m.direction).map_err(corrupt("direction"))?,
        kind: PaymentKind::parse(&m.kind).map_err(corrupt("kind"))?,
        channel: Channel::parse(&m.channel).map_err(corrupt("channel"))?,
        merchant_id: merchant
            .as_deref()
            .map(MerchantId::parse)
            .transpose()
            .map_err(corrupt("merchant"))?,
        mcc: m
            .mcc
            .map(|v| Mcc::parse(&format!("{v:04}")))
            .transpose()
            .map_err(corrupt("mcc"))?,
        country: CountryCode::parse(&m.country).map_err(corrupt("country"))?,
        card,
        status: PaymentStatus::parse(&m.status).map_err(corrupt("status"))?,
        balance_after_minor: m.balance_after_minor,
        counterparty,
        device_id: device
            .as_deref()
            .map(DeviceId::parse)
            .transpose()
            .map_err(corrupt("device"))?,
        refund_of: m
            .refund_of
            .as_deref()
            .map(EventId::parse)
            .transpose()
            .map_err(corrupt("refund_of"))?,
    })
}

pub(super) fn behaviour_from(
    m: behaviour_event::Model,
    keys: &KeySet,
) -> Result<sextant_domain::BehaviourEvent, StoreError> {
    use sextant_domain::BehaviourKind;
    let query = unsealed(keys, &m.customer_id, "query", m.query.as_deref())?;
    Ok(sextant_domain::BehaviourEvent {
        event_id: EventId::parse(&m.event_id).map_err(corrupt("event id"))?,
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        occurred_at: ms_to_time(m.occurred_at_ms)?,
        kind: BehaviourKind::parse(&m.kind).map_err(corrupt("behaviour kind"))?,
        session_id: m
            .session_id
            .as_deref()
            .map(EventId::parse)
            .transpose()
            .map_err(corrupt("session"))?,
        screen: m
            .screen
            .as_deref()
            .map(ShortText::parse)
            .transpose()
            .map_err(corrupt("screen"))?,
        product_id: m
            .product_id
            .as_deref()
            .map(ProductId::parse)
            .transpose()
            .map_err(corrupt("product"))?,
        offer_id: m
            .offer_id
            .as_deref()
            .map(EventId::parse)
            .transpose()
            .map_err(corrupt("offer"))?,
        query: query
            .as_deref()
            .map(ShortText::parse)
            .transpose()
            .map_err(corrupt("query"))?,
    })
}

pub(super) fn holding_model(h: &Holding, now_ms: i64) -> holding::ActiveModel {
    holding::ActiveModel {
        customer_id: Set(h.customer_id.to_string()),
        product_id: Set(h.product_id.to_string()),
        value_minor: Set(h.value.get()),
        currency: Set(h.currency.to_string()),
        opened_at_ms: Set(h.opened_at.timestamp_millis()),
        updated_at_ms: Set(now_ms),
    }
}

pub(super) fn holding_from(m: holding::Model) -> Result<Holding, StoreError> {
    Ok(Holding {
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        product_id: ProductId::parse(&m.product_id).map_err(corrupt("product id"))?,
        value: AmountMinor::new(m.value_minor).map_err(corrupt("value"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        opened_at: ms_to_time(m.opened_at_ms)?,
    })
}

pub(super) fn product_model(p: &Product, now_ms: i64) -> product::ActiveModel {
    product::ActiveModel {
        id: Set(p.id.to_string()),
        kind: Set(p.kind.as_str().to_owned()),
        name: Set(p.name.clone()),
        risk_level: Set(i32::from(p.risk_level.get())),
        currency: Set(p.currency.to_string()),
        min_amount_minor: Set(p.min_amount_minor),
        term_months: Set(p.term_months.map(i32::from)),
        rate_bps: Set(p.rate_bps.map(|v| v as i32)),
        fee_bps: Set(p.fee_bps.map(|v| v as i32)),
        asset_class: Set(p.asset_class.clone()),
        updated_at_ms: Set(now_ms),
    }
}

pub(super) fn product_from(m: product::Model) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId::parse(&m.id).map_err(corrupt("product id"))?,
        kind: ProductKind::parse(&m.kind).map_err(corrupt("product kind"))?,
        name: m.name,
        risk_level: RiskLevel::new(m.risk_level as u8).map_err(corrupt("risk level"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        min_amount_minor: m.min_amount_minor,
        term_months: m.term_months.map(|v| v as u16),
        rate_bps: m.rate_bps.map(|v| v as u32),
        fee_bps: m.fee_bps.map(|v| v as u32),
        asset_class: m.asset_class,
    })
}

pub(super) fn product_version_model(
    v: &ProductVersion,
    version: i32,
) -> product_version::ActiveModel {
    let p = &v.product;
    product_version::ActiveModel {
        product_id: Set(p.id.to_string()),
        version: Set(version),
        kind: Set(p.kind.as_str().to_owned()),
        name: Set(p.name.clone()),
        risk_level: Set(i32::from(p.risk_level.get())),
        currency: Set(p.currency.to_string()),
        min_amount_minor: Set(p.min_amount_minor),
        term_months: Set(p.term_months.map(i32::from)),
        rate_bps: Set(p.rate_bps.map(|v| v as i32)),
        fee_bps: Set(p.fee_bps.map(|v| v as i32)),
        asset_class: Set(p.asset_class.clone()),
        eligibility: Set(v.eligibility.clone()),
        terms: Set(v.terms.clone()),
        active: Set(v.active),
        actor: Set(v.actor.clone()),
        created_at_ms: Set(v.created_at.timestamp_millis()),
    }
}

pub(super) fn product_version_from(
    row: product_version::Model,
) -> Result<ProductVersion, StoreError> {
    let version = version_from(row.version, "product")?;
    let created_at = ms_to_time(row.created_at_ms)?;
    let product = product_from(product::Model {
        id: row.product_id,
        kind: row.kind,
        name: row.name,
        risk_level: row.risk_level,
        currency: row.currency,
        min_amount_minor: row.min_amount_minor,
        term_months: row.term_months,
        rate_bps: row.rate_bps,
        fee_bps: row.fee_bps,
        asset_class: row.asset_class,
        updated_at_ms: row.created_at_ms,
    })?;
    Ok(ProductVersion {
        product,
        version,
        eligibility: row.eligibility,
        terms: row.terms,
        active: row.active,
        actor: row.actor,
        created_at,
    })
}

/// Version 0: a catalogue product as seeded, never edited.
pub(super) fn built_in_version(row: product::Model) -> Result<ProductVersion, StoreError> {
    let created_at = ms_to_time(row.updated_at_ms)?;
    Ok(ProductVersion {
        product: product_from(row)?,
        version: 0,
        eligibility: None,
        terms: None,
        active: true,
        actor: BUILT_IN_ACTOR.to_owned(),
        created_at,
    })
}

pub(super) fn profile_model(p: &StoredProfile) -> Result<profile::ActiveModel, StoreError> {
    if p.features.iter().any(|v| !v.is_finite()) {
        return Err(StoreError::Corrupt(format!(
            "profile of {} holds a non-finite feature",
            p.customer_id
        )));
    }
    Ok(profile::ActiveModel {
        customer_id: Set(p.customer_id.to_string()),
        feature_version: Set(p.feature_version as i32),
        features: Set(serde_json::to_string(&p.features).expect("finite floats serialise")),
        segment: Set(p.segment.map(|s| s as i32)),
        embedding_model: Set(p.embedding_model.clone()),
        as_of_ms: Set(p.as_of.timestamp_millis()),
        computed_at_ms: Set(p.computed_at.timestamp_millis()),
        unconverted: Set(unconverted_json(&p.unconverted)),
    })
}

/// An unconverted amount as the profile row keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct UnconvertedRow {
    /// `payment` or `holding`.
    source: String,
    /// The event id or the product id.
    id: String,
    amount_minor: i64,
    currency: String,
    date: chrono::NaiveDate,
    /// `missing_rate` (with the currency and day lacking one) or `too_large`.
    error: String,
    missing_currency: Option<String>,
    missing_on: Option<chrono::NaiveDate>,
}

fn unconverted_json(list: &[Unconverted]) -> String {
    let rows: Vec<UnconvertedRow> = list
        .iter()
        .map(|u| {
            let (source, id) = match &u.source {
                AmountSource::Payment(id) => ("payment", id.to_string()),
                AmountSource::Holding(id) => ("holding", id.to_string()),
            };
            let (error, missing) = match u.error {
                ConvertError::Missing(m) => ("missing_rate", Some(m)),
                ConvertError::TooLarge => ("too_large", None),
            };
            UnconvertedRow {
                source: source.to_owned(),
                id,
                amount_minor: u.amount_minor,
                currency: u.currency.as_str().to_owned(),
                date: u.date,
                error: error.to_owned(),
                missing_currency: missing.map(|m| m.currency.to_owned()),
                missing_on: missing.map(|m| m.date),
            }
        })
        .collect();
    serde_json::to_string(&rows).expect("plain fields serialise")
}

fn unconverted_from(text: &str) -> Result<Vec<Unconverted>, StoreError> {
    let bad = |what: &str| StoreError::Corrupt(format!("profile's unconverted amounts: {what}"));
    let rows: Vec<UnconvertedRow> = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            let source = match r.source.as_str() {
                "payment" => {
                    AmountSource::Payment(EventId::parse(&r.id).map_err(|_| bad("event id"))?)
                }
                "holding" => {
                    AmountSource::Holding(ProductId::parse(&r.id).map_err(|_| bad("product id"))?)
                }
                other => return Err(bad(&format!("source `{other}`"))),
            };
            let error = match (r.error.as_str(), r.missing_currency, r.missing_on) {
                ("missing_rate", Some(code), Some(date)) => {
                    let currency = Currency::parse(&code).map_err(|_| bad("currency"))?;
                    ConvertError::Missing(MissingRate {
                        currency: currency.static_str(),
                        date,
                    })
                }
                ("too_large", _, _) => ConvertError::TooLarge,
                (other, _, _) => return Err(bad(&format!("error `{other}`"))),
            };
            Ok(Unconverted {
                source,
                amount_minor: r.amount_minor,
                currency: Currency::parse(&r.currency).map_err(|_| bad("currency"))?,
                date: r.date,
                error,
            })
        })
        .collect()
}

pub(super) fn profile_from(m: profile::Model) -> Result<StoredProfile, StoreError> {
    Ok(StoredProfile {
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        feature_version: m.feature_version as u32,
        features: serde_json::from_str(&m.features)
            .map_err(|e| StoreError::Corrupt(format!("profile features: {e}")))?,
        segment: m.segment.map(|s| s as u32),
        embedding_model: m.embedding_model,
        as_of: ms_to_time(m.as_of_ms)?,
        computed_at: ms_to_time(m.computed_at_ms)?,
        unconverted: unconverted_from(&m.unconverted)?,
    })
}

pub(super) fn assessment_from(r: risk_assessment::Model) -> Result<StoredAssessment, StoreError> {
    Ok(StoredAssessment {
        assessed_at: ms_to_time(r.assessed_at_ms)?,
        level: r.level as u8,
        willingness: r.willingness as u8,
        willingness_source: r.willingness_source,
        capacity: r.capacity as u8,
        reason: r.reason,
        detail: serde_json::from_str(&r.detail)
            .map_err(|e| StoreError::Corrupt(format!("assessment: {e}")))?,
    })
}

pub(super) fn stored_advice(
    row: advice::Model,
    decision: Option<advice_decision::Model>,
) -> Result<StoredAdvice, StoreError> {
    let json = |text: &str| {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("advice {}: {e}", row.id)))
    };
    Ok(StoredAdvice {
        id: row.id,
        advice: NewAdvice {
            customer_id: CustomerId::try_from(row.customer_id.as_str())
                .map_err(corrupt("advice customer"))?,
            kind: row.kind.clone(),
            actor: row.actor.clone(),
            engine_version: row.engine_version.clone(),
            inputs: json(&row.inputs)?,
            output: json(&row.output)?,
            created_at: ms_to_time(row.created_at_ms)?,
        },
        decision: decision
            .map(|d| {
                Ok::<_, StoreError>(StoredDecision {
                    decision: d.decision,
                    actor: d.actor,
                    decided_at: ms_to_time(d.decided_at_ms)?,
                    note: d.note,
                })
            })
            .transpose()?,
    })
}

pub(super) fn stored_model(row: credit_model::Model) -> Result<StoredCreditModel, StoreError> {
    Ok(StoredCreditModel {
        metrics: json(&row.metrics, "credit model metrics")?,
        created_at: ms_to_time(row.created_at_ms)?,
        version: row.version,
        kind: row.kind,
        actor: row.actor,
        artifact: row.artifact,
    })
}

pub(super) fn stored_decision(
    row: credit_decision::Model,
) -> Result<NewCreditDecision, StoreError> {
    Ok(NewCreditDecision {
        customer_id: CustomerId::parse(&row.customer_id)
            .map_err(|e| StoreError::Corrupt(format!("credit decision customer: {e}")))?,
        created_at: ms_to_time(row.created_at_ms)?,
        expires_at: row.expires_at_ms.map(ms_to_time).transpose()?,
        inputs: json(&row.inputs, "credit decision inputs")?,
        output: json(&row.output, "credit decision output")?,
        applicant_age_years: row
            .applicant_age_years
            .and_then(|age| u32::try_from(age).ok()),
        id: row.id,
        kind: row.kind,
        actor: row.actor,
        model_version: row.model_version,
        policy_version: row.policy_version,
        outcome: row.outcome,
    })
}

pub(super) fn stored_plan(row: instalment_plan::Model) -> Result<NewInstalmentPlan, StoreError> {
    Ok(NewInstalmentPlan {
        customer_id: CustomerId::parse(&row.customer_id)
            .map_err(|e| StoreError::Corrupt(format!("instalment plan customer: {e}")))?,
        months: u32::try_from(row.months)
            .map_err(|_| StoreError::Corrupt(format!("plan months {}", row.months)))?,
        created_at: ms_to_time(row.created_at_ms)?,
        plan: json(&row.plan, "instalment plan")?,
        id: row.id,
        quote_id: row.quote_id,
        actor: row.actor,
    })
}

pub(super) fn stored_idempotency(
    row: idempotency_key::Model,
) -> Result<IdempotentResponse, StoreError> {
    Ok(IdempotentResponse {
        status: u16::try_from(row.status)
            .map_err(|_| StoreError::Corrupt(format!("idempotent status {}", row.status)))?,
        response: json(&row.response, "idempotent response")?,
        created_at: ms_to_time(row.created_at_ms)?,
        caller: row.caller,
        key: row.key,
        request_hash: row.request_hash,
    })
}

pub(super) fn decision_row(d: &NewCreditDecision) -> credit_decision::ActiveModel {
    credit_decision::ActiveModel {
        id: Set(d.id.clone()),
        customer_id: Set(d.customer_id.to_string()),
        kind: Set(d.kind.clone()),
        created_at_ms: Set(d.created_at.timestamp_millis()),
        expires_at_ms: Set(d.expires_at.map(|t: DateTime<Utc>| t.timestamp_millis())),
        actor: Set(d.actor.clone()),
        model_version: Set(d.model_version.clone()),
        policy_version: Set(d.policy_version.clone()),
        outcome: Set(d.outcome.clone()),
        inputs: Set(d.inputs.to_string()),
        output: Set(d.output.to_string()),
        applicant_age_years: Set(d.applicant_age_years.map(i64::from)),
    }
}

pub(super) fn audience_from(row: audience::Model) -> Result<StoredAudience, StoreError> {
    Ok(StoredAudience {
        version: version_from(row.version, "audience")?,
        definition: json(&row.definition, "audience definition")?,
        created_at: ms_to_time(row.created_at_ms)?,
        id: row.id,
        name: row.name,
        kind: row.kind,
        actor: row.actor,
    })
}

pub(super) fn campaign_from(row: campaign::Model) -> Result<StoredCampaign, StoreError> {
    Ok(StoredCampaign {
        product_id: ProductId::parse(&row.product_id).map_err(corrupt("campaign product"))?,
        spec: json(&row.spec, "campaign spec")?,
        created_at: ms_to_time(row.created_at_ms)?,
        updated_at: ms_to_time(row.updated_at_ms)?,
        launched_at: row.launched_at_ms.map(ms_to_time).transpose()?,
        launch: row
            .launch
            .as_deref()
            .map(|l| json(l, "campaign launch"))
            .transpose()?,
        id: row.id,
        name: row.name,
        status: row.status,
        channel: row.channel,
        created_by: row.created_by,
    })
}

pub(super) fn offer_model_from(row: offer_model::Model) -> Result<StoredOfferModel, StoreError> {
    Ok(StoredOfferModel {
        metrics: json(&row.metrics, "offer model metrics")?,
        created_at: ms_to_time(row.created_at_ms)?,
        version: row.version,
        actor: row.actor,
        artifact: row.artifact,
    })
}

/// FNV-1a over an event's content: tells a re-sent event from a reused id.
pub(super) fn content_hash(event: &Event) -> i64 {
    let mut hash = Fnv::default();
    match event {
        Event::Payment(p) => {
            hash.put(b"payment");
            hash.put(p.event_id.as_str().as_bytes());
            hash.put(p.customer_id.as_str().as_bytes());
            hash.put(&p.occurred_at.timestamp_millis().to_le_bytes());
            hash.put(&p.amount.get().to_le_bytes());
            hash.put(p.currency.as_str().as_bytes());
            hash.put(p.direction.as_str().as_bytes());
            hash.put(p.kind.as_str().as_bytes());
            hash.put(p.channel.as_str().as_bytes());
            hash.put_opt(p.merchant_id.as_ref().map(|m| m.as_str().as_bytes()));
            hash.put_opt(
                p.mcc
                    .map(|m| m.get().to_le_bytes())
                    .as_ref()
                    .map(|b| &b[..]),
            );
            hash.put(p.country.as_str().as_bytes());
            hash.put_opt(p.card.as_ref().map(|c| c.bin().as_bytes()));
            hash.put_opt(p.card.as_ref().map(|c| c.last4().as_bytes()));
            hash.put(p.status.as_str().as_bytes());
            hash.put_opt(
                p.balance_after_minor
                    .map(i64::to_le_bytes)
                    .as_ref()
                    .map(|b| &b[..]),
            );
            // Hashed only when present, so the events stored before payments named them
            // keep their hashes (a re-sent one is still a duplicate, not a conflict).
            if let Some(c) = &p.counterparty {
                hash.put(b"counterparty");
                hash.put_opt(c.name.as_ref().map(|n| n.as_str().as_bytes()));
                hash.put_opt(c.account.as_ref().map(|a| a.as_str().as_bytes()));
            }
            if let Some(device) = &p.device_id {
                hash.put(b"device");
                hash.put(device.as_str().as_bytes());
            }
            if let Some(original) = &p.refund_of {
                hash.put(b"refund_of");
                hash.put(original.as_str().as_bytes());
            }
        }
        Event::Behaviour(b) => {
            hash.put(b"behaviour");
            hash.put(b.event_id.as_str().as_bytes());
            hash.put(b.customer_id.as_str().as_bytes());
            hash.put(&b.occurred_at.timestamp_millis().to_le_bytes());
            hash.put(b.kind.as_str().as_bytes());
            hash.put_opt(b.session_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.screen.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.product_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.offer_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.query.as_ref().map(|s| s.as_str().as_bytes()));
        }
    }
    hash.stored()
}

/// FNV-1a with a separator after every field, so that ("ab","c") and ("a","bc") differ.
#[derive(Default)]
struct Fnv(Fnv64);

impl Fnv {
    fn put(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
        self.0.write_u8(0xff);
    }

    fn put_opt(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => {
                self.put(b"1");
                self.put(b);
            }
            None => self.put(b"0"),
        }
    }

    /// The hash as stored (a signed 64-bit column).
    fn stored(&self) -> i64 {
        self.0.finish() as i64
    }
}

/// FNV-1a over what a campaign event says: tells a re-sent event from a reused id.
pub(super) fn campaign_event_hash(event: &CampaignEvent) -> i64 {
    let mut hash = Fnv::default();
    hash.put(b"campaign_event");
    hash.put(event.customer_id.as_str().as_bytes());
    hash.put(event.kind.as_bytes());
    hash.put(&event.occurred_at.timestamp_millis().to_le_bytes());
    hash.stored()
}
