//! Transaction monitoring on sea-orm: alerts filed into cases, the analysts' changes to a
//! case, the payments a customer's monitoring state is rebuilt from, and payment
//! assessments (group-committed with credit decisions).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use sextant_domain::{CustomerId, PaymentEvent};

use super::credit::Recorded;
use super::registry::{NewVersion, MONITORING_MODELS};
use super::rows::{json, ms_to_time, payment_from};
use super::{audit, keys, SeaStore, IDS_PER_LOOKUP, ROWS_PER_STATEMENT};
use crate::entity::{
    customer, monitoring_alert, monitoring_case, monitoring_case_note, payment_assessment,
    payment_event,
};
use crate::{
    Actor, AlertsFiled, CaseChange, CaseFilter, CaseNote, Idempotent, IdempotentResponse,
    MonitoringStamp, MonitoringStore, NewAlert, NewAuditEntry, NewPaymentAssessment, StoreError,
    StoredAlert, StoredCase, StoredMonitoringModel, PAGE_MAX,
};

/// The audit trail's entry for an assessment: which, the verdict and the policy (the inputs
/// stay in the assessment's own row).
pub(super) fn assessment_entry(a: &NewPaymentAssessment, by: &Actor) -> NewAuditEntry {
    let detail = serde_json::json!({
        "assessment_id": a.id, "verdict": a.verdict, "score": a.score,
        "policy_version": a.policy_version,
    });
    by.entry("monitoring.assess", a.customer_id.as_str(), detail)
}

pub(super) fn assessment_row(a: &NewPaymentAssessment) -> payment_assessment::ActiveModel {
    payment_assessment::ActiveModel {
        id: Set(a.id.clone()),
        customer_id: Set(a.customer_id.to_string()),
        created_at_ms: Set(a.created_at.timestamp_millis()),
        actor: Set(a.actor.clone()),
        policy_version: Set(a.policy_version.clone()),
        verdict: Set(a.verdict.clone()),
        score: Set(a.score),
        inputs: Set(a.inputs.clone()),
        output: Set(a.output.to_string()),
    }
}

fn assessment_from(row: payment_assessment::Model) -> Result<NewPaymentAssessment, StoreError> {
    Ok(NewPaymentAssessment {
        customer_id: customer(&row.customer_id, "payment assessment")?,
        created_at: ms_to_time(row.created_at_ms)?,
        output: json(&row.output, "payment assessment output")?,
        id: row.id,
        actor: row.actor,
        policy_version: row.policy_version,
        verdict: row.verdict,
        score: row.score,
        inputs: row.inputs,
    })
}

fn customer(raw: &str, what: &str) -> Result<CustomerId, StoreError> {
    CustomerId::parse(raw).map_err(|e| StoreError::Corrupt(format!("{what} customer: {e}")))
}

fn case_from(row: monitoring_case::Model) -> Result<StoredCase, StoreError> {
    Ok(StoredCase {
        customer_id: customer(&row.customer_id, "case")?,
        opened_at: ms_to_time(row.opened_at_ms)?,
        updated_at: ms_to_time(row.updated_at_ms)?,
        closed_at: row.closed_at_ms.map(ms_to_time).transpose()?,
        alerts: u64::try_from(row.alerts).unwrap_or(0),
        id: row.id,
        status: row.status,
        assignee: row.assignee,
        disposition: row.disposition,
        max_score: row.max_score,
    })
}

fn alert_from(row: monitoring_alert::Model) -> Result<StoredAlert, StoreError> {
    Ok(StoredAlert {
        alert: NewAlert {
            customer_id: customer(&row.customer_id, "alert")?,
            occurred_at: ms_to_time(row.occurred_at_ms)?,
            raised_at: ms_to_time(row.raised_at_ms)?,
            id: row.id,
            source: row.source,
            score: row.score,
            reason: row.reason,
            event_id: row.event_id,
            assessment_id: row.assessment_id,
        },
        case_id: row.case_id,
    })
}

fn alert_row(a: &NewAlert, case_id: &str) -> monitoring_alert::ActiveModel {
    monitoring_alert::ActiveModel {
        id: Set(a.id.clone()),
        case_id: Set(case_id.to_owned()),
        customer_id: Set(a.customer_id.to_string()),
        source: Set(a.source.clone()),
        score: Set(a.score),
        reason: Set(a.reason.clone()),
        event_id: Set(a.event_id.clone()),
        assessment_id: Set(a.assessment_id.clone()),
        occurred_at_ms: Set(a.occurred_at.timestamp_millis()),
        raised_at_ms: Set(a.raised_at.timestamp_millis()),
    }
}

