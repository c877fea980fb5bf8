//! Credit storage on sea-orm: model versions, decisions, plans and idempotency records.
//! A child of `sea` so it shares the connection and SQLite's write lock.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use sextant_domain::CustomerId;

use super::super::entity::{
    credit_decision, credit_model, credit_model_activation, idempotency_key, instalment_plan,
};
use super::super::{
    Idempotent, IdempotentResponse, NewCreditDecision, NewInstalmentPlan, StoreError,
    StoredCreditModel, PAGE_MAX,
};
use super::{ms_to_time, SeaStore};

/// Decisions waiting for the writer; beyond this, recording waits (back-pressure).
const GROUP_COMMIT_QUEUE: usize = 4_096;
/// Most decisions one transaction commits: 11 columns x 256 rows stays far below SQLite's
/// and PostgreSQL's bound-parameter limits.
const GROUP_COMMIT_MAX: usize = 256;

type Pending = (
    NewCreditDecision,
    tokio::sync::oneshot::Sender<Result<(), StoreError>>,
);

/// One task commits every decision waiting at that moment in one transaction, so that at
/// checkout rates the cost of a durable commit (an fsync with SQLite's `synchronous=FULL`)
/// is shared by all the requests waiting for it instead of queueing them one fsync apart.
/// Each caller is answered only after the commit that holds its decision.
pub(super) struct DecisionWriter {
    queue: tokio::sync::mpsc::Sender<Pending>,
}

impl DecisionWriter {
    /// Starts the writer on the current tokio runtime; it ends when the store is dropped.
    pub(super) fn start(
        db: sea_orm::DatabaseConnection,
        write_lock: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    ) -> DecisionWriter {
        let (queue, mut waiting) = tokio::sync::mpsc::channel::<Pending>(GROUP_COMMIT_QUEUE);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < GROUP_COMMIT_MAX {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let result = async {
                    let _guard = match &write_lock {
                        Some(lock) => Some(lock.lock().await),
                        None => None,
                    };
                    let txn = db.begin().await?;
                    credit_decision::Entity::insert_many(
                        batch.iter().map(|(d, _)| decision_row(d)),
                    )
                    .exec_without_returning(&txn)
                    .await?;
                    txn.commit().await?;
                    Ok::<(), StoreError>(())
                }
                .await;
                for (_, done) in batch {
                    let _ = done.send(result.clone());
                }
            }
        });
        DecisionWriter { queue }
    }

    pub(super) async fn record(&self, decision: NewCreditDecision) -> Result<(), StoreError> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.queue
            .send((decision, done))
            .await
            .map_err(|_| StoreError::Unavailable("the decision writer has stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::Unavailable("the decision writer has stopped".into()))?
    }
}

