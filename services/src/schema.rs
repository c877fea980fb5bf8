//! OpenAPI schemas of the wire fields whose rules a `#[schema(...)]` attribute cannot state
//! by itself: strings limited to a list kept elsewhere (the domain's names, the supported
//! currencies, the credit policy's terms, the risk questionnaire) and a bound known only at
//! run time (the latest birth year). Fields use them with `#[schema(schema_with = ...)]`;
//! each is built from the same source the server checks against, so the document cannot
//! drift from the checks. A schema given this way replaces the field's doc comment in the
//! document, so each carries its own description.
//!
//! Rules that are plain literals are written on the fields themselves; the ones used most:
//!
//! - opaque identifiers (customer, event, product, merchant ids): `^[A-Za-z0-9._:-]{1,64}$`
//!   ([`ID_PATTERN`]), and never a card number (not expressible in JSON Schema);
//! - audience and monitoring rule ids: `^[a-z0-9_-]{1,64}$` ([`AUDIENCE_ID_PATTERN`]);
//! - text that must not be blank: [`NOT_BLANK_PATTERN`] (a character that is not white space
//!   as Rust's `str::trim` sees it, spelled out so every regex dialect agrees);
//! - text without control characters: [`NO_CONTROL_PATTERN`] (`char::is_control`).

use chrono::{Datelike, Utc};
use serde_json::Value;
use sextant_domain::{
    BehaviourKind, BirthYear, Channel, Currency, Direction, KycStatus, MarketingChannel,
    Occupation, PaymentKind, PaymentStatus, ProductKind, RiskLevel,
};
use sextant_lending::CreditPolicy;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};

use crate::marketing::campaigns::delivery::CAMPAIGN_EVENT_KINDS;

/// Opaque identifiers (`sextant_domain::CustomerId` and its kin): 1 to 64 bytes of ASCII
/// letters, digits and `- _ . :`.
pub const ID_PATTERN: &str = "^[A-Za-z0-9._:-]{1,64}$";
/// Audience ids (`marketing::audiences::audience_id`).
pub const AUDIENCE_ID_PATTERN: &str = "^[a-z0-9_-]{1,64}$";
/// At least one character outside Unicode's White_Space, the set `str::trim` removes.
pub const NOT_BLANK_PATTERN: &str =
    "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
/// Staff usernames (`staff::username`).
pub const STAFF_USERNAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,63}$";
/// No character of Unicode's Cc category, what `char::is_control` refuses.
pub const NO_CONTROL_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// A calendar date in a path (`/v1/fx-rates/{date}`); the handler also checks it exists.
pub const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// How a monitoring case is closed.
pub fn case_disposition() -> Schema {
    one_of(
        "fraud, laundering_reported or false_positive",
        crate::monitoring::cases::DISPOSITIONS,
    )
}

/// A monitoring case's status.
pub fn case_status() -> Schema {
    one_of("open or closed", ["open", "closed"])
}

