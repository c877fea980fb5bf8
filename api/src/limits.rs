//! Per-request limits: rate limits per bearer token and per client address (token
//! buckets, `429` with `Retry-After`), a tighter budget of failed authentications per
//! address, the body read timeout (`408`) and the request deadline that cancels the work
//! (`503 deadline_exceeded`). Connection-level limits live in `server`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Limits;
use crate::error::AppError;
use crate::AppState;

/// Buckets kept per table before idle ones are dropped (bounds memory under a flood of
/// random tokens or addresses).
const BUCKETS_MAX: usize = 100_000;
/// Shards of each table, so concurrent requests rarely wait on one lock.
const SHARDS: usize = 16;

/// A token bucket: `rate` per second, at most `burst` saved.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets by key, sharded.
struct Table {
    rate: f64,
    burst: f64,
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl Table {
    fn new(rate: f64, burst: f64) -> Self {
        Table {
            rate,
            burst: burst.max(1.0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    /// Takes one token for `key`: `Err(wait)` when the bucket is empty.
    fn take(&self, key: u64, now: Instant) -> Result<(), Duration> {
        self.spend(key, now, 1.0, true)
    }

    /// Whether `key` has a token left, without taking it.
    fn peek(&self, key: u64, now: Instant) -> Result<(), Duration> {
        self.spend(key, now, 1.0, false)
    }

    fn spend(&self, key: u64, now: Instant, cost: f64, take: bool) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let shard = &self.shards[(key as usize) % SHARDS];
        let mut buckets = shard.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= BUCKETS_MAX / SHARDS {
            let (rate, burst) = (self.rate, self.burst);
            // A bucket that has refilled is the same as no bucket.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
            if buckets.len() >= BUCKETS_MAX / SHARDS {
                // A flood of fresh keys within one refill: forget this shard rather than grow.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let refilled = (bucket.tokens
            + now.duration_since(bucket.updated).as_secs_f64() * self.rate)
            .min(self.burst);
        if refilled >= cost {
            if take {
                bucket.tokens = refilled - cost;
                bucket.updated = now;
            }
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - refilled) / self.rate))
        }
    }
}

/// The rate limits of one server.
pub struct RateLimits {
    per_token: Table,
    per_address: Table,
    auth_failures: Table,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        RateLimits {
            per_token: Table::new(limits.per_token_per_sec, limits.per_token_burst),
            per_address: Table::new(limits.per_address_per_sec, limits.per_address_burst),
            auth_failures: Table::new(
                limits.auth_failures_per_address_per_min / 60.0,
                limits.auth_failures_per_address_per_min,
            ),
        }
    }
}

fn key_of(value: impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Rate limits before anything else runs: per address, per failed-authentication budget
/// and per token (keyed by the token's text, so even unverifiable tokens are counted).
/// `/healthz` is exempt, so probes see the server as it is.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let limits = &state.rate_limits;
    let now = Instant::now();
    let address: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let address_key = address.map(key_of);
    let token_key = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| key_of(value.as_bytes()));
    let verdict = address_key
        .map_or(Ok(()), |key| limits.auth_failures.peek(key, now))
        .and_then(|()| address_key.map_or(Ok(()), |key| limits.per_address.take(key, now)))
        .and_then(|()| token_key.map_or(Ok(()), |key| limits.per_token.take(key, now)));
    if let Err(wait) = verdict {
        return AppError::RateLimited(wait).into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(key) = address_key {
            let _ = limits.auth_failures.take(key, now);
        }
    }
    response
}

/// Reads the whole body within the body read timeout (408 otherwise) and runs the rest of
/// the request within the request deadline (503 `deadline_exceeded` otherwise; dropping the
/// handler cancels its work, and blocking jobs watch the same deadline).
pub async fn deadlines(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.limits;
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, crate::routes::events::BODY_MAX_BYTES);
    let body = match tokio::time::timeout(
        Duration::from_secs(limits.body_read_timeout_secs.max(1)),
        read,
    )
    .await
    {
        Err(_) => return AppError::RequestTimeout.into_response(),
        Ok(Err(_)) => {
            return AppError::TooLarge(format!(
                "the body exceeds {} bytes or could not be read",
                crate::routes::events::BODY_MAX_BYTES
            ))
            .into_response()
        }
        Ok(Ok(bytes)) => bytes,
    };
    let request = Request::from_parts(parts, Body::from(body));
    match tokio::time::timeout(state.request_budget(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::DeadlineExceeded.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_their_rate() {
        let table = Table::new(10.0, 2.0);
        let start = Instant::now();
        assert!(table.take(1, start).is_ok());
        assert!(table.take(1, start).is_ok());
        let wait = table.take(1, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(
            table.take(2, start).is_ok(),
            "another key has its own bucket"
        );
        assert!(table.take(1, start + Duration::from_millis(100)).is_ok());
        assert!(table.peek(1, start + Duration::from_millis(100)).is_err());
        assert!(Table::new(0.0, 0.0).take(1, start).is_ok(), "0 is no limit");
    }

    #[test]
    fn a_flood_of_keys_is_bounded() {
        let table = Table::new(1.0, 1.0);
        let start = Instant::now();
        for key in 0..(BUCKETS_MAX as u64 * 2) {
            let _ = table.take(key, start);
        }
        let kept: usize = table.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(kept <= BUCKETS_MAX + SHARDS, "{kept} buckets kept");
    }
}
