//! Bearer JWT authentication and the role rules.
//!
//! A token carries `sub` and `role`. A customer token reaches only its own customer: any
//! other customer id answers 404, exactly as if it did not exist, so ids cannot be probed.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::error::AppError;
use crate::AppState;

/// The development secret: used only when no key is configured, and said so loudly.
pub const DEV_SECRET: &str = "sextant-local-development-secret-not-for-production";

sextant_domain::string_enum!(
    /// Who the caller is to Sextant.
    Role {
        Customer = "customer",
        Service = "service",
        Marketer = "marketer",
        WealthManager = "wealth_manager",
        Admin = "admin",
    }
);

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub exp: u64,
    pub iat: u64,
}

/// How tokens are checked.
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    /// True when running on [`DEV_SECRET`].
    pub dev_secret: bool,
}

impl Authenticator {
    /// From configuration: an RS256 public key (PEM) wins over an HS256 secret; with
    /// neither, the development secret.
    pub fn new(
        hs256_secret: Option<&Secret>,
        rs256_public_key_pem: Option<&str>,
    ) -> anyhow::Result<Self> {
        let (key, algorithm, dev_secret) = match (rs256_public_key_pem, hs256_secret) {
            (Some(pem), _) => (
                DecodingKey::from_rsa_pem(pem.as_bytes())?,
                Algorithm::RS256,
                false,
            ),
            (None, Some(secret)) => (
                DecodingKey::from_secret(secret.expose().as_bytes()),
                Algorithm::HS256,
                false,
            ),
            (None, None) => (
                DecodingKey::from_secret(DEV_SECRET.as_bytes()),
                Algorithm::HS256,
                true,
            ),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Ok(Authenticator {
            key,
            validation,
            dev_secret,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|_| AppError::Unauthenticated("the bearer token is invalid or expired"))?;
        let role = Role::parse(&data.claims.role)
            .map_err(|_| AppError::Unauthenticated("the token's role is unknown"))?;
        if data.claims.sub.is_empty() {
            return Err(AppError::Unauthenticated("the token has no subject"));
        }
        Ok(Caller {
            sub: data.claims.sub,
            role,
        })
    }
}

/// Mints an HS256 token with the development secret (`sextant token`, the demo, tests).
pub fn mint_dev_token(role: Role, sub: &str, ttl_secs: u64) -> String {
    mint_hs256(DEV_SECRET, role, sub, ttl_secs)
}

pub fn mint_hs256(secret: &str, role: Role, sub: &str, ttl_secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = Claims {
        sub: sub.to_owned(),
        role: role.as_str().to_owned(),
        exp: now + ttl_secs,
        iat: now,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sub: String,
    pub role: Role,
}

impl Caller {
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
        state.auth.verify(token.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_tokens_verify_and_others_do_not() {
        let auth = Authenticator::new(None, None).unwrap();
        assert!(auth.dev_secret);
        let caller = auth
            .verify(&mint_dev_token(Role::Marketer, "m1", 60))
            .unwrap();
        assert_eq!(
            caller,
            Caller {
                sub: "m1".into(),
                role: Role::Marketer
            }
        );
        let other = mint_hs256("another-secret", Role::Admin, "a", 60);
        assert!(auth.verify(&other).is_err());
        let configured = Authenticator::new(Some(&Secret::new("s3cret".into())), None).unwrap();
        assert!(!configured.dev_secret);
        assert!(configured
            .verify(&mint_dev_token(Role::Admin, "a", 60))
            .is_err());
    }

    #[test]
    fn rs256_tokens_verify_against_the_public_key() {
        // A key pair made for this test only (tests/fixtures), never used anywhere else.
        let private = include_str!("../tests/fixtures/test-rs256-private.pem");
        let public = include_str!("../tests/fixtures/test-rs256-public.pem");
        let auth = Authenticator::new(Some(&Secret::new("ignored".into())), Some(public)).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Claims {
            sub: "svc".into(),
            role: "service".into(),
            exp: now + 60,
            iat: now,
        };
        let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
        assert_eq!(auth.verify(&token).unwrap().role, Role::Service);
        assert!(
            auth.verify(&mint_dev_token(Role::Admin, "a", 60)).is_err(),
            "HS256 is refused once RS256 is configured"
        );
        let expired = Claims {
            exp: now - 3600,
            ..claims
        };
        let old = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &expired, &key).unwrap();
        assert!(auth.verify(&old).is_err());
    }

    #[test]
    fn a_customer_reaches_only_itself() {
        let me = Caller {
            sub: "c1".into(),
            role: Role::Customer,
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
