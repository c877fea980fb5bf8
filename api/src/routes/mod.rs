//! HTTP routes. Each handler checks the caller, reads the request (path, query, headers,
//! body), calls one use case of `sextant-services` and wraps its answer; the use cases hold
//! the logic, the domain crates the rules.

pub mod advice;
pub mod audit;
pub mod credit;
pub mod customers;
pub mod events;
pub mod fx;
pub mod loyalty;
pub mod marketing;
pub mod monitoring;
pub mod portfolio;
pub mod products;
pub mod profiles;
pub mod system;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sextant_services::idempotency::{Answer, IdempotencyKey, Keyed};
use sextant_services::records::{
    parse_owned_record, parse_record, refuse_card_numbers, without_values, RecordError,
};

use crate::auth::Caller;
use crate::error::{AppError, ItemProblem};

/// The description of a customer id in a path. Its pattern, `^[A-Za-z0-9._:-]{1,64}$`
/// (`sextant_services::schema::ID_PATTERN`), is written on each parameter: utoipa takes a
/// pattern only as a literal.
pub const CUSTOMER_ID_PARAM: &str = "customer id: 1 to 64 ASCII letters, digits and `- _ . :`; \
    never a card number (a rule the schema cannot state: such a path is refused with 422)";

/// The description of an opaque id in a path (same pattern as a customer id) that the
/// server looks up without parsing: any other value is simply not found.
pub const OPAQUE_ID_PARAM: &str =
    "1 to 64 ASCII letters, digits and `- _ . :` (any other value is not found)";

/// The description of an Idempotency-Key header. Its pattern, `^[!-~]{1,255}$`, is written on
/// each parameter.
pub const IDEMPOTENCY_KEY_PARAM: &str = "1 to 255 printable ASCII characters, no spaces: \
    a retry with the same key and request gets the first answer";

/// The body, or a problem+json answer for one that is too large or unreadable.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::TooLarge(format!("the body exceeds {} bytes", events::BODY_MAX_BYTES))
        }
        _ => AppError::InvalidJson(ItemProblem::field(
            "body",
            "unreadable_body",
            "the body could not be read",
        )),
    })
}

/// The query parameters, or a 422 naming the query.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query.map(|Query(q)| q).map_err(|rejection| {
        AppError::Validation(vec![ItemProblem::field(
            "query",
            "invalid_query",
            without_values(&rejection.body_text()),
        )])
    })
}

pub fn body_text(body: &Bytes) -> Result<&str, AppError> {
    std::str::from_utf8(body).map_err(|_| {
        AppError::InvalidJson(ItemProblem::field(
            "body",
            "invalid_utf8",
            "the body is not UTF-8",
        ))
    })
}

/// Syntax and type errors are a malformed body (400); anything else is invalid content (422).
pub fn record_problems(errors: Vec<RecordError>) -> AppError {
    let items: Vec<ItemProblem> = errors
        .into_iter()
        .map(|e| ItemProblem::from_record(None, None, e))
        .collect();
    let malformed = items
        .iter()
        .position(|i| i.code == "invalid_json" || i.code == "invalid_field");
    match malformed {
        Some(at) => AppError::InvalidJson(items.into_iter().nth(at).expect("position is in range")),
        None => AppError::Validation(items),
    }
}

/// Parses a JSON body, turning any error into a 400 naming the path, line and column. A
/// body holding a card number anywhere is refused first (422 `full_card_number`).
/// Whole numbers written as floats (`300.0`) are read as integers (JSON Schema's integers).
pub fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    let text = body_text(body)?;
    refuse_card_numbers(text).map_err(|e| record_problems(vec![e]))?;
    parse_owned_record(text).map_err(|e| record_problems(vec![e]))
}

/// Parses the envelope of a batch whose items are scanned and parsed one by one (so each
/// item's problems carry its index).
pub fn json_envelope<'de, T: Deserialize<'de>>(body: &'de Bytes) -> Result<T, AppError> {
    parse_record(body_text(body)?).map_err(|e| record_problems(vec![e]))
}

/// A wealth manager reaches only their own clients: any other customer answers 404, as a
/// missing one does. Call after `Caller::reach_customer`.
pub async fn require_client(
    state: &crate::AppState,
    caller: &Caller,
    id: &sextant_domain::CustomerId,
) -> Result<(), AppError> {
    if caller.role == crate::auth::Role::WealthManager
        && !state.ctx.store.is_client(&caller.sub, id).await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The path's customer id, once the caller may reach it.
pub fn customer_id(raw: &str) -> Result<sextant_domain::CustomerId, AppError> {
    sextant_domain::CustomerId::parse(raw).map_err(|e| {
        AppError::Validation(vec![ItemProblem::from_record(
            None,
            None,
            RecordError {
                field: Some("id".into()),
                code: e.code.into(),
                message: e.message,
                line: None,
                column: None,
            },
        )])
    })
}

/// The caller's Idempotency-Key, when the request carries one.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    // A value that is not text fails as any other invalid key does.
    let text = value.to_str().unwrap_or("\u{0}");
    Ok(Some(IdempotencyKey::parse(text)?))
}

/// A request made under `key`: the caller's namespace of keys and what it asks.
pub fn keyed(caller: &Caller, key: IdempotencyKey, request_hash: String) -> Keyed {
    Keyed {
        caller: format!("{}:{}", caller.role.as_str(), caller.sub),
        key,
        request_hash,
    }
}

