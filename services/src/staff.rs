//! Staff of the console: accounts, passwords, lock-out and sessions.
//!
//! Passwords are hashed with Argon2id at OWASP's minimum parameters (19 MiB, 2 passes, one
//! lane) and never stored or logged. Five failed sign-ins in a row lock an account for 15
//! minutes; a sign-in with an unknown name costs the same hash as a known one, so timing
//! tells nothing. A session is a random 256-bit token held only by the browser; the store
//! keeps its SHA-256. Sessions end after 30 minutes idle or 8 hours in all, on sign-out, on
//! a password change and when the account is disabled.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sextant_hash::sha256_hex;
use sextant_store::{Actor, LiveSession, LockPolicy, StaffAccount, StaffSession, Store};

use crate::{Result, ServiceError};

/// The roles a staff account may hold (the API's staff roles; customers and services sign
/// in with tokens, never here).
pub const STAFF_ROLES: [&str; 4] = ["marketer", "wealth_manager", "compliance", "admin"];
/// Shortest password accepted (NIST SP 800-63B asks for at least 8; staff get more).
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest password accepted: bounds the hashing work one request can ask for.
pub const PASSWORD_MAX_BYTES: usize = 256;
/// Failures in a row that lock an account, and for how long.
pub const LOCK_POLICY: LockPolicy = LockPolicy {
    max_failures: 5,
    lock_for: Duration::minutes(15),
};
/// A session ends after this long without a request...
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// ...and after this long in any case.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A staff username: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn username(raw: &str) -> Result<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.as_bytes()[0].is_ascii_alphanumeric()
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ServiceError::invalid(
            "username",
            "invalid_username",
            "1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
        ))
    }
}

/// A staff role, one of [`STAFF_ROLES`].
pub fn role(raw: &str) -> Result<&'static str> {
    STAFF_ROLES
        .iter()
        .find(|r| **r == raw)
        .copied()
        .ok_or_else(|| {
            ServiceError::invalid(
                "role",
                "invalid_role",
                format!("one of {}", STAFF_ROLES.join(", ")),
            )
        })
}

/// The Argon2id PHC string of an acceptable password.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(ServiceError::invalid(
            "password",
            "password_too_short",
            format!("at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(ServiceError::invalid(
            "password",
            "password_too_long",
            format!("at most {PASSWORD_MAX_BYTES} bytes"),
        ));
    }
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(ServiceError::internal)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ServiceError::internal)
}

/// Whether `password` matches the PHC string `hash` (any Argon2 variant and parameters the
/// string names, so parameters can be raised without invalidating stored hashes).
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A password that no one has, hashed once: what an unknown username is checked against.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).expect("a random decoy hashes"))
}

/// A random password of 24 letters and digits (about 143 bits), for accounts made by the
/// demo and the benches.
pub fn random_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)
}

/// A random 256-bit token, hex (sessions, CSRF tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Creates an account.
pub async fn add(
    store: &dyn Store,
    name: &str,
    role_name: &str,
    password: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<StaffAccount> {
    let account = StaffAccount {
        username: username(name)?,
        role: role(role_name)?.to_owned(),
        password_hash: hash_password(password)?,
        disabled: false,
        failed_attempts: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    if !store.add_staff(&account, by, now).await? {
        return Err(ServiceError::conflict(
            "username_taken",
            "username",
            format!("a staff account named {name} exists"),
        ));
    }
    Ok(account)
}

/// The account with this password, enabled: created, or given the password (which ends its
/// sessions) and enabled again. For the demo's and the benches' own accounts.
pub async fn reset_or_add(
    store: &dyn Store,
    name: &str,
    role_name: &str,
    password: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if store.staff(name).await?.is_some() {
        set_password(store, name, password, by, now).await?;
        set_disabled(store, name, false, by, now).await
    } else {
        add(store, name, role_name, password, by, now)
            .await
            .map(drop)
    }
}

/// Sets a new password (clearing any lock and ending the account's sessions).
pub async fn set_password(
    store: &dyn Store,
    name: &str,
    password: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let hash = hash_password(password)?;
    if store.set_staff_password(name, &hash, by, now).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// Disables (ending its sessions) or enables an account.
pub async fn set_disabled(
    store: &dyn Store,
    name: &str,
    disabled: bool,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if store.set_staff_disabled(name, disabled, by, now).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// A new session: the token goes to the browser (once), the session to the caller.
#[derive(Debug)]
pub struct Opened {
    pub token: String,
    pub session: StaffSession,
    pub account: StaffAccount,
}

/// Why a sign-in was refused. The console shows the same words for every reason, so a
/// stranger learns nothing about which accounts exist or are locked; the audit trail has
/// the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    WrongCredentials,
    Locked,
    Disabled,
}

/// Checks a username and password and opens a session.
pub async fn sign_in(
    store: &dyn Store,
    name: &str,
    password: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Opened, Refused>> {
    // The attempt is recorded under the name typed (bounded), whoever it belongs to.
    let typed: String = name.chars().take(64).collect();
    let by = Actor::new(typed.clone(), "staff").with_request_id(request_id);
    let found = match username(name) {
        Ok(valid) => store.staff(&valid).await?,
        Err(_) => None,
    };
    let hash = found
        .as_ref()
        .map_or(decoy_hash(), |a| a.password_hash.as_str());
    let matches = password.len() <= PASSWORD_MAX_BYTES && verify(password, hash);
    let refusal = match &found {
        None => Some(Refused::WrongCredentials),
        Some(a) if a.disabled => Some(Refused::Disabled),
        Some(a) if a.locked_at(now) => Some(Refused::Locked),
        Some(_) if !matches => Some(Refused::WrongCredentials),
        Some(_) => None,
    };
    if let Some(refused) = refusal {
        let after = store
            .staff_sign_in_failed(&typed, LOCK_POLICY, &by, now)
            .await?;
        let locked = after.is_some_and(|a| a.locked_at(now));
        return Ok(Err(match refused {
            Refused::WrongCredentials if locked => Refused::Locked,
            other => other,
        }));
    }
    let account = found.expect("a refusal covers a missing account");
    let token = random_token();
    let session = StaffSession {
        token_hash: token_hash(&token),
        username: account.username.clone(),
        csrf_token: random_token(),
        created_at: now,
        last_seen: now,
        expires_at: now + SESSION_LIFETIME,
    };
    let by = Actor::new(account.username.clone(), account.role.clone()).with_request_id(request_id);
    store.open_staff_session(&session, &by).await?;
    Ok(Ok(Opened {
        token,
        session,
        account,
    }))
}

/// The live session a browser's token opens, if any.
pub async fn session(
    store: &dyn Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<LiveSession>> {
    // Tokens are 64 hex characters; anything else opens nothing and costs no lookup.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(store
        .staff_session(&token_hash(token), SESSION_IDLE, now)
        .await?)
}

/// Ends a session.
pub async fn sign_out(
    store: &dyn Store,
    token: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    store
        .close_staff_session(&token_hash(token), by, now)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse battery!", &hash));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(hash_password("short").is_err());
        assert!(hash_password(&"x".repeat(PASSWORD_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn usernames_and_roles_are_checked() {
        assert!(username("wm-01").is_ok());
        for bad in ["", "Admin", "a b", "-x", &"a".repeat(65)] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
        assert_eq!(role("compliance").unwrap(), "compliance");
        assert!(role("customer").is_err(), "customers never sign in here");
    }
}
