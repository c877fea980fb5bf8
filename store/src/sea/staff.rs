//! Staff accounts and sessions on sea-orm. Every change is recorded in the audit trail in
//! its own transaction; a refused sign-in is recorded with the outcome `denied`.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;

use super::rows::ms_to_time;
use super::SeaStore;
use crate::entity::{staff_account, staff_session};
use crate::{Actor, LiveSession, LockPolicy, StaffAccount, StaffSession, StaffStore, StoreError};

/// How often a session's last-seen time is written: reads stay reads in between.
const SEEN_EVERY: Duration = Duration::minutes(1);

fn account(row: staff_account::Model) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        failed_attempts: u32::try_from(row.failed_attempts)
            .map_err(|_| StoreError::Corrupt("staff_accounts.failed_attempts".into()))?,
        locked_until: row.locked_until_ms.map(ms_to_time).transpose()?,
        created_at: ms_to_time(row.created_at_ms)?,
        updated_at: ms_to_time(row.updated_at_ms)?,
        username: row.username,
        role: row.role,
        password_hash: row.password_hash,
        disabled: row.disabled,
    })
}

fn session(row: staff_session::Model) -> Result<StaffSession, StoreError> {
    Ok(StaffSession {
        created_at: ms_to_time(row.created_at_ms)?,
        last_seen: ms_to_time(row.last_seen_ms)?,
        expires_at: ms_to_time(row.expires_at_ms)?,
        token_hash: row.token_hash,
        username: row.username,
        csrf_token: row.csrf_token,
    })
}