fn case_row(c: &monitoring_case::Model) -> monitoring_case::ActiveModel {
    monitoring_case::ActiveModel {
        id: Set(c.id.clone()),
        customer_id: Set(c.customer_id.clone()),
        status: Set(c.status.clone()),
        assignee: Set(c.assignee.clone()),
        disposition: Set(c.disposition.clone()),
        opened_at_ms: Set(c.opened_at_ms),
        updated_at_ms: Set(c.updated_at_ms),
        closed_at_ms: Set(c.closed_at_ms),
        alerts: Set(c.alerts),
        max_score: Set(c.max_score),
    }
}

/// Who wrote a note, as the case shows it.
fn label(by: &Actor) -> String {
    format!("{}:{}", by.role, by.id)
}

/// On PostgreSQL, holds each customer's case lock until the transaction ends (in one
/// order, so two filers never wait on each other): two processes filing a customer's first
/// alerts at once open one case, not two. SQLite writers are serialised already.
async fn lock_customers_cases(
    txn: &impl sea_orm::ConnectionTrait,
    customers: &[&str],
) -> Result<(), StoreError> {
    use sea_orm::{DbBackend, Statement};
    if txn.get_database_backend() != DbBackend::Postgres || customers.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<i64> = customers
        .iter()
        .map(|c| sextant_hash::fnv1a64(format!("monitoring_case:{c}").as_bytes()) as i64)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // Taken in the array's (sorted) order.
    for chunk in keys.chunks(1_000) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        txn.execute(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(ARRAY[{}]::bigint[]) AS k) keys",
                list.join(",")
            ),
        ))
        .await?;
    }
    Ok(())
}