pub(super) fn json(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn stored_model(row: credit_model::Model) -> Result<StoredCreditModel, StoreError> {
    Ok(StoredCreditModel {
        metrics: json(&row.metrics, "credit model metrics")?,
        created_at: ms_to_time(row.created_at_ms)?,
        version: row.version,
        kind: row.kind,
        actor: row.actor,
        artifact: row.artifact,
    })
}

fn stored_decision(row: credit_decision::Model) -> Result<NewCreditDecision, StoreError> {
    Ok(NewCreditDecision {
        customer_id: CustomerId::parse(&row.customer_id)
            .map_err(|e| StoreError::Corrupt(format!("credit decision customer: {e}")))?,
        created_at: ms_to_time(row.created_at_ms)?,
        expires_at: row.expires_at_ms.map(ms_to_time).transpose()?,
        inputs: json(&row.inputs, "credit decision inputs")?,
        output: json(&row.output, "credit decision output")?,
        id: row.id,
        kind: row.kind,
        actor: row.actor,
        model_version: row.model_version,
        policy_version: row.policy_version,
        outcome: row.outcome,
    })
}

fn stored_plan(row: instalment_plan::Model) -> Result<NewInstalmentPlan, StoreError> {
    Ok(NewInstalmentPlan {
        customer_id: CustomerId::parse(&row.customer_id)
            .map_err(|e| StoreError::Corrupt(format!("instalment plan customer: {e}")))?,
        months: u32::try_from(row.months)
            .map_err(|_| StoreError::Corrupt(format!("plan months {}", row.months)))?,
        created_at: ms_to_time(row.created_at_ms)?,
        plan: json(&row.plan, "instalment plan")?,
        id: row.id,
        quote_id: row.quote_id,
        actor: row.actor,
    })
}

pub(super) fn stored_idempotency(
    row: idempotency_key::Model,
) -> Result<IdempotentResponse, StoreError> {
    Ok(IdempotentResponse {
        status: u16::try_from(row.status)
            .map_err(|_| StoreError::Corrupt(format!("idempotent status {}", row.status)))?,
        response: json(&row.response, "idempotent response")?,
        created_at: ms_to_time(row.created_at_ms)?,
        caller: row.caller,
        key: row.key,
        request_hash: row.request_hash,
    })
}

fn decision_row(d: &NewCreditDecision) -> credit_decision::ActiveModel {
    credit_decision::ActiveModel {
        id: Set(d.id.clone()),
        customer_id: Set(d.customer_id.to_string()),
        kind: Set(d.kind.clone()),
        created_at_ms: Set(d.created_at.timestamp_millis()),
        expires_at_ms: Set(d.expires_at.map(|t: DateTime<Utc>| t.timestamp_millis())),
        actor: Set(d.actor.clone()),
        model_version: Set(d.model_version.clone()),
        policy_version: Set(d.policy_version.clone()),
        outcome: Set(d.outcome.clone()),
        inputs: Set(d.inputs.to_string()),
        output: Set(d.output.to_string()),
    }
}

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

impl SeaStore {
    pub(super) async fn idempotent_response_impl(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        idempotency_key::Entity::find_by_id((caller.to_owned(), key.to_owned()))
            .one(&self.db)
            .await?
            .map(stored_idempotency)
            .transpose()
    }

    /// What an existing key means for `record`: the earlier answer, or a refusal.
    async fn earlier_answer(
        &self,
        record: &IdempotentResponse,
    ) -> Result<Option<Idempotent>, StoreError> {
        let Some(earlier) = self
            .idempotent_response_impl(&record.caller, &record.key)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(if earlier.request_hash == record.request_hash {
            Idempotent::Replay(earlier)
        } else {
            Idempotent::KeyReused
        }))
    }

    pub(super) async fn put_credit_model_impl(
        &self,
        model: &StoredCreditModel,
        activate: bool,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        credit_model::Entity::insert(credit_model::ActiveModel {
            version: Set(model.version.clone()),
            kind: Set(model.kind.clone()),
            created_at_ms: Set(model.created_at.timestamp_millis()),
            actor: Set(model.actor.clone()),
            metrics: Set(model.metrics.to_string()),
            artifact: Set(model.artifact.clone()),
        })
        .on_conflict(
            OnConflict::column(credit_model::Column::Version)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if activate {
            credit_model_activation::Entity::insert(credit_model_activation::ActiveModel {
                version: Set(model.version.clone()),
                activated_at_ms: Set(model.created_at.timestamp_millis()),
                actor: Set(model.actor.clone()),
                ..Default::default()
            })
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    pub(super) async fn credit_model_impl(
        &self,
        version: &str,
    ) -> Result<Option<StoredCreditModel>, StoreError> {
        credit_model::Entity::find_by_id(version.to_owned())
            .one(&self.db)
            .await?
            .map(stored_model)
            .transpose()
    }

    pub(super) async fn active_credit_model_impl(
        &self,
    ) -> Result<Option<StoredCreditModel>, StoreError> {
        let Some(active) = credit_model_activation::Entity::find()
            .order_by_desc(credit_model_activation::Column::Id)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        match self.credit_model_impl(&active.version).await? {
            Some(model) => Ok(Some(model)),
            None => Err(StoreError::Corrupt(format!(
                "active credit model {} is not stored",
                active.version
            ))),
        }
    }

    pub(super) async fn record_credit_decision_impl(
        &self,
        decision: &NewCreditDecision,
        idempotency: Option<&IdempotentResponse>,
    ) -> Result<Idempotent, StoreError> {
        let Some(record) = idempotency else {
            self.decisions.record(decision.clone()).await?;
            return Ok(Idempotent::Written);
        };
        {
            let _guard = self.lock_writes().await;
            let txn = self.db.begin().await?;
            if claim_key(&txn, record).await? {
                credit_decision::Entity::insert(decision_row(decision))
                    .exec_without_returning(&txn)
                    .await?;
                txn.commit().await?;
                return Ok(Idempotent::Written);
            }
            txn.rollback().await?;
        }
        self.earlier_answer(record)
            .await?
            .ok_or_else(|| StoreError::Unavailable("idempotency key claim raced".into()))
    }

    pub(super) async fn credit_decision_impl(
        &self,
        id: &str,
    ) -> Result<Option<NewCreditDecision>, StoreError> {
        credit_decision::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(stored_decision)
            .transpose()
    }

    pub(super) async fn credit_decisions_for_impl(
        &self,
        customer: &CustomerId,
        limit: u64,
    ) -> Result<Vec<NewCreditDecision>, StoreError> {
        use credit_decision::Column as D;
        credit_decision::Entity::find()
            .filter(D::CustomerId.eq(customer.as_str()))
            .order_by_desc(D::CreatedAtMs)
            .order_by_desc(D::Id)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?
            .into_iter()
            .map(stored_decision)
            .collect()
    }

    pub(super) async fn accept_quote_impl(
        &self,
        plan: &NewInstalmentPlan,
        idempotency: &IdempotentResponse,
    ) -> Result<Idempotent, StoreError> {
        if let Some(earlier) = self.earlier_answer(idempotency).await? {
            return Ok(earlier);
        }
        {
            let _guard = self.lock_writes().await;
            let txn = self.db.begin().await?;
            let inserted = instalment_plan::Entity::insert(instalment_plan::ActiveModel {
                id: Set(plan.id.clone()),
                quote_id: Set(plan.quote_id.clone()),
                customer_id: Set(plan.customer_id.to_string()),
                months: Set(i64::from(plan.months)),
                actor: Set(plan.actor.clone()),
                created_at_ms: Set(plan.created_at.timestamp_millis()),
                plan: Set(plan.plan.to_string()),
            })
            .on_conflict(
                OnConflict::column(instalment_plan::Column::QuoteId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if inserted == 1 && claim_key(&txn, idempotency).await? {
                txn.commit().await?;
                return Ok(Idempotent::Written);
            }
            txn.rollback().await?;
        }
        // Lost to a request that committed first: the same key gets its answer; a quote
        // accepted under another key stays accepted once.
        Ok(self
            .earlier_answer(idempotency)
            .await?
            .unwrap_or(Idempotent::AlreadyAccepted))
    }

    pub(super) async fn instalment_plan_of_impl(
        &self,
        quote_id: &str,
    ) -> Result<Option<NewInstalmentPlan>, StoreError> {
        instalment_plan::Entity::find()
            .filter(instalment_plan::Column::QuoteId.eq(quote_id))
            .one(&self.db)
            .await?
            .map(stored_plan)
            .transpose()
    }
}
