//! Bearer JWT authentication and the role rules.
//!
//! Keys fail closed: a server has a configured key (an HS256 secret of at least 32 bytes, an
//! RS256 public key, or a JWKS file of keys by `kid`), or it runs on the public development
//! secret only in the explicit development mode, on a loopback address. Every token must
//! carry `sub`, `role`, `iss`, `aud`, `iat` and `exp`; the issuer and audience must be the
//! configured ones, `exp - iat` at most the configured lifetime, and `iat`/`nbf` not in the
//! future (30 seconds of clock skew allowed). The JWKS file is read again when it changes, so
//! keys rotate without a restart: publish the new key beside the old, move the issuer to it,
//! then drop the old one.
//!
//! A token carries `sub` and `role`. A customer token reaches only its own customer: any
//! other customer id answers 404, exactly as if it did not exist, so ids cannot be probed.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Secret};
use crate::error::AppError;
use crate::{AppState, RequestId};
use sextant_store::Actor;

/// The development secret: accepted only in development mode on loopback, and said so loudly.
pub const DEV_SECRET: &str = "sextant-local-development-secret-not-for-production";
/// Shortest HS256 secret accepted: 256 bits, the hash's own size (RFC 7518 3.2).
pub const HS256_SECRET_MIN_BYTES: usize = 32;
/// Smallest RSA modulus accepted (NIST SP 800-57: 2048 bits through 2030).
pub const RSA_MODULUS_MIN_BITS: usize = 2048;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 30;
/// How often the JWKS file's modification time is looked at.
const JWKS_RECHECK: Duration = Duration::from_secs(2);

sextant_domain::string_enum!(
    /// Who the caller is to Sextant.
    Role {
        Customer = "customer",
        Service = "service",
        Marketer = "marketer",
        WealthManager = "wealth_manager",
        Compliance = "compliance",
        Admin = "admin",
    }
);

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// What a token must say about where it comes from and how long it lives.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub issuer: String,
    pub audience: String,
    pub max_lifetime_secs: u64,
}

impl TokenPolicy {
    pub fn from_config(config: &Config) -> Self {
        TokenPolicy {
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            max_lifetime_secs: config.jwt_max_lifetime_secs,
        }
    }
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy::from_config(&Config::default())
    }
}

/// One verification key.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Where the keys come from.
enum Keys {
    /// Keys from the configuration, fixed for the process.
    Fixed(Vec<Key>),
    /// A JWKS file, read again when it changes.
    Jwks(RwLock<JwksFile>),
}

struct JwksFile {
    path: PathBuf,
    modified: Option<SystemTime>,
    checked: Instant,
    keys: Vec<Key>,
}

/// How tokens are checked.
pub struct Authenticator {
    keys: Keys,
    policy: TokenPolicy,
    /// True when running on [`DEV_SECRET`].
    pub dev_secret: bool,
}

impl Authenticator {
    /// The keys the configuration names: a JWKS file, an RS256 public key (PEM) or an HS256
    /// secret, in that order of preference. With none, an error, unless `development` (the
    /// caller has checked the address is loopback), which uses [`DEV_SECRET`].
    pub fn from_config(config: &Config, development: bool) -> anyhow::Result<Self> {
        let policy = TokenPolicy::from_config(config);
        anyhow::ensure!(
            !policy.issuer.is_empty() && !policy.audience.is_empty(),
            "jwt_issuer and jwt_audience must not be empty"
        );
        anyhow::ensure!(
            policy.max_lifetime_secs > 0,
            "jwt_max_lifetime_secs must be positive"
        );
        if let Some(path) = &config.jwt_jwks_file {
            let file = JwksFile::read(path)?;
            return Ok(Authenticator {
                keys: Keys::Jwks(RwLock::new(file)),
                policy,
                dev_secret: false,
            });
        }
        if let Some(pem) = &config.jwt_rs256_public_key {
            return Ok(Authenticator {
                keys: Keys::Fixed(vec![rs256_key(pem)?]),
                policy,
                dev_secret: false,
            });
        }
        if let Some(secret) = &config.jwt_hs256_secret {
            return Ok(Authenticator {
                keys: Keys::Fixed(vec![hs256_key(secret)?]),
                policy,
                dev_secret: false,
            });
        }
        anyhow::ensure!(
            development,
            "no token key is configured: set jwt_jwks_file, jwt_rs256_public_key or \
             jwt_hs256_secret (or SEXTANT_JWT_*), or run `sextant serve --dev` on a loopback \
             address for local development"
        );
        Ok(Authenticator::development())
    }