/// An answer of a use case under a key: its recorded status and body.
pub fn answer(answer: Answer) -> Result<Response, AppError> {
    let status =
        StatusCode::from_u16(answer.status).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((status, Json(answer.body)).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use sextant_services::schema::{
        AUDIENCE_ID_PATTERN, DATE_PATTERN, ID_PATTERN, NOT_BLANK_PATTERN, NO_CONTROL_PATTERN,
        STAFF_USERNAME_PATTERN,
    };
    use sextant_store::PAGE_MAX;

    const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

    /// Every operation of the document with its path.
    fn operations(doc: &Value) -> Vec<(String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    all.push((format!("{method} {path}"), op.clone()));
                }
            }
        }
        all
    }

    fn parameter<'a>(op: &'a Value, name: &str) -> &'a Value {
        op["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("no parameter {name}"))
    }

    /// Query parameters are declared in the query (utoipa's `IntoParams` puts them in the
    /// path unless told), and every path parameter names a placeholder of its path.
    #[test]
    fn parameters_are_where_the_server_reads_them() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        for (name, op) in operations(&doc) {
            let path = name.split_once(' ').unwrap().1;
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let placeholder = format!("{{{}}}", p["name"].as_str().unwrap());
                    assert!(path.contains(&placeholder), "{name}: {p}");
                }
            }
        }
    }

    /// Ids in paths carry the id pattern; an Idempotency-Key its own.
    #[test]
    fn ids_and_keys_declare_their_format() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        for (name, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let param = p["name"].as_str().unwrap();
                let pattern = &p["schema"]["pattern"];
                match param {
                    "id" => assert_eq!(pattern, ID_PATTERN, "{name}"),
                    "audience_id" | "rule_id" => {
                        assert_eq!(pattern, AUDIENCE_ID_PATTERN, "{name}")
                    }
                    "advice_id" => assert_eq!(p["schema"]["type"], "integer", "{name}"),
                    p if p.ends_with("_id") => assert_eq!(pattern, ID_PATTERN, "{name}"),
                    "Idempotency-Key" => assert_eq!(pattern, "^[!-~]{1,255}$", "{name}"),
                    _ => {}
                }
            }
        }
    }

    /// A component is named after its type: two types of one name would share it, the later
    /// replacing the earlier (the monitoring rules' view once replaced the credit rules').
    #[test]
    fn types_of_one_name_do_not_share_a_component() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert!(
            schemas["RuleView"]["properties"]["code"].is_object(),
            "credit's rule result"
        );
        assert!(schemas["MonitoringRuleView"]["properties"]["rule_id"].is_object());
        assert!(schemas["SanctionsMatchView"]["properties"]["ent_num"].is_object());
    }

    /// Every pattern of the document is one of the known ones: a slip in one of the literals
    /// repeated on fields and parameters shows here.
    #[test]
    fn patterns_are_the_known_ones() {
        fn visit(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(p)) = map.get("pattern") {
                        found.push(p.clone());
                    }
                    map.values().for_each(|v| visit(v, found));
                }
                Value::Array(items) => items.iter().for_each(|v| visit(v, found)),
                _ => {}
            }
        }
        let known = [
            ID_PATTERN,
            AUDIENCE_ID_PATTERN,
            NOT_BLANK_PATTERN,
            NO_CONTROL_PATTERN,
            STAFF_USERNAME_PATTERN,
            DATE_PATTERN,
            "^[!-~]{1,255}$",
            "^[A-Z]{2}$",
            "^[0-9]{4}$",
            "^([0-9]{6}|[0-9]{8})$",
            "^[+-]?[0-9]+~",
        ];
        let mut found = Vec::new();
        visit(&serde_json::to_value(crate::openapi()).unwrap(), &mut found);
        assert!(found.len() > 50, "{} patterns", found.len());
        for pattern in found {
            assert!(
                known.contains(&pattern.as_str()),
                "unknown pattern {pattern}"
            );
        }
    }

    /// The bounds written as literals are the ones the handlers check.
    #[test]
    fn declared_bounds_are_the_checked_ones() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let op = |path: &str| doc["paths"][path]["get"].clone();
        for path in ["/v1/audit", "/v1/campaigns", "/v1/customers/{id}/payments"] {
            let op = op(path);
            let limit = &parameter(&op, "limit")["schema"];
            assert_eq!(limit["maximum"], PAGE_MAX, "{path}");
            assert_eq!(limit["minimum"], 1, "{path}");
        }
        let offers = op("/v1/customers/{id}/offers");
        assert_eq!(
            parameter(&offers, "limit")["schema"]["maximum"],
            super::marketing::OFFERS_LIMIT_MAX
        );
        let similar = op("/v1/customers/{id}/similar");
        assert_eq!(
            parameter(&similar, "k")["schema"]["maximum"],
            sextant_services::profiles::SIMILAR_MAX
        );
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Holdings"]["properties"]["holdings"]["maxItems"],
            sextant_services::customers::HOLDINGS_MAX
        );
        assert_eq!(
            schemas["EventBatch"]["properties"]["events"]["maxItems"],
            super::events::BATCH_MAX_EVENTS
        );
        assert_eq!(schemas["EventBatch"]["additionalProperties"], false);
    }
}
