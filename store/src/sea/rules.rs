//! Monitoring rules on sea-orm: versions with their modes (one live version per rule), and
//! the hits of each version on ingested payments.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use sextant_domain::CustomerId;

use super::rows::ms_to_time;
use super::{audit, SeaStore, ROWS_PER_STATEMENT};
use crate::entity::{monitoring_case, monitoring_rule, monitoring_rule_hit};
use crate::{
    Actor, Idempotent, IdempotentResponse, NewRuleHit, NewRuleVersion, RuleHitCount, RuleStore,
    StoreError, StoredRule,
};

fn rule_from(row: monitoring_rule::Model) -> Result<StoredRule, StoreError> {
    Ok(StoredRule {
        version: u32::try_from(row.version)
            .map_err(|_| StoreError::Corrupt(format!("rule {} version", row.rule_id)))?,
        created_at: ms_to_time(row.created_at_ms)?,
        changed_at: ms_to_time(row.changed_at_ms)?,
        rule_id: row.rule_id,
        source: row.source,
        description: row.description,
        mode: row.mode,
        severity: row.severity,
        cooldown_ms: row.cooldown_ms,
        author: row.author,
    })
}

fn customer(raw: &str) -> Result<CustomerId, StoreError> {
    CustomerId::parse(raw).map_err(|e| StoreError::Corrupt(format!("rule hit customer: {e}")))
}

/// Who wrote a rule, as its record shows it.
fn label(by: &Actor) -> String {
    format!("{}:{}", by.role, by.id)
}

/// Retires the rule's live versions other than `keep`, in the transaction.
async fn retire_live(
    txn: &sea_orm::DatabaseTransaction,
    rule_id: &str,
    keep: i64,
    at: i64,
) -> Result<(), StoreError> {
    use monitoring_rule::Column as R;
    monitoring_rule::Entity::update_many()
        .col_expr(R::Mode, sea_orm::sea_query::Expr::value("retired"))
        .col_expr(R::ChangedAtMs, sea_orm::sea_query::Expr::value(at))
        .filter(R::RuleId.eq(rule_id))
        .filter(R::Mode.eq("live"))
        .filter(R::Version.ne(keep))
        .exec(txn)
        .await?;
    Ok(())
}

impl SeaStore {
    /// Adds the next version of `new.rule_id` in the caller's transaction (retiring the live
    /// one when it is live), audited.
    async fn insert_rule_version(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        new: &NewRuleVersion,
        by: &Actor,
    ) -> Result<monitoring_rule::Model, StoreError> {
        use monitoring_rule::Column as R;
        let mut latest = monitoring_rule::Entity::find()
            .filter(R::RuleId.eq(&new.rule_id))
            .order_by_desc(R::Version);
        if self.backend() == sea_orm::DbBackend::Postgres {
            latest = latest.lock_exclusive();
        }
        let version = latest.one(txn).await?.map_or(1, |row| row.version + 1);
        let at = new.created_at.timestamp_millis();
        let row = monitoring_rule::Model {
            rule_id: new.rule_id.clone(),
            version,
            source: new.source.clone(),
            description: new.description.clone(),
            mode: new.mode.clone(),
            severity: new.severity,
            cooldown_ms: new.cooldown_ms,
            author: label(by),
            created_at_ms: at,
            changed_at_ms: at,
        };
        monitoring_rule::Entity::insert(monitoring_rule::ActiveModel {
            rule_id: Set(row.rule_id.clone()),
            version: Set(row.version),
            source: Set(row.source.clone()),
            description: Set(row.description.clone()),
            mode: Set(row.mode.clone()),
            severity: Set(row.severity),
            cooldown_ms: Set(row.cooldown_ms),
            author: Set(row.author.clone()),
            created_at_ms: Set(at),
            changed_at_ms: Set(at),
        })
        .exec_without_returning(txn)
        .await?;
        if new.mode == "live" {
            retire_live(txn, &new.rule_id, version, at).await?;
        }
        let detail = serde_json::json!({
            "rule_id": new.rule_id, "version": version, "mode": new.mode,
            "severity": new.severity, "cooldown_ms": new.cooldown_ms, "source": new.source,
        });
        let entry = by.entry("monitoring.rule.add", &new.rule_id, detail);
        audit::append(txn, self.signer(), entry, new.created_at).await?;
        Ok(row)
    }
}

