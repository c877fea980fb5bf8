//! Advice on sea-orm: every piece of advice as given, the one decision on a proposal, and
//! wealth managers' clients.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use sextant_domain::CustomerId;

use super::rows::{corrupt, stored_advice};
use super::SeaStore;
use crate::entity::{advice, advice_decision, wealth_manager_client};
use crate::{Actor, AdviceStore, NewAdvice, StoreError, StoredAdvice, StoredDecision, PAGE_MAX};

#[async_trait]
impl AdviceStore for SeaStore {
    async fn record_advice(&self, a: &NewAdvice, by: &Actor) -> Result<i64, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let result = advice::Entity::insert(advice::ActiveModel {
            customer_id: Set(a.customer_id.to_string()),
            kind: Set(a.kind.clone()),
            created_at_ms: Set(a.created_at.timestamp_millis()),
            actor: Set(a.actor.clone()),
            engine_version: Set(a.engine_version.clone()),
            inputs: Set(a.inputs.to_string()),
            output: Set(a.output.to_string()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        let id = result.last_insert_id;
        let detail = json!({ "advice_id": id, "kind": a.kind, "engine_version": a.engine_version });
        self.recorder(by)
            .record(
                &txn,
                "advice.record",
                a.customer_id.as_str(),
                detail,
                a.created_at,
            )
            .await?;
        txn.commit().await?;
        Ok(id)
    }

    async fn advice(&self, id: i64) -> Result<Option<StoredAdvice>, StoreError> {
        let Some(row) = advice::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let decision = advice_decision::Entity::find_by_id(id)
            .one(&self.db)
            .await?;
        stored_advice(row, decision).map(Some)
    }

    async fn advice_for(
        &self,
        customer: &CustomerId,
        kind: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredAdvice>, StoreError> {
        use advice::Column as A;
        let mut query = advice::Entity::find().filter(A::CustomerId.eq(customer.as_str()));
        if let Some(kind) = kind {
            query = query.filter(A::Kind.eq(kind));
        }
        let rows = query
            .order_by_desc(A::Id)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut decisions: HashMap<i64, advice_decision::Model> = advice_decision::Entity::find()
            .filter(advice_decision::Column::AdviceId.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|d| (d.advice_id, d))
            .collect();
        rows.into_iter()
            .map(|r| {
                let decision = decisions.remove(&r.id);
                stored_advice(r, decision)
            })
            .collect()
    }

    async fn decide_advice(
        &self,
        id: i64,
        decision: &StoredDecision,
        by: &Actor,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let inserted = advice_decision::Entity::insert(advice_decision::ActiveModel {
            advice_id: Set(id),
            decision: Set(decision.decision.clone()),
            actor: Set(decision.actor.clone()),
            decided_at_ms: Set(decision.decided_at.timestamp_millis()),
            note: Set(decision.note.clone()),
        })
        .on_conflict(
            OnConflict::column(advice_decision::Column::AdviceId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            let detail = json!({ "decision": decision.decision });
            let object = id.to_string();
            self.recorder(by)
                .record(&txn, "advice.decide", &object, detail, decision.decided_at)
                .await?;
        }
        txn.commit().await?;
        Ok(inserted == 1)
    }

    async fn assign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use wealth_manager_client::Column as W;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let inserted = wealth_manager_client::Entity::insert(wealth_manager_client::ActiveModel {
            wealth_manager: Set(wealth_manager.to_owned()),
            customer_id: Set(customer.to_string()),
            assigned_by: Set(by.id.clone()),
            assigned_at_ms: Set(now.timestamp_millis()),
        })
        .on_conflict(
            OnConflict::columns([W::WealthManager, W::CustomerId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            let detail = json!({ "wealth_manager": wealth_manager });
            self.recorder(by)
                .record(&txn, "client.assign", customer.as_str(), detail, now)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn unassign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use wealth_manager_client::Column as W;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let removed = wealth_manager_client::Entity::delete_many()
            .filter(W::WealthManager.eq(wealth_manager))
            .filter(W::CustomerId.eq(customer.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        if removed > 0 {
            let detail = json!({ "wealth_manager": wealth_manager });
            self.recorder(by)
                .record(&txn, "client.unassign", customer.as_str(), detail, now)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn clients_of(&self, wealth_manager: &str) -> Result<Vec<CustomerId>, StoreError> {
        use wealth_manager_client::Column as W;
        wealth_manager_client::Entity::find()
            .filter(W::WealthManager.eq(wealth_manager))
            .order_by_asc(W::CustomerId)
            .limit(PAGE_MAX)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| CustomerId::try_from(r.customer_id.as_str()).map_err(corrupt("client id")))
            .collect()
    }

    async fn is_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<bool, StoreError> {
        Ok(wealth_manager_client::Entity::find_by_id((
            wealth_manager.to_owned(),
            customer.to_string(),
        ))
        .one(&self.db)
        .await?
        .is_some())
    }
}