#[async_trait]
impl StaffStore for SeaStore {
    async fn add_staff(
        &self,
        a: &StaffAccount,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        if staff_account::Entity::find_by_id(a.username.as_str())
            .one(&txn)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        staff_account::Entity::insert(staff_account::ActiveModel {
            username: Set(a.username.clone()),
            role: Set(a.role.clone()),
            password_hash: Set(a.password_hash.clone()),
            disabled: Set(a.disabled),
            failed_attempts: Set(0),
            locked_until_ms: Set(None),
            created_at_ms: Set(now.timestamp_millis()),
            updated_at_ms: Set(now.timestamp_millis()),
        })
        .exec_without_returning(&txn)
        .await?;
        self.recorder(by)
            .record(
                &txn,
                "staff.add",
                &a.username,
                json!({ "role": a.role }),
                now,
            )
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn staff(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        staff_account::Entity::find_by_id(username)
            .one(&self.db)
            .await?
            .map(account)
            .transpose()
    }

    async fn list_staff(&self) -> Result<Vec<StaffAccount>, StoreError> {
        staff_account::Entity::find()
            .order_by_asc(staff_account::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(account)
            .collect()
    }

    async fn set_staff_password(
        &self,
        username: &str,
        password_hash: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use staff_account::Column as C;
        let columns = vec![
            (C::PasswordHash, Expr::value(password_hash)),
            (C::FailedAttempts, Expr::value(0i64)),
            (C::LockedUntilMs, Expr::value(Option::<i64>::None)),
        ];
        self.change_account(username, columns, true, "staff.passwd", by, now)
            .await
    }

    async fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let columns = vec![(staff_account::Column::Disabled, Expr::value(disabled))];
        let action = if disabled {
            "staff.disable"
        } else {
            "staff.enable"
        };
        self.change_account(username, columns, disabled, action, by, now)
            .await
    }

    async fn staff_sign_in_failed(
        &self,
        username: &str,
        policy: LockPolicy,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffAccount>, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let found = staff_account::Entity::find_by_id(username)
            .one(&txn)
            .await?
            .map(account)
            .transpose()?;
        let mut detail = json!({ "known_account": found.is_some() });
        let after = match found {
            None => None,
            Some(mut a) => {
                // A lapsed lock starts a fresh count.
                if a.locked_until.is_some_and(|until| until <= now) {
                    a.failed_attempts = 0;
                    a.locked_until = None;
                }
                a.failed_attempts = a.failed_attempts.saturating_add(1);
                if a.failed_attempts >= policy.max_failures && !a.locked_at(now) {
                    a.locked_until = Some(now + policy.lock_for);
                    detail["locked_until"] = json!(now + policy.lock_for);
                }
                detail["failed_attempts"] = json!(a.failed_attempts);
                staff_account::Entity::update(staff_account::ActiveModel {
                    username: Set(a.username.clone()),
                    failed_attempts: Set(i64::from(a.failed_attempts)),
                    locked_until_ms: Set(a.locked_until.map(|t| t.timestamp_millis())),
                    ..Default::default()
                })
                .exec(&txn)
                .await?;
                Some(a)
            }
        };
        self.recorder(by)
            .record_outcome(&txn, "staff.sign_in", username, "denied", detail, now)
            .await?;
        txn.commit().await?;
        Ok(after)
    }

    async fn open_staff_session(&self, s: &StaffSession, by: &Actor) -> Result<(), StoreError> {
        use staff_account::Column as C;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        staff_session::Entity::insert(staff_session::ActiveModel {
            token_hash: Set(s.token_hash.clone()),
            username: Set(s.username.clone()),
            csrf_token: Set(s.csrf_token.clone()),
            created_at_ms: Set(s.created_at.timestamp_millis()),
            last_seen_ms: Set(s.last_seen.timestamp_millis()),
            expires_at_ms: Set(s.expires_at.timestamp_millis()),
        })
        .exec_without_returning(&txn)
        .await?;
        staff_account::Entity::update_many()
            .col_expr(C::FailedAttempts, Expr::value(0i64))
            .col_expr(C::LockedUntilMs, Expr::value(Option::<i64>::None))
            .filter(C::Username.eq(s.username.as_str()))
            .exec(&txn)
            .await?;
        // Sessions that ended long ago are swept here rather than by a job.
        staff_session::Entity::delete_many()
            .filter(staff_session::Column::ExpiresAtMs.lt(s.created_at.timestamp_millis()))
            .exec(&txn)
            .await?;
        self.recorder(by)
            .record(
                &txn,
                "staff.sign_in",
                &s.username,
                json!({ "expires_at": s.expires_at }),
                s.created_at,
            )
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn staff_session(
        &self,
        token_hash: &str,
        idle: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, StoreError> {
        let Some(row) = staff_session::Entity::find_by_id(token_hash)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let found = session(row)?;
        let Some(acc) = self.staff(&found.username).await? else {
            return Ok(None);
        };
        let lapsed = found.expires_at <= now || found.last_seen + idle <= now;
        if lapsed || acc.disabled {
            let _guard = self.lock_writes().await;
            staff_session::Entity::delete_by_id(token_hash)
                .exec(&self.db)
                .await?;
            return Ok(None);
        }
        if now - found.last_seen >= SEEN_EVERY {
            let _guard = self.lock_writes().await;
            staff_session::Entity::update_many()
                .col_expr(
                    staff_session::Column::LastSeenMs,
                    Expr::value(now.timestamp_millis()),
                )
                .filter(staff_session::Column::TokenHash.eq(token_hash))
                .exec(&self.db)
                .await?;
        }
        Ok(Some(LiveSession {
            session: found,
            account: acc,
        }))
    }

    async fn close_staff_session(
        &self,
        token_hash: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let Some(row) = staff_session::Entity::find_by_id(token_hash)
            .one(&txn)
            .await?
        else {
            return Ok(false);
        };
        staff_session::Entity::delete_by_id(token_hash)
            .exec(&txn)
            .await?;
        self.recorder(by)
            .record(&txn, "staff.sign_out", &row.username, json!({}), now)
            .await?;
        txn.commit().await?;
        Ok(true)
    }
}

impl SeaStore {
    /// Sets `columns` of an account (and its update time), ends its sessions when asked,
    /// and records `action`, in one transaction; `false` when there is no such account.
    async fn change_account(
        &self,
        username: &str,
        columns: Vec<(staff_account::Column, sea_orm::sea_query::SimpleExpr)>,
        end_its_sessions: bool,
        action: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use staff_account::Column as C;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let mut update = staff_account::Entity::update_many()
            .col_expr(C::UpdatedAtMs, Expr::value(now.timestamp_millis()));
        for (column, value) in columns {
            update = update.col_expr(column, value);
        }
        let changed = update
            .filter(C::Username.eq(username))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Ok(false);
        }
        let ended = if end_its_sessions {
            end_sessions(&txn, username).await?
        } else {
            0
        };
        self.recorder(by)
            .record(
                &txn,
                action,
                username,
                json!({ "sessions_ended": ended }),
                now,
            )
            .await?;
        txn.commit().await?;
        Ok(true)
    }
}

/// Ends every session of an account; how many there were.
async fn end_sessions(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> Result<u64, StoreError> {
    Ok(staff_session::Entity::delete_many()
        .filter(staff_session::Column::Username.eq(username))
        .exec(db)
        .await?
        .rows_affected)
}
