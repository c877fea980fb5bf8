//! The OpenAPI document as served: utoipa's document from the route annotations, with the
//! rules every route shares written in once, so that the document says what the server
//! does.
//!
//! - Error answers are `application/problem+json` (RFC 9457), never `application/json`.
//! - Every operation documents the statuses the layers around it can answer: 401 and 403
//!   where a token is needed, 429 (rate limits), 503 (storage, deadline), 404 and 422 for a
//!   path naming something, 400, 408, 413 and 422 for a body, 422 for query parameters.
//! - Schemas composed with `allOf` (from `#[serde(flatten)]`) become one object: parts that
//!   each refuse unknown properties would otherwise refuse each other's.

use serde_json::{json, Map, Value};

const PROBLEM: &str = "application/problem+json";
const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(crate::openapi()).expect("the OpenAPI document serialises");
    flatten_all_of(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let api = path.starts_with("/v1/");
            for method in METHODS {
                if let Some(operation) = item.get_mut(method) {
                    problem_media_type(operation);
                    if api {
                        shared_statuses(operation);
                    }
                }
            }
        }
    }
    doc
}

/// Error answers carry the problem media type.
fn problem_media_type(operation: &mut Value) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        let error = status.parse::<u16>().is_ok_and(|s| s >= 400);
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        if error {
            if let Some(body) = content.remove("application/json") {
                content.insert(PROBLEM.into(), body);
            }
        }
    }
}

/// The statuses the layers around every route can answer, where the route does not say.
fn shared_statuses(operation: &mut Value) {
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let params = operation
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let located = |place: &str| params.iter().any(|p| p["in"] == place);
    let body = operation.get("requestBody").is_some();
    let mut statuses: Vec<(&str, &str)> = vec![
        ("429", "over a rate limit; retry after `Retry-After` seconds"),
        ("503", "storage unavailable, or the request ran past its deadline; retry after `Retry-After` seconds"),
    ];
    if secured {
        statuses.push(("401", "no valid bearer token"));
        statuses.push(("403", "the token's role may not do this"));
    }
    if located("path") {
        statuses.push(("404", "no such resource (or not the caller's)"));
        statuses.push((
            "422",
            "a path or query value is invalid (or holds a card number)",
        ));
    }
    if located("query") {
        statuses.push((
            "422",
            "a path or query value is invalid (or holds a card number)",
        ));
    }
    if body {
        statuses.push(("400", "the body is not JSON of the expected shape"));
        statuses.push((
            "408",
            "the body did not arrive within the body read timeout",
        ));
        statuses.push(("413", "the body is too large"));
        statuses.push((
            "422",
            "the body is invalid (or holds a card number); nothing was stored",
        ));
    }
    let responses = operation
        .as_object_mut()
        .expect("an operation is an object")
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for (status, description) in statuses {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": description,
                "content": { PROBLEM: { "schema": { "$ref": "#/components/schemas/Problem" } } }
            })
        });
    }
}

/// Every component schema written as `allOf` becomes the one object its parts describe.
fn flatten_all_of(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let mut flat = Map::new();
    for (name, schema) in &schemas {
        if schema.get("allOf").is_some() {
            flat.insert(name.clone(), merged(schema, &schemas, 0));
        }
    }
    if let Some(target) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in flat {
            target.insert(name, schema);
        }
    }
}

/// One object with the properties and required fields of `schema`'s parts (references
/// followed, nested `allOf` too), refusing unknown properties when any part did.
fn merged(schema: &Value, schemas: &Map<String, Value>, depth: usize) -> Value {
    let resolved = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) if depth < 8 => reference
            .strip_prefix("#/components/schemas/")
            .and_then(|name| schemas.get(name))
            .cloned()
            .unwrap_or_else(|| schema.clone()),
        _ => schema.clone(),
    };
    let Some(parts) = resolved.get("allOf").and_then(Value::as_array) else {
        return resolved;
    };
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut closed = false;
    for part in parts {
        let part = merged(part, schemas, depth + 1);
        if let Some(p) = part.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
        }
        if let Some(r) = part.get("required").and_then(Value::as_array) {
            for field in r {
                if !required.contains(field) {
                    required.push(field.clone());
                }
            }
        }
        closed |= part.get("additionalProperties") == Some(&Value::Bool(false));
    }
    let mut object = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        object["required"] = Value::Array(required);
    }
    if closed {
        object["additionalProperties"] = Value::Bool(false);
    }
    for key in ["description", "title", "example"] {
        if let Some(v) = resolved.get(key) {
            object[key] = v.clone();
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_problem_json_and_shared_statuses_are_documented() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.parse::<u16>().unwrap() >= 400 {
                        if let Some(content) = response.get("content") {
                            assert!(
                                content.get("application/json").is_none(),
                                "{method} {path} {status}"
                            );
                        }
                    }
                }
                if path.starts_with("/v1/") {
                    assert!(op["responses"].get("429").is_some(), "{method} {path}");
                }
            }
        }
        let customer = &doc["components"]["schemas"]["CustomerView"];
        assert!(customer.get("allOf").is_none());
        assert!(customer["properties"].get("created_at").is_some());
        assert!(customer["properties"].get("id").is_some());
    }
}
