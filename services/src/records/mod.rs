//! JSON wire records and their conversion into domain types.
//!
//! The same records are accepted by `POST /v1/events`, `PUT /v1/customers/{id}` and
//! `sextant import`, and written by `sextant generate`: one shape, one parser. Conversion
//! reports every bad field of a record, not only the first.

use chrono::{DateTime, SecondsFormat, Utc};
use compact_str::{CompactString, ToCompactString};
use serde::{Deserialize, Serialize};
use sextant_domain::{
    AccountRef, AmountMinor, BehaviourEvent, BehaviourKind, BirthYear, Card, Channel,
    ChannelConsents, Consents, Counterparty, CountryCode, Currency, Customer, CustomerId, DeviceId,
    Direction, Event, EventId, FieldError, Holding, KycStatus, Mcc, MerchantId, Occupation,
    ParseError, PaymentEvent, PaymentKind, PaymentStatus, Product, ProductId, Region, ShortText,
};
use utoipa::ToSchema;

mod payment;
mod text;

pub use payment::{CardRecord, CounterpartyRecord, PaymentRecord, PaymentTag};
pub use text::{integral_floats_as_integers, refuse_card_numbers};

/// Collects the errors of one record while its fields are converted.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, field: &str, parsed: Result<T, ParseError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(e) => {
                self.0.push(e.at(field));
                None
            }
        }
    }

    fn take_opt<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(text) => self.take(field, parse(text)).map(Some),
        }
    }
}

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, ParseError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ParseError::new(
                "invalid_timestamp",
                "expected an RFC 3339 timestamp such as 2026-05-01T12:30:00Z",
            )
        })
}

/// Clock skew tolerated between the sender and Sextant.
const FUTURE_SKEW_HOURS: i64 = 24;

/// An event's time: RFC 3339 and not in the future (beyond a day of clock skew), since an
/// event from the future would corrupt every window that profiling computes.
fn parse_event_time(text: &str) -> Result<DateTime<Utc>, ParseError> {
    let t = parse_timestamp(text)?;
    if t > Utc::now() + chrono::Duration::hours(FUTURE_SKEW_HOURS) {
        return Err(ParseError::new(
            "in_future",
            "occurred_at lies in the future",
        ));
    }
    Ok(t)
}