/// A string that is one of `values`.
fn one_of<V: Into<Value>>(description: &str, values: impl IntoIterator<Item = V>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// A string that is one of `values`, or null (an optional field: null means absent).
fn one_of_or_null<V: Into<Value>>(
    description: &str,
    values: impl IntoIterator<Item = V>,
) -> Schema {
    let values = values
        .into_iter()
        .map(Into::into)
        .chain(std::iter::once(Value::Null));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// An integer that is one of `values`.
fn integer_one_of(description: &str, values: &[u32]) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// `CustomerRecord.birth_year`: 1900 up to this year minus 18, as `BirthYear::parse` checks
/// it (the bound is read when the document is built).
pub fn birth_year() -> Schema {
    let latest = i64::from(Utc::now().year()) - BirthYear::ADULT_AGE_YEARS;
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some(format!(
            "Year of birth: customers are adults, born from {} to {latest} (this year minus {}).",
            BirthYear::MIN,
            BirthYear::ADULT_AGE_YEARS
        )))
        .minimum(Some(BirthYear::MIN))
        .maximum(Some(latest))
        .examples([1988])
        .into()
}

/// `CustomerRecord.occupation`.
pub fn occupation() -> Schema {
    one_of(
        "What the customer declared as their occupation at onboarding.",
        Occupation::ALL.iter().map(|o| o.as_str()),
    )
}

/// `CustomerRecord.kyc_status`.
pub fn kyc_status() -> Schema {
    one_of(
        "Know-your-customer state; credit and investment advice need `verified`.",
        KycStatus::ALL.iter().map(|k| k.as_str()),
    )
}

/// The supported ISO 4217 currencies (`Currency::parse`).
pub fn currency() -> Schema {
    one_of(
        "ISO 4217 code of a supported currency.",
        Currency::supported(),
    )
}

/// An optional supported currency; EUR when absent.
pub fn currency_or_eur() -> Schema {
    one_of_or_null(
        "ISO 4217 code of a supported currency; EUR when absent.",
        Currency::supported(),
    )
}

/// `PaymentRecord.direction`, with the rule tying it to `kind` in words.
pub fn payment_direction() -> Schema {
    let required = |d: Direction| {
        PaymentKind::ALL
            .iter()
            .filter(|k| k.required_direction() == Some(d))
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let description = format!(
        "Which way money moved, seen from the customer's account. It must agree with `kind` \
         (a rule the schema cannot state): {} are credits; {} are debits.",
        required(Direction::Credit),
        required(Direction::Debit)
    );
    one_of(&description, Direction::ALL.iter().map(|d| d.as_str()))
}

/// `PaymentRecord.kind`.
pub fn payment_kind() -> Schema {
    one_of(
        "What the payment was. A `purchase` must carry `mcc` (a rule the schema cannot state).",
        PaymentKind::ALL.iter().map(|k| k.as_str()),
    )
}

/// `PaymentRecord.channel`.
pub fn payment_channel() -> Schema {
    one_of(
        "Where the payment happened.",
        Channel::ALL.iter().map(|c| c.as_str()),
    )
}

/// `PaymentRecord.status`.
pub fn payment_status() -> Schema {
    one_of_or_null(
        "How the payment ended; `completed` when absent.",
        PaymentStatus::ALL.iter().map(|s| s.as_str()),
    )
}

/// `BehaviourRecord.kind`.
pub fn behaviour_kind() -> Schema {
    one_of(
        "What the customer did in the app. A `product_view` must carry `product_id`; \
         `offer_impression`, `offer_click`, `offer_dismiss` and `offer_conversion` must carry \
         `offer_id`; a `search` must carry `query` (rules the schema cannot state).",
        BehaviourKind::ALL.iter().map(|k| k.as_str()),
    )
}

/// A marketing channel (`CampaignSpec.channel`).
pub fn marketing_channel() -> Schema {
    one_of(
        "The channel the campaign contacts customers on; each needs the customer's consent.",
        MarketingChannel::ALL.iter().map(|c| c.as_str()),
    )
}

/// `ProductVersionRequest.kind`.
pub fn product_kind() -> Schema {
    one_of(
        "What kind of product it is.",
        ProductKind::ALL.iter().map(|k| k.as_str()),
    )
}

/// A product's risk level, `R1` (lowest) to `R5`.
pub fn product_risk_level() -> Schema {
    let levels = (RiskLevel::LOWEST.get()..=RiskLevel::HIGHEST.get())
        .filter_map(|level| RiskLevel::new(level).ok())
        .map(|level| level.to_string());
    one_of("The product's risk level, R1 (lowest) to R5.", levels)
}

/// `CampaignEventRecord.kind`.
pub fn campaign_event_kind() -> Schema {
    one_of(
        "What happened. Conversions are reported for holdout members too: that is what the \
         uplift measures.",
        CAMPAIGN_EVENT_KINDS.iter().copied(),
    )
}

/// `DecisionBody.decision` (`advice::review`'s `DecisionBody::check`).
pub fn rebalance_decision() -> Schema {
    one_of("Approve or reject the proposal.", ["approve", "reject"])
}

/// `ApplicationRequest.term_months`: the loan terms of the credit policy in force.
pub fn loan_term_months() -> Schema {
    integer_one_of(
        "The loan's term in months: one of the terms the credit policy offers.",
        &CreditPolicy::default().loan.terms_months,
    )
}

/// `AcceptRequest.months`: a term of the quote, which is always an instalment term of the
/// credit policy in force.
pub fn instalment_months() -> Schema {
    integer_one_of(
        "One of the quote's plans, by its months (the quote offers some of these terms; \
         another term of this list is refused when the quote does not offer it).",
        &CreditPolicy::default().instalment.terms_months,
    )
}

/// `AllocateRequest.weights`: 1 to `allocation::MAX_ASSETS` assets, none negative.
pub fn allocation_weights() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!(
            "Target weights by asset: 1 to {} assets, each weight zero or more (long only), \
             summing to 1 within {} (a rule the schema cannot state).",
            sextant_advisor::allocation::MAX_ASSETS,
            sextant_advisor::allocation::WEIGHT_SUM_TOLERANCE
        )))
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
                .minimum(Some(0))
                .into(),
        )))
        .min_properties(Some(1))
        .max_properties(Some(sextant_advisor::allocation::MAX_ASSETS))
        .into()
}

