//! Credit on sea-orm: model versions (through the shared registry), decisions (group-
//! committed at checkout rates), instalment plans, and a quote's inputs in one call.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, TransactionTrait,
};
use sextant_domain::CustomerId;

use super::idempotency::{answer_under_key, claim_key};
use super::registry::{NewVersion, CREDIT_MODELS};
use super::rows::{decision_row, stored_decision, stored_model, stored_plan};
use super::{audit, customers, profiles, text, SeaStore};
use crate::audit::CheckpointSigner;
use crate::entity::{credit_decision, credit_model, instalment_plan, payment_assessment};
use crate::{
    Actor, AgeOutcomeCount, CreditStore, DecisionFilter, Idempotent, IdempotentResponse,
    NewAuditEntry, NewCreditDecision, NewInstalmentPlan, OutcomeCounts, QuoteInputs,
    RegisteredModel, StoreError, StoredCreditModel, PAGE_MAX,
};

/// Decisions waiting for the writer; beyond this, recording waits (back-pressure).
const GROUP_COMMIT_QUEUE: usize = 4_096;
/// Most records one transaction commits: 12 columns x 256 rows stays far below SQLite's
/// and PostgreSQL's bound-parameter limits.
const GROUP_COMMIT_MAX: usize = 256;

/// What the writer commits: credit decisions and payment assessments, both recorded on the
/// checkout path before they are answered, as rows and audit entries made by the caller's
/// task (the one writer task only inserts them).
pub(super) enum Recorded {
    Credit(credit_decision::ActiveModel),
    Assessment(payment_assessment::ActiveModel),
}

type Pending = (
    Recorded,
    NewAuditEntry,
    tokio::sync::oneshot::Sender<Result<(), StoreError>>,
);

/// The audit trail's entry for a decision: which, of what kind, the outcome and the model
/// that decided (the inputs stay in the decision's own row).
fn decision_entry(d: &NewCreditDecision, by: &Actor) -> NewAuditEntry {
    let detail = serde_json::json!({
        "decision_id": d.id, "kind": d.kind, "outcome": d.outcome,
        "model_version": d.model_version, "policy_version": d.policy_version,
    });
    by.entry("credit.decide", d.customer_id.as_str(), detail)
}

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
        signer: Option<std::sync::Arc<CheckpointSigner>>,
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
                let mut credit = Vec::new();
                let mut assessments = Vec::new();
                let mut entries = Vec::with_capacity(batch.len());
                let mut answers = Vec::with_capacity(batch.len());
                for (recorded, entry, done) in batch {
                    match recorded {
                        Recorded::Credit(row) => credit.push(row),
                        Recorded::Assessment(row) => assessments.push(row),
                    }
                    entries.push(entry);
                    answers.push(done);
                }
                let result = async {
                    let _guard = match &write_lock {
                        Some(lock) => Some(lock.lock().await),
                        None => None,
                    };
                    let txn = db.begin().await?;
                    if !credit.is_empty() {
                        credit_decision::Entity::insert_many(credit)
                            .exec_without_returning(&txn)
                            .await?;
                    }
                    if !assessments.is_empty() {
                        payment_assessment::Entity::insert_many(assessments)
                            .exec_without_returning(&txn)
                            .await?;
                    }
                    audit::append_all(&txn, signer.as_deref(), entries, Utc::now()).await?;
                    txn.commit().await?;
                    Ok::<(), StoreError>(())
                };
                let result = result.await;
                for done in answers {
                    let _ = done.send(result.clone());
                }
            }
        });
        DecisionWriter { queue }
    }

    pub(super) async fn record(
        &self,
        record: Recorded,
        entry: NewAuditEntry,
    ) -> Result<(), StoreError> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.queue
            .send((record, entry, done))
            .await
            .map_err(|_| StoreError::Unavailable("the decision writer has stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::Unavailable("the decision writer has stopped".into()))?
    }
}

#[async_trait]
impl CreditStore for SeaStore {
    async fn put_credit_model(
        &self,
        model: &StoredCreditModel,
        activate: bool,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let version = NewVersion {
            version: &model.version,
            created_at: model.created_at,
            actor: &model.actor,
            record: self.recorder(by),
            columns: vec![
                ("kind", text(&model.kind)),
                ("metrics", text(&model.metrics.to_string())),
                ("artifact", text(&model.artifact)),
            ],
        };
        CREDIT_MODELS.put_alone(self, version, activate).await
    }

    async fn credit_model(&self, version: &str) -> Result<Option<StoredCreditModel>, StoreError> {
        credit_model::Entity::find_by_id(version.to_owned())
            .one(&self.db)
            .await?
            .map(stored_model)
            .transpose()
    }

    async fn active_credit_model(&self) -> Result<Option<StoredCreditModel>, StoreError> {
        let Some(version) = CREDIT_MODELS.active_version(&self.db).await? else {
            return Ok(None);
        };
        match self.credit_model(&version).await? {
            Some(model) => Ok(Some(model)),
            None => Err(CREDIT_MODELS.missing(&version)),
        }
    }