pub fn format_timestamp(t: DateTime<Utc>) -> String {
    // Whole seconds print without a fraction; stored milliseconds are kept.
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A customer as registered by the payment app.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRecord {
    /// The payment app's opaque id: 1 to 64 ASCII letters, digits and `- _ . :`, never a
    /// card number. In `PUT /v1/customers/{id}` it may be left out; if present it must
    /// equal the path. (The schema states neither of these two rules.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub id: Option<String>,
    /// 1900 up to this year minus 18 (an adult customer).
    #[schema(schema_with = crate::schema::birth_year)]
    pub birth_year: i64,
    /// A region code chosen by the bank: 1 to 32 characters, no control characters.
    #[schema(
        example = "prague",
        min_length = 1,
        max_length = 32,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub region: String,
    /// employed, self_employed, business_owner, student, retired, unemployed, other
    #[schema(schema_with = crate::schema::occupation)]
    pub occupation: String,
    /// pending, verified, rejected, expired
    #[schema(schema_with = crate::schema::kyc_status)]
    pub kyc_status: String,
    #[serde(default)]
    pub consents: ConsentsRecord,
    /// The account's currency, a supported ISO 4217 code; EUR when left out. Every monetary
    /// figure about the customer (profile, credit, review) is in it, foreign amounts
    /// converted at the reference rate of their own date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schema::currency_or_eur)]
    pub base_currency: Option<String>,
}

/// Consents; anything left out is not granted.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsRecord {
    #[serde(default)]
    pub profiling: bool,
    #[serde(default)]
    pub marketing: MarketingConsentsRecord,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingConsentsRecord {
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub sms: bool,
    #[serde(default)]
    pub in_app: bool,
}

impl From<Consents> for ConsentsRecord {
    fn from(c: Consents) -> Self {
        let m = c.marketing;
        ConsentsRecord {
            profiling: c.profiling,
            marketing: MarketingConsentsRecord {
                push: m.push,
                email: m.email,
                sms: m.sms,
                in_app: m.in_app,
            },
        }
    }
}

impl From<ConsentsRecord> for Consents {
    fn from(c: ConsentsRecord) -> Self {
        let m = c.marketing;
        Consents {
            profiling: c.profiling,
            marketing: ChannelConsents {
                push: m.push,
                email: m.email,
                sms: m.sms,
                in_app: m.in_app,
            },
        }
    }
}

impl CustomerRecord {
    /// Converts, taking the id from `path_id` when the route carries one.
    pub fn into_domain(
        self,
        path_id: Option<&str>,
        today: DateTime<Utc>,
    ) -> Result<Customer, Vec<FieldError>> {
        let mut errors = Errors::default();
        let id_text = match (path_id, self.id.as_deref()) {
            (Some(path), Some(body)) if path != body => {
                errors.0.push(
                    ParseError::new(
                        "id_mismatch",
                        "the body's id differs from the id in the path",
                    )
                    .at("id"),
                );
                None
            }
            (Some(path), _) => Some(path),
            (None, Some(body)) => Some(body),
            (None, None) => {
                errors
                    .0
                    .push(ParseError::new("required", "id is required").at("id"));
                None
            }
        };
        let id = id_text.and_then(|t| errors.take("id", CustomerId::parse(t)));
        let birth_year = errors.take("birth_year", BirthYear::parse(self.birth_year, today));
        let region = errors.take("region", Region::parse(&self.region));
        let occupation = errors.take("occupation", Occupation::parse(&self.occupation));
        let kyc_status = errors.take("kyc_status", KycStatus::parse(&self.kyc_status));
        let base_currency = match self.base_currency.as_deref() {
            None => Some(Currency::EUR),
            Some(code) => errors.take("base_currency", Currency::parse(code)),
        };
        match (
            id,
            birth_year,
            region,
            occupation,
            kyc_status,
            base_currency,
        ) {
            (
                Some(id),
                Some(birth_year),
                Some(region),
                Some(occupation),
                Some(kyc_status),
                Some(base_currency),
            ) if errors.0.is_empty() => Ok(Customer {
                id,
                birth_year,
                region,
                occupation,
                kyc_status,
                consents: self.consents.into(),
                base_currency,
            }),
            _ => Err(errors.0),
        }
    }

    pub fn from_domain(c: &Customer) -> Self {
        CustomerRecord {
            id: Some(c.id.to_string()),
            birth_year: i64::from(c.birth_year.get()),
            region: c.region.as_str().to_owned(),
            occupation: c.occupation.as_str().to_owned(),
            kyc_status: c.kyc_status.as_str().to_owned(),
            consents: c.consents.into(),
            base_currency: Some(c.base_currency.as_str().to_owned()),
        }
    }
}

/// Tag of a behaviour record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BehaviourTag {
    Behaviour,
}

/// One thing a customer did in the app.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviourRecord {
    #[serde(rename = "type")]
    pub tag: BehaviourTag,
    /// An opaque id, never a card number.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub event_id: CompactString,
    /// An opaque id, never a card number.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: CompactString,
    /// RFC 3339, not more than a day in the future (the schema cannot state that bound).
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: CompactString,
    /// app_open, screen_view, product_view, offer_impression, offer_click, offer_dismiss, offer_conversion, search
    #[schema(schema_with = crate::schema::behaviour_kind)]
    pub kind: CompactString,
    /// An opaque id, never a card number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub session_id: Option<CompactString>,
    /// 1 to 200 characters, no control characters, never a card number (not expressible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>,
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub screen: Option<CompactString>,
    /// Required for product_view (a rule the schema cannot state). An opaque id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub product_id: Option<CompactString>,
    /// Required for offer_impression, offer_click, offer_dismiss and offer_conversion (a rule
    /// the schema cannot state). An opaque id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub offer_id: Option<CompactString>,
    /// Required for search (a rule the schema cannot state). 1 to 200 characters, no control
    /// characters, never a card number (not expressible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>,
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub query: Option<CompactString>,
}

impl BehaviourRecord {
    pub fn into_domain(self) -> Result<BehaviourEvent, Vec<FieldError>> {
        let mut e = Errors::default();
        let event_id = e.take("event_id", EventId::parse(&self.event_id));
        let customer_id = e.take("customer_id", CustomerId::parse(&self.customer_id));
        let occurred_at = e.take("occurred_at", parse_event_time(&self.occurred_at));
        let kind = e.take("kind", BehaviourKind::parse(&self.kind));
        let session_id = e.take_opt("session_id", self.session_id.as_deref(), EventId::parse);
        let screen = e.take_opt("screen", self.screen.as_deref(), ShortText::parse);
        let product_id = e.take_opt("product_id", self.product_id.as_deref(), ProductId::parse);
        let offer_id = e.take_opt("offer_id", self.offer_id.as_deref(), EventId::parse);
        let query = e.take_opt("query", self.query.as_deref(), ShortText::parse);
        let (
            Some(event_id),
            Some(customer_id),
            Some(occurred_at),
            Some(kind),
            Some(session_id),
            Some(screen),
            Some(product_id),
            Some(offer_id),
            Some(query),
        ) = (
            event_id,
            customer_id,
            occurred_at,
            kind,
            session_id,
            screen,
            product_id,
            offer_id,
            query,
        )
        else {
            return Err(e.0);
        };
        let event = BehaviourEvent {
            event_id,
            customer_id,
            occurred_at,
            kind,
            session_id,
            screen,
            product_id,
            offer_id,
            query,
        };
        event.check().map_err(|(field, err)| vec![err.at(field)])?;
        Ok(event)
    }