    /// The public development secret, for the demo, benches and tests on loopback.
    pub fn development() -> Self {
        Authenticator {
            keys: Keys::Fixed(vec![Key {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(DEV_SECRET.as_bytes()),
            }]),
            policy: TokenPolicy::default(),
            dev_secret: true,
        }
    }

    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AppError> {
        let invalid = || AppError::Unauthenticated("the bearer token is invalid or expired");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let key = self
            .key_for(header.kid.as_deref())
            .ok_or(AppError::Unauthenticated("the token's key is unknown"))?;
        // The key decides the algorithm, never the token (no algorithm confusion).
        if header.alg != key.algorithm {
            return Err(invalid());
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[&self.policy.issuer]);
        validation.set_audience(&[&self.policy.audience]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|_| invalid())?
            .claims;
        let now = unix_now();
        if claims.iat > now + LEEWAY_SECS {
            return Err(AppError::Unauthenticated(
                "the token is issued in the future",
            ));
        }
        if claims.exp.saturating_sub(claims.iat) > self.policy.max_lifetime_secs {
            return Err(AppError::Unauthenticated(
                "the token lives longer than this server allows",
            ));
        }
        let role = Role::parse(&claims.role)
            .map_err(|_| AppError::Unauthenticated("the token's role is unknown"))?;
        if claims.sub.is_empty() {
            return Err(AppError::Unauthenticated("the token has no subject"));
        }
        Ok(Caller {
            sub: claims.sub,
            role,
            request_id: String::new(),
        })
    }

    /// The key a token names: by `kid`, or the one configured key for a token without one.
    fn key_for(&self, kid: Option<&str>) -> Option<Key> {
        let pick = |keys: &[Key]| match kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None => match keys {
                [only] if only.kid.is_none() => Some(only.clone()),
                _ => None,
            },
        };
        match &self.keys {
            Keys::Fixed(keys) => pick(keys),
            Keys::Jwks(file) => {
                let stale = file
                    .read()
                    .map(|f| f.checked.elapsed() >= JWKS_RECHECK)
                    .unwrap_or(true);
                if stale {
                    if let Ok(mut f) = file.write() {
                        f.refresh();
                    }
                }
                let f = file.read().ok()?;
                pick(&f.keys)
            }
        }
    }
}

impl JwksFile {
    fn read(path: &Path) -> anyhow::Result<JwksFile> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let keys = read_jwks(path)?;
        Ok(JwksFile {
            path: path.to_owned(),
            modified,
            checked: Instant::now(),
            keys,
        })
    }

    /// Reads the file again when its modification time moved; a file that no longer reads
    /// keeps the keys it had (and says so in the log), so a half-written file locks no one out.
    fn refresh(&mut self) {
        self.checked = Instant::now();
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified == self.modified {
            return;
        }
        match read_jwks(&self.path) {
            Ok(keys) => {
                tracing::info!(path = %self.path.display(), keys = keys.len(), "token keys reloaded");
                self.keys = keys;
                self.modified = modified;
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "token keys not reloaded; keeping the previous keys");
            }
        }
    }
}

fn read_jwks(path: &Path) -> anyhow::Result<Vec<Key>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the JWKS file {}: {e}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a JWKS document: {e}", path.display()))?;
    anyhow::ensure!(!set.keys.is_empty(), "{} holds no keys", path.display());
    set.keys.iter().map(jwk_key).collect()
}