#[async_trait]
impl RuleStore for SeaStore {
    async fn add_rule_version(
        &self,
        new: &NewRuleVersion,
        by: &Actor,
    ) -> Result<StoredRule, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let row = self.insert_rule_version(&txn, new, by).await?;
        txn.commit().await?;
        rule_from(row)
    }

    async fn add_rule_version_once(
        &self,
        new: &NewRuleVersion,
        record: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError> {
        self.once_under_key(record, async |txn| {
            let row = self.insert_rule_version(txn, new, by).await?;
            // The answer recorded under the key names the version this request made.
            let answer = serde_json::json!({"rule_id": row.rule_id, "version": row.version});
            let update = Query::update()
                .table(Alias::new("idempotency_keys"))
                .value(Alias::new("response"), answer.to_string())
                .and_where(Expr::col(Alias::new("caller")).eq(record.caller.as_str()))
                .and_where(Expr::col(Alias::new("key")).eq(record.key.as_str()))
                .to_owned();
            txn.execute(txn.get_database_backend().build(&update))
                .await?;
            Ok(())
        })
        .await
    }

    async fn set_rule_mode(
        &self,
        rule_id: &str,
        version: u32,
        mode: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredRule>, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let mut find =
            monitoring_rule::Entity::find_by_id((rule_id.to_owned(), i64::from(version)));
        if self.backend() == sea_orm::DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        let Some(mut row) = find.one(&txn).await? else {
            txn.rollback().await?;
            return Ok(None);
        };
        if row.mode == "retired" && mode != "retired" {
            return Err(StoreError::Conflict(format!(
                "rule {rule_id} version {version} is retired; add a new version instead"
            )));
        }
        let at = now.timestamp_millis();
        let from = std::mem::replace(&mut row.mode, mode.to_owned());
        row.changed_at_ms = row.changed_at_ms.max(at);
        monitoring_rule::Entity::update(monitoring_rule::ActiveModel {
            rule_id: Set(row.rule_id.clone()),
            version: Set(row.version),
            mode: Set(row.mode.clone()),
            changed_at_ms: Set(row.changed_at_ms),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        if mode == "live" {
            retire_live(&txn, rule_id, row.version, at).await?;
        }
        let detail = serde_json::json!({
            "rule_id": rule_id, "version": version, "from": from, "to": mode,
        });
        let entry = by.entry("monitoring.rule.mode", rule_id, detail);
        audit::append(&txn, self.signer(), entry, now).await?;
        txn.commit().await?;
        rule_from(row).map(Some)
    }

    async fn rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        use monitoring_rule::Column as R;
        monitoring_rule::Entity::find()
            .order_by_asc(R::RuleId)
            .order_by_asc(R::Version)
            .all(&self.db)
            .await?
            .into_iter()
            .map(rule_from)
            .collect()
    }

    async fn record_rule_hits(&self, hits: &[NewRuleHit]) -> Result<u64, StoreError> {
        if hits.is_empty() {
            return Ok(0);
        }
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let mut seen: HashSet<(String, u32, String)> = HashSet::new();
        let event_ids: Vec<&str> = hits.iter().map(|h| h.event_id.as_str()).collect();
        for chunk in event_ids.chunks(super::IDS_PER_LOOKUP) {
            use monitoring_rule_hit::Column as H;
            let rows: Vec<(String, i64, String)> = monitoring_rule_hit::Entity::find()
                .select_only()
                .column(H::RuleId)
                .column(H::Version)
                .column(H::EventId)
                .filter(H::EventId.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&txn)
                .await?;
            seen.extend(
                rows.into_iter()
                    .map(|(r, v, e)| (r, u32::try_from(v).unwrap_or(0), e)),
            );
        }
        let fresh: Vec<monitoring_rule_hit::ActiveModel> = hits
            .iter()
            .filter(|h| seen.insert((h.rule_id.clone(), h.version, h.event_id.clone())))
            .map(|h| monitoring_rule_hit::ActiveModel {
                rule_id: Set(h.rule_id.clone()),
                version: Set(i64::from(h.version)),
                event_id: Set(h.event_id.clone()),
                mode: Set(h.mode.clone()),
                customer_id: Set(h.customer_id.to_string()),
                occurred_at_ms: Set(h.occurred_at.timestamp_millis()),
                reason: Set(h.reason.clone()),
                recorded_at_ms: Set(h.recorded_at.timestamp_millis()),
            })
            .collect();
        let recorded = fresh.len() as u64;
        let mut rows = fresh.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
            monitoring_rule_hit::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(recorded)
    }

    async fn rule_hit_counts(&self) -> Result<Vec<RuleHitCount>, StoreError> {
        use monitoring_rule_hit::Column as H;
        use sea_orm::sea_query::{Expr, Func};
        // Counted by the database: one row per version, whatever the number of hits.
        let rows: Vec<(String, i64, i64, i64)> = monitoring_rule_hit::Entity::find()
            .select_only()
            .column(H::RuleId)
            .column(H::Version)
            .column_as(Expr::col(H::EventId).count(), "hits")
            .column_as(
                Expr::expr(Func::count_distinct(Expr::col(H::CustomerId))),
                "customers",
            )
            .group_by(H::RuleId)
            .group_by(H::Version)
            .order_by_asc(H::RuleId)
            .order_by_asc(H::Version)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(rule_id, version, hits, customers)| RuleHitCount {
                rule_id,
                version: u32::try_from(version).unwrap_or(0),
                hits: u64::try_from(hits).unwrap_or(0),
                customers: u64::try_from(customers).unwrap_or(0),
            })
            .collect())
    }

    async fn rule_hits(
        &self,
        rule_id: &str,
        version: u32,
        limit: u64,
    ) -> Result<Vec<NewRuleHit>, StoreError> {
        use monitoring_rule_hit::Column as H;
        monitoring_rule_hit::Entity::find()
            .filter(H::RuleId.eq(rule_id))
            .filter(H::Version.eq(i64::from(version)))
            .order_by_asc(H::OccurredAtMs)
            .order_by_asc(H::EventId)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                Ok(NewRuleHit {
                    customer_id: customer(&row.customer_id)?,
                    occurred_at: ms_to_time(row.occurred_at_ms)?,
                    recorded_at: ms_to_time(row.recorded_at_ms)?,
                    version,
                    rule_id: row.rule_id,
                    mode: row.mode,
                    event_id: row.event_id,
                    reason: row.reason,
                })
            })
            .collect()
    }

    async fn case_dispositions(&self) -> Result<Vec<(CustomerId, String)>, StoreError> {
        use monitoring_case::Column as C;
        let rows: Vec<(String, Option<String>)> = monitoring_case::Entity::find()
            .select_only()
            .column(C::CustomerId)
            .column(C::Disposition)
            .filter(C::Status.eq("closed"))
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .filter_map(|(c, d)| Some((c, d?)))
            .map(|(c, d)| Ok((customer(&c)?, d)))
            .collect()
    }
}