    pub fn from_domain(b: &BehaviourEvent) -> Self {
        BehaviourRecord {
            tag: BehaviourTag::Behaviour,
            event_id: b.event_id.to_compact_string(),
            customer_id: b.customer_id.to_compact_string(),
            occurred_at: format_timestamp(b.occurred_at).into(),
            kind: b.kind.as_str().into(),
            session_id: b
                .session_id
                .as_ref()
                .map(ToCompactString::to_compact_string),
            screen: b.screen.as_ref().map(|s| s.as_str().into()),
            product_id: b
                .product_id
                .as_ref()
                .map(ToCompactString::to_compact_string),
            offer_id: b.offer_id.as_ref().map(ToCompactString::to_compact_string),
            query: b.query.as_ref().map(|s| s.as_str().into()),
        }
    }
}

/// Either kind of event, told apart by `type` (`payment` or `behaviour`).
// A record lives only from parsing to its domain value, one at a time; boxing the larger
// variant would cost an allocation per payment on the ingestion path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventRecord {
    Payment(PaymentRecord),
    Behaviour(BehaviourRecord),
}

/// A customer's position in one product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldingRecord {
    /// An opaque id; in `PUT /v1/customers/{id}/holdings` it must equal the path (a rule the
    /// schema cannot state).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: String,
    /// An opaque id, one position per product.
    #[schema(example = "fund-global-equity", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub product_id: String,
    /// Current value in minor units: positive, at most twelve digits.
    #[schema(minimum = 1, maximum = 999_999_999_999_i64)]
    pub value_minor: i64,
    /// A supported ISO 4217 currency.
    #[schema(schema_with = crate::schema::currency)]
    pub currency: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub opened_at: String,
}

impl HoldingRecord {
    pub fn into_domain(self) -> Result<Holding, Vec<FieldError>> {
        let mut e = Errors::default();
        let customer_id = e.take("customer_id", CustomerId::parse(&self.customer_id));
        let product_id = e.take("product_id", ProductId::parse(&self.product_id));
        let value = e.take("value_minor", AmountMinor::new(self.value_minor));
        let currency = e.take("currency", Currency::parse(&self.currency));
        let opened_at = e.take("opened_at", parse_timestamp(&self.opened_at));
        match (customer_id, product_id, value, currency, opened_at) {
            (Some(customer_id), Some(product_id), Some(value), Some(currency), Some(opened_at)) => {
                Ok(Holding {
                    customer_id,
                    product_id,
                    value,
                    currency,
                    opened_at,
                })
            }
            _ => Err(e.0),
        }
    }

    pub fn from_domain(h: &Holding) -> Self {
        HoldingRecord {
            customer_id: h.customer_id.to_string(),
            product_id: h.product_id.to_string(),
            value_minor: h.value.get(),
            currency: h.currency.to_string(),
            opened_at: format_timestamp(h.opened_at),
        }
    }
}

/// A product of the catalogue, as served.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductRecord {
    pub id: String,
    /// deposit, fund, insurance, credit_card, consumer_loan, instalment_plan
    pub kind: String,
    pub name: String,
    /// R1..R5
    pub risk_level: String,
    pub currency: String,
    pub min_amount_minor: i64,
    pub term_months: Option<u16>,
    pub rate_bps: Option<u32>,
    pub fee_bps: Option<u32>,
    pub asset_class: Option<String>,
}

impl From<&Product> for ProductRecord {
    fn from(p: &Product) -> Self {
        ProductRecord {
            id: p.id.to_string(),
            kind: p.kind.as_str().to_owned(),
            name: p.name.clone(),
            risk_level: p.risk_level.to_string(),
            currency: p.currency.to_string(),
            min_amount_minor: p.min_amount_minor,
            term_months: p.term_months,
            rate_bps: p.rate_bps,
            fee_bps: p.fee_bps,
            asset_class: p.asset_class.clone(),
        }
    }
}

