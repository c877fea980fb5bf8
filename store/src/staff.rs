//! Staff of the console: accounts with a role and an Argon2id password hash (hashed by the
//! services; this crate never sees a password), the lock-out state after failed sign-ins,
//! and sessions, kept as the SHA-256 of the cookie's token so a copy of the database opens
//! no session.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::{Actor, StoreError};

/// A staff account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub username: String,
    /// `marketer`, `wealth_manager`, `compliance` or `admin` (checked by the services).
    pub role: String,
    /// PHC string (`$argon2id$v=19$...`).
    pub password_hash: String,
    pub disabled: bool,
    /// Failed sign-ins since the last success or password change.
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StaffAccount {
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// When repeated failures lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

/// A session as stored: whose, its CSRF token, and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: String,
    pub username: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The absolute end, whatever the activity.
    pub expires_at: DateTime<Utc>,
}

/// What a session lookup finds: the session and its account, both live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub session: StaffSession,
    pub account: StaffAccount,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Creates an account; `false` when the username is taken (nothing changes).
    async fn add_staff(
        &self,
        account: &StaffAccount,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn staff(&self, username: &str) -> Result<Option<StaffAccount>, StoreError>;
    async fn list_staff(&self) -> Result<Vec<StaffAccount>, StoreError>;
    /// Replaces the password hash, clears failures and any lock, and ends every session of
    /// the account; `false` when there is no such account.
    async fn set_staff_password(
        &self,
        username: &str,
        password_hash: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Disables (ending every session) or enables an account; `false` when there is none.
    async fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Counts a failed sign-in (recorded even for an unknown username) and locks the account
    /// when `policy.max_failures` is reached; the account as it is now, if there is one.
    async fn staff_sign_in_failed(
        &self,
        username: &str,
        policy: LockPolicy,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffAccount>, StoreError>;
    /// Opens a session after a successful sign-in and clears the failure count.
    async fn open_staff_session(
        &self,
        session: &StaffSession,
        by: &Actor,
    ) -> Result<(), StoreError>;
    /// The live session with this token hash: not past `expires_at`, not idle longer than
    /// `idle`, its account enabled. Marks it seen (at most once a minute, to keep reads
    /// cheap); ends it when it has lapsed.
    async fn staff_session(
        &self,
        token_hash: &str,
        idle: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, StoreError>;
    /// Ends a session (sign-out); `false` when there was none.
    async fn close_staff_session(
        &self,
        token_hash: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
