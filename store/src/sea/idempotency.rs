//! Idempotency records on sea-orm: the key is claimed in the same transaction as the write
//! it guards, so a request's effect and its recorded answer commit together or not at all.

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};

use super::rows::stored_idempotency;
use super::SeaStore;
use crate::entity::idempotency_key;
use crate::{IdempotencyStore, Idempotent, IdempotentResponse, StoreError};

/// Inserts the idempotency record unless its key exists; `false` when it does.
pub(super) async fn claim_key(
    db: &impl ConnectionTrait,
    record: &IdempotentResponse,
) -> Result<bool, StoreError> {
    use idempotency_key::Column as K;
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        caller: Set(record.caller.clone()),
        key: Set(record.key.clone()),
        request_hash: Set(record.request_hash.clone()),
        status: Set(i64::from(record.status)),
        response: Set(record.response.to_string()),
        created_at_ms: Set(record.created_at.timestamp_millis()),
    })
    .on_conflict(
        OnConflict::columns([K::Caller, K::Key])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// What an existing key means for `record`: the earlier answer (same request), a refusal
/// (another request), or `None` when the key is new.
pub(super) async fn answer_under_key(
    db: &impl ConnectionTrait,
    record: &IdempotentResponse,
) -> Result<Option<Idempotent>, StoreError> {
    let Some(earlier) = stored_response(db, &record.caller, &record.key).await? else {
        return Ok(None);
    };
    Ok(Some(if earlier.request_hash == record.request_hash {
        Idempotent::Replay(earlier)
    } else {
        Idempotent::KeyReused
    }))
}

impl SeaStore {
    /// Claims `record`'s key and, when it is new, runs `write` in the same transaction, so
    /// the effect and its recorded answer commit together; otherwise answers what the key
    /// already means (the earlier answer, or a refusal).
    pub(super) async fn once_under_key(
        &self,
        record: &IdempotentResponse,
        write: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<(), StoreError>,
    ) -> Result<Idempotent, StoreError> {
        {
            let _guard = self.lock_writes().await;
            let txn = self.db.begin().await?;
            if claim_key(&txn, record).await? {
                write(&txn).await?;
                txn.commit().await?;
                return Ok(Idempotent::Written);
            }
            txn.rollback().await?;
        }
        answer_under_key(&self.db, record)
            .await?
            .ok_or_else(|| StoreError::Unavailable("idempotency key claim raced".into()))
    }
}

async fn stored_response(
    db: &impl ConnectionTrait,
    caller: &str,
    key: &str,
) -> Result<Option<IdempotentResponse>, StoreError> {
    idempotency_key::Entity::find_by_id((caller.to_owned(), key.to_owned()))
        .one(db)
        .await?
        .map(stored_idempotency)
        .transpose()
}

#[async_trait]
impl IdempotencyStore for SeaStore {
    async fn idempotent_response(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        stored_response(&self.db, caller, key).await
    }
}