    async fn record_credit_decision(
        &self,
        decision: &NewCreditDecision,
        idempotency: Option<&IdempotentResponse>,
        by: &Actor,
    ) -> Result<Idempotent, StoreError> {
        let Some(record) = idempotency else {
            self.decisions
                .record(
                    Recorded::Credit(decision_row(decision)),
                    decision_entry(decision, by),
                )
                .await?;
            return Ok(Idempotent::Written);
        };
        self.once_under_key(record, async |txn| {
            credit_decision::Entity::insert(decision_row(decision))
                .exec_without_returning(txn)
                .await?;
            let entry = decision_entry(decision, by);
            audit::append(txn, self.signer(), entry, decision.created_at).await?;
            Ok(())
        })
        .await
    }

    async fn credit_decision(&self, id: &str) -> Result<Option<NewCreditDecision>, StoreError> {
        credit_decision::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(stored_decision)
            .transpose()
    }

    async fn search_credit_decisions(
        &self,
        filter: &DecisionFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<NewCreditDecision>, u64), StoreError> {
        use credit_decision::Column as D;
        let query = decisions_matching(filter);
        let total = query.clone().count(&self.db).await?;
        let order = if filter.oldest_first {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        };
        let rows = query
            .order_by(D::CreatedAtMs, order.clone())
            .order_by(D::Id, order)
            .offset(offset)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?
            .into_iter()
            .map(stored_decision)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn outcomes_by_age(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<AgeOutcomeCount>, StoreError> {
        use credit_decision::Column as D;
        decisions_matching(filter)
            .select_only()
            .column(D::ApplicantAgeYears)
            .column(D::Outcome)
            .column_as(D::Id.count(), "decisions")
            .group_by(D::ApplicantAgeYears)
            .group_by(D::Outcome)
            .into_tuple::<(Option<i64>, String, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|(age, outcome, decisions)| {
                Ok(AgeOutcomeCount {
                    age_years: age
                        .map(|a| {
                            u32::try_from(a)
                                .map_err(|_| StoreError::Corrupt(format!("applicant age {a}")))
                        })
                        .transpose()?,
                    outcome,
                    decisions: u64::try_from(decisions).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn model_registry(&self) -> Result<Vec<RegisteredModel>, StoreError> {
        let mut models = CREDIT_MODELS.list(&self.db).await?;
        models.extend(super::registry::OFFER_MODELS.list(&self.db).await?);
        models.extend(super::registry::MONITORING_MODELS.list(&self.db).await?);
        Ok(models)
    }

    async fn credit_decisions_for(
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

    async fn accept_quote(
        &self,
        plan: &NewInstalmentPlan,
        idempotency: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError> {
        if let Some(earlier) = answer_under_key(&self.db, idempotency).await? {
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
                let detail = serde_json::json!({
                    "plan_id": plan.id, "quote_id": plan.quote_id, "months": plan.months,
                });
                let entry = by.entry("credit.accept", plan.customer_id.as_str(), detail);
                audit::append(&txn, self.signer(), entry, plan.created_at).await?;
                txn.commit().await?;
                return Ok(Idempotent::Written);
            }
            txn.rollback().await?;
        }
        // Lost to a request that committed first: the same key gets its answer; a quote
        // accepted under another key stays accepted once.
        Ok(answer_under_key(&self.db, idempotency)
            .await?
            .unwrap_or(Idempotent::AlreadyAccepted))
    }

    async fn instalment_plan_of(
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

    async fn outcome_counts(&self, kind: &str) -> Result<OutcomeCounts, StoreError> {
        use credit_decision::Column as D;
        let count = |approved_only: bool| {
            let mut query = credit_decision::Entity::find().filter(D::Kind.eq(kind));
            if approved_only {
                query = query.filter(D::Outcome.eq("approved"));
            }
            query.count(&self.db)
        };
        Ok(OutcomeCounts {
            decisions: count(false).await?,
            approved: count(true).await?,
        })
    }

    async fn quote_inputs(&self, id: &CustomerId) -> Result<Option<QuoteInputs>, StoreError> {
        let txn = self.db.begin().await?;
        let Some(customer) = customers::customer(&txn, &self.keyring, id).await? else {
            return Ok(None);
        };
        let inputs = QuoteInputs {
            customer: customer.customer,
            profile: profiles::profile(&txn, id).await?,
            newest_event_at: customers::last_received_at(&txn, id).await?,
        };
        txn.commit().await?;
        Ok(Some(inputs))
    }
}

/// The decisions a filter selects; absent parts match everything.
fn decisions_matching(filter: &DecisionFilter) -> Select<credit_decision::Entity> {
    use credit_decision::Column as D;
    let mut query = credit_decision::Entity::find();
    if let Some(customer) = &filter.customer {
        query = query.filter(D::CustomerId.eq(customer.as_str()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(D::Outcome.eq(outcome.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(D::Kind.eq(kind.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(D::CreatedAtMs.gte(from.timestamp_millis()));
    }
    if let Some(to) = filter.to {
        query = query.filter(D::CreatedAtMs.lt(to.timestamp_millis()));
    }
    query
}