/// Decides the kind of a raw event by its `type` alone, so the full parse can report precise
/// paths for the right record shape.
#[derive(Deserialize)]
struct TypeProbe<'a> {
    #[serde(rename = "type", borrow)]
    tag: Option<std::borrow::Cow<'a, str>>,
}

/// Where a record failed: a field (dotted path) and, for JSON syntax or type errors, the
/// line and column within the record's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub field: Option<String>,
    pub code: String,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl RecordError {
    fn from_fields(errors: Vec<FieldError>, text: &str) -> Vec<RecordError> {
        errors
            .into_iter()
            .map(|e| RecordError {
                column: column_of_field(text, &e.field),
                line: None,
                field: Some(e.field),
                code: e.code.to_owned(),
                message: e.message,
            })
            .collect()
    }

    fn from_json(err: serde_path_to_error::Error<serde_json::Error>) -> RecordError {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = (path != "." && !path.is_empty()).then_some(path);
        let code = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "invalid_json"
            }
            _ => "invalid_field",
        };
        let message = without_values(&strip_position(&inner.to_string()));
        let code = code.to_owned();
        RecordError {
            field,
            code,
            message,
            line: Some(inner.line()),
            column: Some(inner.column()),
        }
    }
}

/// A parser's message without the input it quotes: serde writes the rejected value as
/// `` `value` `` or `"value"` after these openings, and a rejected value may be card data or
/// anything else that must not come back in an answer or a log.
pub fn without_values(message: &str) -> String {
    for opening in ["invalid type: ", "invalid value: ", "unknown variant "] {
        if let (true, Some(at)) = (message.starts_with(opening), message.find(", expected")) {
            return format!("{}{}", opening.trim_end_matches([':', ' ']), &message[at..]);
        }
    }
    message.to_owned()
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// 1-based column of `"field":` in a single-line record, to point at the offending value.
fn column_of_field(text: &str, field: &str) -> Option<usize> {
    let leaf = field.rsplit('.').next()?;
    text.find(&format!("\"{leaf}\":")).map(|at| at + 1)
}

/// Parses one JSON record of type `T`, with the failing path on error. The plain parser
/// runs first; only a record that fails is parsed again with path tracking, which costs
/// about as much as the parse itself.
pub fn parse_record<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, RecordError> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(RecordError::from_json)?;
    de.end().map_err(|e| RecordError {
        field: None,
        code: "invalid_json".into(),
        message: strip_position(&e.to_string()),
        line: Some(e.line()),
        column: Some(e.column()),
    })?;
    Ok(value)
}

/// [`parse_record`] for records that own their data, also reading whole numbers written as
/// floats (`300.0`) as integers; errors are those of the text as sent.
pub fn parse_owned_record<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RecordError> {
    parse_record(text).or_else(|first| {
        integral_floats_as_integers(text)
            .and_then(|whole| serde_json::from_str(&whole).ok())
            .ok_or(first)
    })
}

/// The record's `type`, read from the usual leading key without parsing when possible.
fn event_type(text: &str) -> Result<Option<std::borrow::Cow<'_, str>>, RecordError> {
    if let Some(rest) = text.strip_prefix("{\"type\":\"") {
        for tag in ["payment", "behaviour"] {
            if rest.starts_with(tag) && rest.as_bytes().get(tag.len()) == Some(&b'"') {
                return Ok(Some(std::borrow::Cow::Borrowed(tag)));
            }
        }
    }
    let probe: TypeProbe = parse_record(text)?;
    Ok(probe.tag)
}

/// Parses and validates one event from its JSON text.
pub fn parse_event(text: &str) -> Result<Event, Vec<RecordError>> {
    refuse_card_numbers(text).map_err(|e| vec![e])?;
    match event_type(text).map_err(|e| vec![e])?.as_deref() {
        Some("payment") => {
            let record: PaymentRecord = parse_owned_record(text).map_err(|e| vec![e])?;
            record
                .into_domain()
                .map(Event::Payment)
                .map_err(|e| RecordError::from_fields(e, text))
        }
        Some("behaviour") => {
            let record: BehaviourRecord = parse_owned_record(text).map_err(|e| vec![e])?;
            record
                .into_domain()
                .map(Event::Behaviour)
                .map_err(|e| RecordError::from_fields(e, text))
        }
        other => Err(vec![RecordError {
            field: Some("type".into()),
            code: if other.is_none() {
                "required"
            } else {
                "unknown_value"
            }
            .into(),
            message: "`type` must be `payment` or `behaviour`".into(),
            line: None,
            column: column_of_field(text, "type"),
        }]),
    }
}