/// `ConstraintsInput.asset_bounds`: `[lower, upper]` by asset.
pub fn asset_bounds() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Bounds of single assets, `[lower, upper]` by asset name, overriding `bounds`.",
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(
            ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double))),
                )
                .min_items(Some(2))
                .max_items(Some(2))
                .into(),
        )))
        .into()
}

/// Answers to the risk questionnaire: every question of `GET /v1/risk-questionnaire`
/// answered with one of its option ids, nothing else.
pub fn risk_answers() -> Schema {
    let questions = sextant_profiling::risk::questionnaire();
    let mut answers = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "One option id per question id, for every question of the questionnaire.",
        ))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let mut example = serde_json::Map::new();
    for question in questions {
        let options = question.options.iter().map(|(id, _, _)| *id);
        answers = answers
            .property(question.id, one_of(question.text, options))
            .required(question.id);
        if let Some((first, _, _)) = question.options.first() {
            example.insert(question.id.to_owned(), Value::from(*first));
        }
    }
    answers.examples([Value::Object(example)]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(schema: Schema) -> Value {
        serde_json::to_value(schema).unwrap()
    }

    #[test]
    fn lists_come_from_the_checks() {
        let currencies = json(currency());
        assert!(currencies["enum"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| Currency::parse(c.as_str().unwrap()).is_ok()));
        let levels = json(product_risk_level());
        assert_eq!(
            levels["enum"],
            serde_json::json!(["R1", "R2", "R3", "R4", "R5"])
        );
        let status = json(payment_status());
        assert_eq!(
            status["enum"],
            serde_json::json!(["completed", "failed", null])
        );
        let direction = json(payment_direction());
        assert!(direction["description"]
            .as_str()
            .unwrap()
            .contains("salary, transfer_in, refund are credits"));
    }

    #[test]
    fn the_birth_year_bound_is_an_adult_today() {
        let year = json(birth_year());
        let latest = year["maximum"].as_i64().unwrap();
        assert!(BirthYear::parse(latest, Utc::now()).is_ok());
        assert!(BirthYear::parse(latest + 1, Utc::now()).is_err());
        assert!(BirthYear::parse(year["minimum"].as_i64().unwrap(), Utc::now()).is_ok());
    }

    /// The schema of `T` as JSON, and one property of it (looked up through `allOf` too).
    fn property<T: utoipa::PartialSchema>(name: &str) -> Value {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let parts = schema["allOf"].as_array().cloned().unwrap_or_default();
        std::iter::once(&schema)
            .chain(&parts)
            .find_map(|s| s["properties"].get(name).cloned())
            .unwrap_or_else(|| panic!("no property {name}"))
    }

    /// The bounds written as literals on the fields are the constants the checks use.
    #[test]
    fn declared_bounds_are_the_checked_ones() {
        use crate::advice::review::NOTE_MAX_CHARS;
        use crate::advice::views::{DecisionBody, GoalBody, RebalanceBody};
        use crate::lending::views::QuoteRequest;
        use crate::marketing::audiences::{AudienceRequest, LookalikeSpec, SEEDS_MAX};
        use crate::marketing::campaigns::delivery::{CampaignEventBatch, CAMPAIGN_EVENTS_MAX};
        use crate::marketing::campaigns::{
            CampaignSpec, FrequencyCap, FREQUENCY_WINDOW_DAYS_MAX, HOLDOUT_SHARE_MAX,
        };
        use crate::marketing::catalogue::ProductVersionRequest;
        use crate::marketing::TEXT_MAX;
        use crate::portfolio::{FrontierRequest, PricesInput, MAX_ASSETS, MAX_FRONTIER_POINTS};
        use crate::records::{HoldingRecord, PaymentRecord};
        use sextant_advisor::planning::{MAX_HORIZON_MONTHS, MAX_PATHS};
        use sextant_domain::AmountMinor;

        let amount = Value::from(AmountMinor::MAX);
        assert_eq!(property::<PaymentRecord>("amount_minor")["maximum"], amount);
        assert_eq!(property::<HoldingRecord>("value_minor")["maximum"], amount);
        assert_eq!(property::<QuoteRequest>("amount_minor")["maximum"], amount);
        assert_eq!(
            property::<GoalBody>("target_amount_minor")["maximum"],
            amount
        );
        assert_eq!(
            property::<RebalanceBody>("new_cash_minor")["maximum"],
            amount
        );
        assert_eq!(
            property::<QuoteRequest>("customer_id")["pattern"],
            ID_PATTERN
        );
        assert_eq!(
            property::<CampaignSpec>("audience_id")["pattern"],
            AUDIENCE_ID_PATTERN
        );
        assert_eq!(
            property::<CampaignSpec>("name")["pattern"],
            NOT_BLANK_PATTERN
        );
        assert_eq!(
            property::<crate::records::CustomerRecord>("region")["pattern"],
            NO_CONTROL_PATTERN
        );
        let seeds = property::<LookalikeSpec>("seeds");
        assert_eq!(seeds["maxItems"], SEEDS_MAX);
        assert_eq!(seeds["items"]["pattern"], ID_PATTERN);
        assert_eq!(
            property::<LookalikeSpec>("size")["maximum"],
            sextant_vectors::MAX_AUDIENCE
        );
        assert_eq!(
            property::<CampaignEventBatch>("events")["maxItems"],
            CAMPAIGN_EVENTS_MAX
        );
        assert_eq!(
            property::<FrequencyCap>("window_days")["maximum"],
            FREQUENCY_WINDOW_DAYS_MAX
        );
        assert_eq!(
            property::<CampaignSpec>("holdout_share")["maximum"],
            HOLDOUT_SHARE_MAX
        );
        assert_eq!(
            property::<ProductVersionRequest>("terms")["maxLength"],
            TEXT_MAX
        );
        assert_eq!(
            property::<AudienceRequest>("rule")["maxLength"],
            sextant_marketing::rules::MAX_SOURCE_BYTES
        );
        assert_eq!(property::<GoalBody>("paths")["maximum"], MAX_PATHS);
        assert_eq!(
            property::<GoalBody>("horizon_months")["maximum"],
            MAX_HORIZON_MONTHS
        );
        assert_eq!(
            property::<RebalanceBody>("note")["maxLength"],
            NOTE_MAX_CHARS
        );
        assert_eq!(
            property::<DecisionBody>("note")["maxLength"],
            NOTE_MAX_CHARS
        );
        assert_eq!(property::<PricesInput>("assets")["maxItems"], MAX_ASSETS);
        assert_eq!(
            property::<FrontierRequest>("points")["maximum"],
            MAX_FRONTIER_POINTS
        );
    }

    #[test]
    fn every_question_is_required() {
        let answers = json(risk_answers());
        let required = answers["required"].as_array().unwrap();
        assert_eq!(
            required.len(),
            sextant_profiling::risk::questionnaire().len()
        );
        assert_eq!(answers["additionalProperties"], false);
        let example = answers["examples"][0].clone();
        assert!(sextant_profiling::risk::willingness_from_answers(
            &crate::pipeline::answers_from_json(&example).unwrap()
        )
        .is_ok());
    }
}