fn jwk_key(jwk: &Jwk) -> anyhow::Result<Key> {
    let kid = jwk
        .common
        .key_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("every JWKS key needs a `kid`"))?;
    let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(alg), _) => Algorithm::from_str(&alg.to_string())
            .map_err(|_| anyhow::anyhow!("key {kid}: `alg` {alg} cannot sign tokens"))?,
        (None, AlgorithmParameters::OctetKey(_)) => Algorithm::HS256,
        (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
        (None, AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
        (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match &jwk.algorithm {
        AlgorithmParameters::OctetKey(k) => {
            let bytes = b64
                .decode(k.value.trim_end_matches('='))
                .map_err(|_| anyhow::anyhow!("key {kid}: `k` is not base64url"))?;
            anyhow::ensure!(
                bytes.len() >= HS256_SECRET_MIN_BYTES,
                "key {kid}: an HMAC key needs at least {HS256_SECRET_MIN_BYTES} bytes"
            );
        }
        AlgorithmParameters::RSA(rsa) => {
            let modulus = b64
                .decode(rsa.n.trim_end_matches('='))
                .map_err(|_| anyhow::anyhow!("key {kid}: `n` is not base64url"))?;
            let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
            anyhow::ensure!(
                bits >= RSA_MODULUS_MIN_BITS,
                "key {kid}: an RSA key needs at least {RSA_MODULUS_MIN_BITS} bits"
            );
        }
        _ => {}
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| anyhow::anyhow!("key {kid}: {e}"))?;
    Ok(Key {
        kid: Some(kid),
        algorithm,
        key,
    })
}

fn hs256_key(secret: &Secret) -> anyhow::Result<Key> {
    let bytes = secret.expose().as_bytes();
    anyhow::ensure!(
        bytes.len() >= HS256_SECRET_MIN_BYTES,
        "jwt_hs256_secret must be at least {HS256_SECRET_MIN_BYTES} bytes (it is {}); \
         `openssl rand -base64 48` makes one",
        bytes.len()
    );
    anyhow::ensure!(
        secret.expose() != DEV_SECRET,
        "jwt_hs256_secret is the public development secret"
    );
    Ok(Key {
        kid: None,
        algorithm: Algorithm::HS256,
        key: DecodingKey::from_secret(bytes),
    })
}

fn rs256_key(pem: &str) -> anyhow::Result<Key> {
    // A PEM's DER length tells the modulus size closely enough: a 2048-bit
    // SubjectPublicKeyInfo is 294 bytes, a 1024-bit one 162.
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der_len = base64::engine::general_purpose::STANDARD
        .decode(der.trim())
        .map_err(|_| anyhow::anyhow!("jwt_rs256_public_key is not a PEM public key"))?
        .len();
    anyhow::ensure!(
        der_len >= 270,
        "jwt_rs256_public_key must be an RSA key of at least {RSA_MODULUS_MIN_BITS} bits"
    );
    Ok(Key {
        kid: None,
        algorithm: Algorithm::RS256,
        key: DecodingKey::from_rsa_pem(pem.as_bytes())?,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Claims for `role`/`sub`, issued now and living `ttl_secs`, under `policy`.
pub fn claims(policy: &TokenPolicy, role: Role, sub: &str, ttl_secs: u64) -> Claims {
    let now = unix_now();
    Claims {
        sub: sub.to_owned(),
        role: role.as_str().to_owned(),
        iss: policy.issuer.clone(),
        aud: policy.audience.clone(),
        exp: now + ttl_secs.min(policy.max_lifetime_secs),
        iat: now,
        nbf: None,
    }
}

/// Mints an HS256 token with the development secret (`sextant token`, the demo, tests).
pub fn mint_dev_token(role: Role, sub: &str, ttl_secs: u64) -> String {
    mint_hs256(DEV_SECRET, role, sub, ttl_secs)
}

/// Mints an HS256 token under the default issuer and audience.
pub fn mint_hs256(secret: &str, role: Role, sub: &str, ttl_secs: u64) -> String {
    sign_hs256(
        secret,
        &claims(&TokenPolicy::default(), role, sub, ttl_secs),
        None,
    )
}

/// Signs `claims` with an HS256 secret, naming `kid` in the header when given.
pub fn sign_hs256(secret: &str, claims: &Claims, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sub: String,
    pub role: Role,
    /// The request's `x-request-id` (empty outside a request), for the audit trail.
    pub request_id: String,
}

impl Caller {
    /// The caller as the audit trail records whoever changes something.
    pub fn actor(&self) -> Actor {
        Actor::new(&self.sub, self.role.as_str()).with_request_id(&self.request_id)
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the caller may see anything about this customer: a customer token only its
    /// own customer, every other role (its role checked apart) any customer.
    pub fn may_reach(&self, customer_id: &str) -> bool {
        self.role != Role::Customer || self.sub == customer_id
    }

    /// For routes about one customer: a customer token naming another customer gets 404
    /// (before any role check, so nothing is revealed); otherwise the role must be allowed.
    pub fn reach_customer(&self, customer_id: &str, roles: &[Role]) -> Result<(), AppError> {
        if !self.may_reach(customer_id) {
            return Err(AppError::NotFound);
        }
        self.require(roles)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Verified already by the staff-read recorder (which runs first for watched reads).
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(
            AppError::Unauthenticated("send `Authorization: Bearer <token>`"),
        )?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthenticated(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let mut caller = state.auth.verify(token.trim())?;
        if let Some(RequestId(id)) = parts.extensions.get::<RequestId>() {
            caller.request_id = id.clone();
        }
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "a-test-secret-of-forty-bytes-0123456789ab";

    fn configured(secret: &str) -> anyhow::Result<Authenticator> {
        let config = Config {
            jwt_hs256_secret: Some(Secret::new(secret.into())),
            ..Config::default()
        };
        Authenticator::from_config(&config, false)
    }

    #[test]
    fn keys_fail_closed() {
        let err = Authenticator::from_config(&Config::default(), false)
            .err()
            .expect("no key, no development mode: refused");
        assert!(err.to_string().contains("no token key is configured"));
        for weak in ["", "x", "31-bytes-is-one-byte-too-short!", DEV_SECRET] {
            assert!(configured(weak).is_err(), "{weak:?} is refused");
        }
        assert!(configured(STRONG).is_ok());
        assert!(
            Authenticator::from_config(&Config::default(), true)
                .unwrap()
                .dev_secret
        );
    }

    #[test]
    fn dev_tokens_verify_only_in_development() {
        let auth = Authenticator::development();
        let caller = auth
            .verify(&mint_dev_token(Role::Marketer, "m1", 60))
            .unwrap();
        assert_eq!(
            caller,
            Caller {
                sub: "m1".into(),
                role: Role::Marketer,
                request_id: String::new(),
            }
        );
        assert!(auth
            .verify(&mint_hs256(STRONG, Role::Admin, "a", 60))
            .is_err());
        let configured = configured(STRONG).unwrap();
        assert!(!configured.dev_secret);
        assert!(configured
            .verify(&mint_dev_token(Role::Admin, "a", 60))
            .is_err());
        assert!(configured
            .verify(&mint_hs256(STRONG, Role::Admin, "a", 60))
            .is_ok());
    }

    #[test]
    fn claims_are_checked() {
        let auth = configured(STRONG).unwrap();
        let policy = auth.policy().clone();
        let good = claims(&policy, Role::Service, "app", 600);
        let verify = |c: &Claims| auth.verify(&sign_hs256(STRONG, c, None));
        assert!(verify(&good).is_ok());
        let now = unix_now();
        let cases = [
            (
                "expiring in 2100",
                Claims {
                    exp: 4_102_444_800,
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "issued in the future",
                Claims {
                    iat: now + 3_600,
                    exp: now + 4_000,
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "not yet valid",
                Claims {
                    nbf: Some(now + 3_600),
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "expired",
                Claims {
                    iat: now - 7_200,
                    exp: now - 3_600,
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "another issuer",
                Claims {
                    iss: "someone-else".into(),
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "another audience",
                Claims {
                    aud: "another-api".into(),
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
            (
                "an unknown role",
                Claims {
                    role: "pilot".into(),
                    ..claims(&policy, Role::Admin, "a", 600)
                },
            ),
        ];
        for (why, c) in cases {
            assert!(verify(&c).is_err(), "a token {why} is refused");
        }
        // A token without `iat` or `exp` does not even decode into the claims.
        let bare = serde_json::json!({"sub": "a", "role": "admin", "iss": policy.issuer, "aud": policy.audience, "exp": now + 60});
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &bare,
            &EncodingKey::from_secret(STRONG.as_bytes()),
        )
        .unwrap();
        assert!(auth.verify(&token).is_err(), "`iat` is required");
        // The algorithm is the key's: an unsigned token is refused.
        let unsigned = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"alg":"none","typ":"JWT"}"#),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&good).unwrap())
        );
        assert!(auth.verify(&unsigned).is_err());
    }

    #[test]
    fn jwks_keys_rotate_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwks = |keys: &[(&str, &str)]| {
            let keys: Vec<_> = keys
                .iter()
                .map(|(kid, secret)| serde_json::json!({"kty": "oct", "kid": kid, "alg": "HS256", "k": b64.encode(secret)}))
                .collect();
            serde_json::json!({ "keys": keys }).to_string()
        };
        let old = ("2026-11", "old-secret-0123456789-0123456789-0123456789");
        let new = ("2026-12", "new-secret-0123456789-0123456789-0123456789");
        std::fs::write(&path, jwks(&[old])).unwrap();
        let config = Config {
            jwt_jwks_file: Some(path.clone()),
            ..Config::default()
        };
        let auth = Authenticator::from_config(&config, false).unwrap();
        let token = |(kid, secret): (&str, &str)| {
            sign_hs256(
                secret,
                &claims(auth.policy(), Role::Service, "app", 60),
                Some(kid),
            )
        };
        assert!(auth.verify(&token(old)).is_ok());
        assert!(auth.verify(&token(new)).is_err(), "not published yet");
        assert!(
            auth.verify(&mint_hs256(old.1, Role::Service, "app", 60))
                .is_err(),
            "a JWKS key is found by kid only"
        );
        // Publish the new key beside the old, then retire the old one.
        std::fs::write(&path, jwks(&[old, new])).unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        if let Keys::Jwks(file) = &auth.keys {
            file.write().unwrap().checked -= JWKS_RECHECK;
        }
        assert!(auth.verify(&token(new)).is_ok());
        assert!(auth.verify(&token(old)).is_ok());
        std::fs::write(&path, jwks(&[new])).unwrap();
        let later = later + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        if let Keys::Jwks(file) = &auth.keys {
            file.write().unwrap().checked -= JWKS_RECHECK;
        }
        assert!(auth.verify(&token(old)).is_err(), "the old key is retired");
        assert!(auth.verify(&token(new)).is_ok());
        // A weak key in the file is refused at start.
        std::fs::write(&path, jwks(&[("weak", "short")])).unwrap();
        assert!(Authenticator::from_config(&config, false).is_err());
    }

    #[test]
    fn rs256_tokens_verify_against_the_public_key() {
        // A key pair made for this test only (tests/fixtures), never used anywhere else.
        let private = include_str!("../tests/fixtures/test-rs256-private.pem");
        let public = include_str!("../tests/fixtures/test-rs256-public.pem");
        let config = Config {
            jwt_rs256_public_key: Some(public.into()),
            jwt_hs256_secret: Some(Secret::new(STRONG.into())),
            ..Config::default()
        };
        let auth = Authenticator::from_config(&config, false).unwrap();
        let good = claims(auth.policy(), Role::Service, "svc", 60);
        let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &good, &key).unwrap();
        assert_eq!(auth.verify(&token).unwrap().role, Role::Service);
        assert!(
            auth.verify(&mint_hs256(STRONG, Role::Admin, "a", 60))
                .is_err(),
            "HS256 is refused once RS256 is configured"
        );
        let expired = Claims {
            exp: good.iat - 3600,
            iat: good.iat - 3660,
            ..good
        };
        let old = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &expired, &key).unwrap();
        assert!(auth.verify(&old).is_err());
    }

    #[test]
    fn a_customer_reaches_only_itself() {
        let me = Caller {
            sub: "c1".into(),
            role: Role::Customer,
            request_id: String::new(),
        };
        assert!(me.reach_customer("c1", &[Role::Customer]).is_ok());
        assert!(matches!(
            me.reach_customer("c2", &[Role::Customer]),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            me.reach_customer("c2", &[Role::Admin]),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            me.reach_customer("c1", &[Role::Admin]),
            Err(AppError::Forbidden)
        ));
    }
}