/// Parses and validates one customer from its JSON text (an import line, or the body of
/// `PUT /v1/customers/{path_id}`).
pub fn parse_customer(
    text: &str,
    path_id: Option<&str>,
    today: DateTime<Utc>,
) -> Result<Customer, Vec<RecordError>> {
    refuse_card_numbers(text).map_err(|e| vec![e])?;
    let record: CustomerRecord = parse_owned_record(text).map_err(|e| vec![e])?;
    record
        .into_domain(path_id, today)
        .map_err(|e| RecordError::from_fields(e, text))
}

/// Parses and validates one holding from its JSON text (an import line).
pub fn parse_holding(text: &str) -> Result<Holding, Vec<RecordError>> {
    refuse_card_numbers(text).map_err(|e| vec![e])?;
    let record: HoldingRecord = parse_owned_record(text).map_err(|e| vec![e])?;
    record
        .into_domain()
        .map_err(|e| RecordError::from_fields(e, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYMENT: &str = r#"{"type":"payment","event_id":"p1-1","customer_id":"c0000001","occurred_at":"2026-05-01T12:30:00Z","amount_minor":1250,"currency":"EUR","direction":"debit","kind":"purchase","channel":"in_store","merchant_id":"m-1","mcc":"5411","country":"CZ","card":{"bin":"411111","last4":"1234"}}"#;

    #[test]
    fn a_payment_round_trips() {
        let Event::Payment(p) = parse_event(PAYMENT).unwrap() else {
            panic!("payment expected")
        };
        let back = serde_json::to_string(&PaymentRecord::from_domain(&p)).unwrap();
        assert_eq!(back, PAYMENT);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = PAYMENT
            .replace("\"EUR\"", "\"EURO\"")
            .replace("\"debit\"", "\"sideways\"");
        let errors = parse_event(&bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["currency", "direction"]);
        assert_eq!(errors[0].code, "invalid_currency");
        assert_eq!(
            errors[0].column,
            Some(bad.find("\"currency\"").unwrap() + 1)
        );
    }

    #[test]
    fn integral_floats_become_integers_outside_strings() {
        assert_eq!(
            integral_floats_as_integers(
                r#"{"version": 33733.0, "x": 1.5, "s": "2.0", "y": [3.00, 4.01, -7.0]}"#
            )
            .as_deref(),
            Some(r#"{"version": 33733, "x": 1.5, "s": "2.0", "y": [3, 4.01, -7]}"#)
        );
        assert_eq!(integral_floats_as_integers(r#"{"a": 1, "b": "3.0"}"#), None);
        assert_eq!(integral_floats_as_integers(r#"{"a": 1.0e3}"#), None);
    }

    #[test]
    fn a_full_card_number_is_rejected_wherever_it_hides() {
        let in_card = PAYMENT.replace(
            r#"{"bin":"411111","last4":"1234"}"#,
            r#""4111111111111111""#,
        );
        assert_eq!(
            parse_event(&in_card).unwrap_err()[0].code,
            "full_card_number"
        );
        let extra = PAYMENT.replace(r#""country""#, r#""pan":"4111 1111 1111 1111","country""#);
        assert_eq!(parse_event(&extra).unwrap_err()[0].code, "full_card_number");
        let in_merchant = PAYMENT.replace("m-1", "4111111111111111");
        assert_eq!(
            parse_event(&in_merchant).unwrap_err()[0].code,
            "full_card_number"
        );
    }

    #[test]
    fn syntax_and_type_errors_carry_position_and_path() {
        let err = &parse_event(r#"{"type":"payment","amount_minor":"12"}"#).unwrap_err()[0];
        assert_eq!(err.code, "invalid_field");
        assert_eq!(err.field.as_deref(), Some("amount_minor"));
        let err = &parse_event(r#"{"type":"payment","#).unwrap_err()[0];
        assert_eq!(err.code, "invalid_json");
        assert_eq!(err.column, Some(18), "the end of the text");
    }

    #[test]
    fn events_from_the_future_are_refused() {
        let future = PAYMENT.replace("2026-05-01", "2999-05-01");
        assert_eq!(parse_event(&future).unwrap_err()[0].code, "in_future");
    }

    #[test]
    fn cross_field_rules_apply() {
        let salary_debit = PAYMENT.replace("\"purchase\"", "\"salary\"");
        assert_eq!(
            parse_event(&salary_debit).unwrap_err()[0].code,
            "direction_mismatch"
        );
        let err = &parse_event(r#"{"type":"trade"}"#).unwrap_err()[0];
        assert_eq!(
            (err.field.as_deref(), err.code.as_str()),
            (Some("type"), "unknown_value")
        );
    }
}
