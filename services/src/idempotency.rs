//! Idempotency keys for every request that moves money or launches something: the key a
//! caller sends, the hash that tells a retry from another request under the same key, and
//! what an earlier use of the key means now.
//!
//! A key belongs to one caller (`role:subject`); a retry with the same key and the same
//! request gets the answer recorded the first time, byte for byte; the same key with another
//! request is refused. The record is written by the store in the same transaction as the
//! effect it guards, so the two commit together or not at all.

use chrono::{DateTime, Utc};
use sextant_hash::Fnv64;
use sextant_store::{IdempotencyStore, Idempotent, IdempotentResponse};

use crate::{ItemProblem, Result, ServiceError};

/// Longest accepted key.
pub const KEY_MAX: usize = 255;

/// The status recorded with the answer of a request that created something (the number
/// clients of the API see: 201 Created), so a replay answers exactly as the first time.
pub const CREATED: u16 = 201;

/// An Idempotency-Key as sent: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self> {
        let valid =
            !raw.is_empty() && raw.len() <= KEY_MAX && raw.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ServiceError::invalid(
                "Idempotency-Key",
                "invalid_idempotency_key",
                format!("1 to {KEY_MAX} printable ASCII characters"),
            ));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The refusal for a request that needs a key and came without one.
pub fn missing(what: &str) -> ServiceError {
    ServiceError::invalid(
        "Idempotency-Key",
        "missing_idempotency_key",
        format!("{what} needs an Idempotency-Key header"),
    )
}

/// FNV-1a over what was asked and the body: tells a retry from another request under the
/// same key. Stored with the key, so it never changes between releases. A JSON body is
/// hashed in its canonical form ([`canonical_json`]), so `{"months": 3}` and `{"months":3}`
/// are the same request; other bodies are hashed as sent.
pub fn request_hash(request: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .map(|value| canonical_json(&value));
    let mut hash = Fnv64::new();
    hash.write(request.as_bytes());
    hash.write_u8(0xff);
    hash.write(canonical.as_deref().unwrap_or(body));
    format!("{:016x}", hash.finish())
}

/// Compact JSON with every object's keys in byte order (RFC 8785's ordering; numbers as
/// serde_json writes them). A body already written that way is its own canonical form,
/// so the hashes of keys recorded before this form existed still match.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    fn write(value: &serde_json::Value, out: &mut Vec<u8>) {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'{');
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(serde_json::to_vec(key).expect("a string serialises"));
                    out.push(b':');
                    write(item, out);
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out);
                }
                out.push(b']');
            }
            scalar => out.extend(serde_json::to_vec(scalar).expect("a scalar serialises")),
        }
    }
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

/// An answer to give: a status and a JSON body (the one recorded under a key when there is
/// one).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// A request made under a key: whose, which, and the hash of what it asks.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// The caller's namespace of keys, `role:subject`.
    pub caller: String,
    pub key: IdempotencyKey,
    pub request_hash: String,
}

impl Keyed {
    /// What an earlier use of the key means: its answer for the same request, a refusal for
    /// another; `None` when the key is new.
    pub async fn earlier(&self, store: &dyn IdempotencyStore) -> Result<Option<Answer>> {
        let Some(earlier) = store
            .idempotent_response(&self.caller, self.key.as_str())
            .await?
        else {
            return Ok(None);
        };
        let outcome = if earlier.request_hash == self.request_hash {
            Idempotent::Replay(earlier)
        } else {
            Idempotent::KeyReused
        };
        replay(outcome, || {
            ServiceError::internal("a new key has no earlier answer")
        })
        .map(Some)
    }

    /// The record to store with the effect: this request's answer under its key.
    pub fn record(&self, answer: &Answer, at: DateTime<Utc>) -> IdempotentResponse {
        IdempotentResponse {
            caller: self.caller.clone(),
            key: self.key.as_str().to_owned(),
            request_hash: self.request_hash.clone(),
            status: answer.status,
            response: answer.body.clone(),
            created_at: at,
        }
    }
}

/// The answer for a write made under a key: `answer` when it was written now, the recorded
/// one on a replay, and refusals for a reused key or (`already`) an effect that exists under
/// another key.
pub fn settle(
    outcome: Idempotent,
    answer: Answer,
    already: impl FnOnce() -> ServiceError,
) -> Result<Answer> {
    match outcome {
        Idempotent::Written => Ok(answer),
        other => replay(other, already),
    }
}

fn replay(outcome: Idempotent, already: impl FnOnce() -> ServiceError) -> Result<Answer> {
    match outcome {
        Idempotent::Replay(earlier) => Ok(Answer {
            status: earlier.status,
            body: earlier.response,
        }),
        Idempotent::KeyReused => Err(ServiceError::Invalid(vec![ItemProblem::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used for a different request",
        )])),
        Idempotent::AlreadyAccepted => Err(already()),
        Idempotent::Written => Err(ServiceError::internal("a written request is no replay")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("order-42/retry").is_ok());
        for bad in ["", "with space", "é", &"k".repeat(KEY_MAX + 1)] {
            assert!(
                matches!(IdempotencyKey::parse(bad), Err(ServiceError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(IdempotencyKey::parse(&"k".repeat(KEY_MAX)).is_ok());
    }

    #[test]
    fn the_request_hash_is_pinned_and_tells_requests_apart() {
        // Stored with keys: a change would turn every retry of a recorded request into a
        // refusal. Computed independently (Python) from the FNV-1a definition.
        assert_eq!(request_hash("launch cmp_1", b""), "bf3ef34956a1d6eb");
        assert_eq!(
            request_hash("accept cq_1", br#"{"months":6}"#),
            "de070a22e5a0335b"
        );
        assert_ne!(
            request_hash("accept q1", b"{}"),
            request_hash("accept q2", b"{}")
        );
        assert_ne!(request_hash("ab", b"c"), request_hash("a", b"bc"));
        // The same JSON written differently is the same request.
        assert_eq!(
            request_hash("accept cq_1", br#"{ "months": 6 }"#),
            request_hash("accept cq_1", br#"{"months":6}"#)
        );
        assert_eq!(
            request_hash("apply", br#"{"b": [1, {"y": 2, "x": 1}], "a": "z"}"#),
            request_hash("apply", br#"{"a":"z","b":[1,{"x":1,"y":2}]}"#)
        );
        assert_ne!(
            request_hash("apply", br#"{"months":6}"#),
            request_hash("apply", br#"{"months":7}"#)
        );
    }

    #[test]
    fn outcomes_settle_into_answers_or_refusals() {
        let answer = Answer {
            status: CREATED,
            body: serde_json::json!({"id": 1}),
        };
        let refused = || ServiceError::conflict("already", "id", "exists");
        assert_eq!(
            settle(Idempotent::Written, answer.clone(), refused).unwrap(),
            answer
        );
        let recorded = IdempotentResponse {
            caller: "service:app".into(),
            key: "k".into(),
            request_hash: "h".into(),
            status: 201,
            response: serde_json::json!({"id": 0}),
            created_at: Utc::now(),
        };
        assert_eq!(
            settle(Idempotent::Replay(recorded), answer.clone(), refused)
                .unwrap()
                .body,
            serde_json::json!({"id": 0})
        );
        assert!(matches!(
            settle(Idempotent::KeyReused, answer.clone(), refused),
            Err(ServiceError::Invalid(p)) if p[0].code == "idempotency_key_reused"
        ));
        assert!(matches!(
            settle(Idempotent::AlreadyAccepted, answer, refused),
            Err(ServiceError::Conflict {
                code: "already",
                ..
            })
        ));
    }
}