#[async_trait]
impl MonitoringStore for SeaStore {
    async fn record_alerts(
        &self,
        alerts: &[NewAlert],
        by: &Actor,
    ) -> Result<AlertsFiled, StoreError> {
        if alerts.is_empty() {
            return Ok(AlertsFiled::default());
        }
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // Alerts on record already (the same payment, the same source), and repeats within
        // this batch, are left out.
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let event_ids: Vec<&str> = alerts
            .iter()
            .filter_map(|a| a.event_id.as_deref())
            .collect();
        for chunk in event_ids.chunks(IDS_PER_LOOKUP) {
            use monitoring_alert::Column as A;
            let rows: Vec<(Option<String>, String)> = monitoring_alert::Entity::find()
                .select_only()
                .column(A::EventId)
                .column(A::Source)
                .filter(A::EventId.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&txn)
                .await?;
            seen.extend(rows.into_iter().filter_map(|(e, s)| Some((e?, s))));
        }
        let fresh: Vec<&NewAlert> = alerts
            .iter()
            .filter(|a| match &a.event_id {
                Some(event) => seen.insert((event.clone(), a.source.clone())),
                None => true,
            })
            .collect();
        if fresh.is_empty() {
            txn.rollback().await?;
            return Ok(AlertsFiled::default());
        }
        let mut customers: Vec<&str> = fresh.iter().map(|a| a.customer_id.as_str()).collect();
        customers.sort_unstable();
        customers.dedup();
        lock_customers_cases(&txn, &customers).await?;
        let mut open: HashMap<String, monitoring_case::Model> = HashMap::new();
        for chunk in customers.chunks(IDS_PER_LOOKUP) {
            use monitoring_case::Column as C;
            for row in monitoring_case::Entity::find()
                .filter(C::CustomerId.is_in(chunk.iter().copied()))
                .filter(C::Status.eq("open"))
                .all(&txn)
                .await?
            {
                open.insert(row.customer_id.clone(), row);
            }
        }
        let mut opened: HashSet<String> = HashSet::new();
        let mut touched: HashSet<String> = HashSet::new();
        let mut rows = Vec::with_capacity(fresh.len());
        let mut entries = Vec::with_capacity(fresh.len());
        for a in &fresh {
            let raised = a.raised_at.timestamp_millis();
            let case = open.entry(a.customer_id.to_string()).or_insert_with(|| {
                let id = format!("case_{}", a.id.trim_start_matches("al_"));
                opened.insert(id.clone());
                monitoring_case::Model {
                    id,
                    customer_id: a.customer_id.to_string(),
                    status: "open".into(),
                    assignee: None,
                    disposition: None,
                    opened_at_ms: raised,
                    updated_at_ms: raised,
                    closed_at_ms: None,
                    alerts: 0,
                    max_score: 0.0,
                }
            });
            case.alerts += 1;
            case.max_score = case.max_score.max(a.score);
            case.updated_at_ms = case.updated_at_ms.max(raised);
            touched.insert(case.id.clone());
            rows.push(alert_row(a, &case.id));
            entries.push(by.entry(
                "monitoring.alert",
                a.customer_id.as_str(),
                serde_json::json!({
                    "alert_id": a.id, "case_id": case.id, "source": a.source,
                    "score": a.score, "event_id": a.event_id, "assessment_id": a.assessment_id,
                }),
            ));
        }
        let mut new_cases = Vec::new();
        for case in open.values().filter(|c| touched.contains(&c.id)) {
            if opened.contains(&case.id) {
                new_cases.push(case_row(case));
            } else {
                monitoring_case::Entity::update(case_row(case))
                    .exec(&txn)
                    .await?;
            }
        }
        let cases_opened = new_cases.len() as u64;
        for chunk in new_cases.chunks(ROWS_PER_STATEMENT) {
            monitoring_case::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        let stored = rows.len() as u64;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            monitoring_alert::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        audit::append_all(&txn, self.signer(), entries, Utc::now()).await?;
        txn.commit().await?;
        Ok(AlertsFiled {
            stored,
            cases_opened,
        })
    }

    async fn cases(
        &self,
        filter: &CaseFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<StoredCase>, u64), StoreError> {
        use monitoring_case::Column as C;
        let mut condition = Condition::all();
        if let Some(status) = &filter.status {
            condition = condition.add(C::Status.eq(status.as_str()));
        }
        if let Some(assignee) = &filter.assignee {
            condition = condition.add(C::Assignee.eq(assignee.as_str()));
        }
        if let Some(customer) = &filter.customer {
            condition = condition.add(C::CustomerId.eq(customer.as_str()));
        }
        let query = monitoring_case::Entity::find().filter(condition);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(C::UpdatedAtMs)
            .order_by_desc(C::Id)
            .offset(offset)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?;
        let cases = rows.into_iter().map(case_from).collect::<Result<_, _>>()?;
        Ok((cases, total))
    }

    async fn case(
        &self,
        id: &str,
    ) -> Result<Option<(StoredCase, Vec<StoredAlert>, Vec<CaseNote>)>, StoreError> {
        let Some(row) = monitoring_case::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let alerts = monitoring_alert::Entity::find()
            .filter(monitoring_alert::Column::CaseId.eq(id))
            .order_by_asc(monitoring_alert::Column::OccurredAtMs)
            .order_by_asc(monitoring_alert::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(alert_from)
            .collect::<Result<_, _>>()?;
        let notes = monitoring_case_note::Entity::find()
            .filter(monitoring_case_note::Column::CaseId.eq(id))
            .order_by_asc(monitoring_case_note::Column::Seq)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|n| {
                Ok(CaseNote {
                    at: ms_to_time(n.at_ms)?,
                    actor: n.actor,
                    kind: n.kind,
                    text: n.text,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some((case_from(row)?, alerts, notes)))
    }

    async fn update_case(
        &self,
        id: &str,
        change: &CaseChange,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredCase>, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let mut find = monitoring_case::Entity::find_by_id(id.to_owned());
        if self.backend() == sea_orm::DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        let Some(mut case) = find.one(&txn).await? else {
            txn.rollback().await?;
            return Ok(None);
        };
        let closed = case.status == "closed";
        let at = now.timestamp_millis();
        let (kind, text, action, detail) = match change {
            CaseChange::Assign(to) => {
                if closed {
                    return Err(StoreError::Conflict(format!("case {id} is closed")));
                }
                case.assignee = to.clone();
                let text = match to {
                    Some(to) => format!("assigned to {to}"),
                    None => "unassigned".to_owned(),
                };
                (
                    "assigned",
                    text,
                    "monitoring.case.assign",
                    serde_json::json!({ "case_id": id, "assignee": to }),
                )
            }
            CaseChange::Comment(text) => (
                "comment",
                text.clone(),
                "monitoring.case.comment",
                serde_json::json!({ "case_id": id }),
            ),
            CaseChange::Close { disposition, note } => {
                if closed {
                    return Err(StoreError::Conflict(format!("case {id} is closed already")));
                }
                case.status = "closed".into();
                case.disposition = Some(disposition.clone());
                case.closed_at_ms = Some(at);
                (
                    "closed",
                    format!("{disposition}: {note}"),
                    "monitoring.case.close",
                    serde_json::json!({ "case_id": id, "disposition": disposition }),
                )
            }
        };
        case.updated_at_ms = case.updated_at_ms.max(at);
        monitoring_case::Entity::update(case_row(&case))
            .exec(&txn)
            .await?;
        monitoring_case_note::Entity::insert(monitoring_case_note::ActiveModel {
            case_id: Set(id.to_owned()),
            at_ms: Set(at),
            actor: Set(label(by)),
            kind: Set(kind.to_owned()),
            text: Set(text),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        let entry = by.entry(action, &case.customer_id, detail);
        audit::append(&txn, self.signer(), entry, now).await?;
        txn.commit().await?;
        case_from(case).map(Some)
    }

    async fn payments_since(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
    ) -> Result<Vec<PaymentEvent>, StoreError> {
        use payment_event::Column as P;
        let ids: Vec<&str> = customers.iter().map(CustomerId::as_str).collect();
        let keys = keys::load(&self.db, &self.keyring, &ids).await?;
        let mut out = Vec::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let rows = payment_event::Entity::find()
                .filter(P::CustomerId.is_in(chunk.iter().copied()))
                .filter(P::OccurredAtMs.gte(since.timestamp_millis()))
                .order_by_asc(P::CustomerId)
                .order_by_asc(P::OccurredAtMs)
                .order_by_asc(P::EventId)
                .all(&self.db)
                .await?;
            for row in rows {
                out.push(payment_from(row, &keys)?);
            }
        }
        Ok(out)
    }

    async fn payment_counts_since(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
    ) -> Result<Vec<(CustomerId, u64)>, StoreError> {
        use payment_event::Column as P;
        let ids: Vec<&str> = customers.iter().map(CustomerId::as_str).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let rows: Vec<(String, i64)> = payment_event::Entity::find()
                .select_only()
                .column(P::CustomerId)
                .column_as(P::EventId.count(), "payments")
                .filter(P::CustomerId.is_in(chunk.iter().copied()))
                .filter(P::OccurredAtMs.gte(since.timestamp_millis()))
                .group_by(P::CustomerId)
                .into_tuple()
                .all(&self.db)
                .await?;
            for (id, n) in rows {
                out.push((customer(&id, "payment")?, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }

    async fn customer_ids_after(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut query = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id);
        if let Some(after) = after {
            query = query.filter(customer::Column::Id.gt(after.as_str()));
        }
        let ids: Vec<String> = query
            .order_by_asc(customer::Column::Id)
            .limit(limit.min(crate::MARKETING_PAGE_MAX))
            .into_tuple()
            .all(&self.db)
            .await?;
        ids.iter().map(|id| customer(id, "registered")).collect()
    }

    async fn customer_registered(&self, id: &CustomerId) -> Result<bool, StoreError> {
        let found: Option<String> = customer::Entity::find_by_id(id.as_str().to_owned())
            .select_only()
            .column(customer::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    async fn record_payment_assessment(
        &self,
        assessment: &NewPaymentAssessment,
        idempotency: Option<&IdempotentResponse>,
        by: &Actor,
    ) -> Result<Idempotent, StoreError> {
        let Some(record) = idempotency else {
            self.decisions
                .record(
                    Recorded::Assessment(assessment_row(assessment)),
                    assessment_entry(assessment, by),
                )
                .await?;
            return Ok(Idempotent::Written);
        };
        self.once_under_key(record, async |txn| {
            payment_assessment::Entity::insert(assessment_row(assessment))
                .exec_without_returning(txn)
                .await?;
            let entry = assessment_entry(assessment, by);
            audit::append(txn, self.signer(), entry, assessment.created_at).await?;
            Ok(())
        })
        .await
    }

    async fn payment_assessment(
        &self,
        id: &str,
    ) -> Result<Option<NewPaymentAssessment>, StoreError> {
        payment_assessment::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(assessment_from)
            .transpose()
    }

    async fn put_monitoring_model(
        &self,
        model: &StoredMonitoringModel,
        activate: bool,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let version = NewVersion {
            version: &model.version,
            created_at: model.created_at,
            actor: &model.actor,
            record: self.recorder(by),
            columns: vec![
                ("metrics", super::text(&model.metrics.to_string())),
                ("artifact", super::text(&model.artifact)),
            ],
        };
        MONITORING_MODELS.put_alone(self, version, activate).await
    }

    async fn monitoring_model(
        &self,
        version: &str,
    ) -> Result<Option<StoredMonitoringModel>, StoreError> {
        use sea_orm::sea_query::{Alias, Expr, Query};
        use sea_orm::ConnectionTrait;
        let query = Query::select()
            .columns(["version", "created_at_ms", "actor", "metrics", "artifact"].map(Alias::new))
            .from(Alias::new("monitoring_models"))
            .and_where(Expr::col(Alias::new("version")).eq(version))
            .to_owned();
        let backend = self.db.get_database_backend();
        let Some(row) = self.db.query_one(backend.build(&query)).await? else {
            return Ok(None);
        };
        let metrics: String = row.try_get("", "metrics")?;
        Ok(Some(StoredMonitoringModel {
            version: row.try_get("", "version")?,
            created_at: ms_to_time(row.try_get("", "created_at_ms")?)?,
            actor: row.try_get("", "actor")?,
            metrics: json(&metrics, "monitoring model metrics")?,
            artifact: row.try_get("", "artifact")?,
        }))
    }

    async fn active_monitoring_model(&self) -> Result<Option<StoredMonitoringModel>, StoreError> {
        let Some(version) = MONITORING_MODELS.active_version(&self.db).await? else {
            return Ok(None);
        };
        match self.monitoring_model(&version).await? {
            Some(model) => Ok(Some(model)),
            None => Err(MONITORING_MODELS.missing(&version)),
        }
    }

    async fn activate_monitoring_model(
        &self,
        version: &str,
        by: &Actor,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        MONITORING_MODELS
            .activate(self, version, self.recorder(by), at)
            .await
    }

    async fn monitoring_stamp(&self) -> Result<MonitoringStamp, StoreError> {
        use sea_orm::sea_query::{Alias, Expr, Query};
        use sea_orm::ConnectionTrait;
        let query = Query::select()
            .expr_as(Expr::col(Alias::new("rule_id")).count(), Alias::new("n"))
            .expr_as(
                Expr::col(Alias::new("changed_at_ms")).max(),
                Alias::new("changed"),
            )
            .from(Alias::new("monitoring_rules"))
            .to_owned();
        let backend = self.db.get_database_backend();
        let row = self.db.query_one(backend.build(&query)).await?;
        let (rule_versions, rules_changed_at_ms) = match row {
            Some(row) => (
                row.try_get::<i64>("", "n")?,
                row.try_get::<Option<i64>>("", "changed")?.unwrap_or(0),
            ),
            None => (0, 0),
        };
        Ok(MonitoringStamp {
            rule_versions,
            rules_changed_at_ms,
            model_activation: MONITORING_MODELS.newest_activation(&self.db).await?,
        })
    }

    async fn disposed_alert_events(&self) -> Result<Vec<(String, String)>, StoreError> {
        use monitoring_alert::Column as A;
        use monitoring_case::Column as C;
        let closed: Vec<(String, Option<String>)> = monitoring_case::Entity::find()
            .select_only()
            .column(C::Id)
            .column(C::Disposition)
            .filter(C::Status.eq("closed"))
            .into_tuple()
            .all(&self.db)
            .await?;
        let dispositions: HashMap<String, String> = closed
            .into_iter()
            .filter_map(|(id, d)| Some((id, d?)))
            .collect();
        let mut out = Vec::new();
        let ids: Vec<&String> = dispositions.keys().collect();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let rows: Vec<(String, Option<String>)> = monitoring_alert::Entity::find()
                .select_only()
                .column(A::CaseId)
                .column(A::EventId)
                .filter(A::CaseId.is_in(chunk.iter().map(|s| s.as_str())))
                .into_tuple()
                .all(&self.db)
                .await?;
            for (case, event) in rows {
                if let Some(event) = event {
                    out.push((event, dispositions[&case].clone()));
                }
            }
        }
        Ok(out)
    }
}
