//! Audiences and campaigns on sea-orm: versioned audiences, the pages of customers they are
//! evaluated over, campaigns with their status log, the members written at launch together
//! with the idempotency record, delivery events and the per-member outcomes of the report.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, JoinType, OnConflict, Order, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use sextant_domain::{Customer, CustomerId, ProductId};

use super::catalogue::{next_version, taken};
use super::idempotency::{answer_under_key, claim_key};
use super::rows::{
    audience_from, campaign_event_hash, campaign_from, corrupt, ms_to_time, profile_from,
};
use super::{col, text, Recorder, SeaStore, IDS_PER_LOOKUP};
use crate::entity::{
    audience, campaign, campaign_event, campaign_member, campaign_status_change, customer, holding,
    profile, risk_assessment,
};
use crate::{
    Actor, CampaignEvent, CampaignLaunch, CampaignMember, CampaignStatusChange, CampaignStore,
    Idempotent, IdempotentResponse, IngestOutcome, MarketingRow, MemberOutcome, Membership,
    OfferActivity, StoreError, StoredAudience, StoredCampaign, StoredProfile,
    INGEST_CALL_MAX_EVENTS, MARKETING_PAGE_MAX, PAGE_MAX,
};

/// Members per INSERT at launch: 5 columns x 4,000 rows = 20,000 bound parameters, under
/// SQLite's 32,766 and PostgreSQL's 65,535.
const MEMBER_ROWS_PER_STATEMENT: usize = 4_000;
/// Campaign events per INSERT: 7 columns x 2,000 rows = 14,000 bound parameters.
const EVENT_ROWS_PER_STATEMENT: usize = 2_000;
/// Campaign statuses in which a membership is live.
const LIVE_STATUSES: [&str; 2] = ["running", "paused"];

/// Writes a status move to the campaign's log and to the audit trail (as `action`, with
/// `detail` beside the two statuses).
async fn log_status(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    (from, to): (&str, &str),
    record: Recorder<'_>,
    at: DateTime<Utc>,
    action: &str,
    mut detail: serde_json::Map<String, serde_json::Value>,
) -> Result<(), StoreError> {
    campaign_status_change::Entity::insert(campaign_status_change::ActiveModel {
        campaign_id: Set(campaign_id.to_owned()),
        from_status: Set(from.to_owned()),
        to_status: Set(to.to_owned()),
        actor: Set(record.by.id.clone()),
        at_ms: Set(at.timestamp_millis()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    detail.insert("from".into(), from.into());
    detail.insert("to".into(), to.into());
    record
        .record(db, action, campaign_id, detail.into(), at)
        .await
}

async fn insert_members(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    members: &[CampaignMember],
    at_ms: i64,
) -> Result<(), StoreError> {
    let columns = [
        "campaign_id",
        "customer_id",
        "arm",
        "score",
        "assigned_at_ms",
    ];
    // In primary-key order: B-tree pages fill by appending, and concurrent writers on
    // PostgreSQL would take row locks in one order.
    let mut sorted: Vec<&CampaignMember> = members.iter().collect();
    sorted.sort_unstable_by(|a, b| a.customer_id.cmp(&b.customer_id));
    for chunk in sorted.chunks(MEMBER_ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert
            .into_table(campaign_member::Entity)
            .columns(columns.map(col));
        for m in chunk {
            insert.values_panic([
                text(campaign_id),
                text(m.customer_id.as_str()),
                text(&m.arm),
                m.score.into(),
                at_ms.into(),
            ]);
        }
        db.execute(db.get_database_backend().build(&insert)).await?;
    }
    Ok(())
}

/// Which of `customers` are members of the campaign.
async fn members_among(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    customers: &[&str],
) -> Result<HashSet<String>, StoreError> {
    use campaign_member::Column as M;
    let mut found = HashSet::with_capacity(customers.len());
    for chunk in customers.chunks(IDS_PER_LOOKUP) {
        let rows = campaign_member::Entity::find()
            .select_only()
            .column(M::CustomerId)
            .filter(M::CampaignId.eq(campaign_id))
            .filter(M::CustomerId.is_in(chunk.iter().copied()))
            .into_tuple::<String>()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Multi-row `INSERT .. ON CONFLICT (campaign_id, event_id) DO NOTHING RETURNING event_id`.
async fn insert_new_campaign_events(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    rows: &[(&CampaignEvent, i64)],
    now_ms: i64,
) -> Result<HashSet<String>, StoreError> {
    let columns = [
        "campaign_id",
        "event_id",
        "customer_id",
        "kind",
        "occurred_at_ms",
        "content_hash",
        "received_at_ms",
    ];
    let mut inserted = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(EVENT_ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert
            .into_table(campaign_event::Entity)
            .columns(columns.map(col));
        for &(e, hash) in chunk {
            let row: [SimpleExpr; 7] = [
                text(campaign_id),
                text(&e.event_id),
                text(e.customer_id.as_str()),
                text(&e.kind),
                e.occurred_at.timestamp_millis().into(),
                hash.into(),
                now_ms.into(),
            ];
            insert.values_panic(row);
        }
        insert
            .on_conflict(
                OnConflict::columns([col("campaign_id"), col("event_id")])
                    .do_nothing()
                    .to_owned(),
            )
            .returning_col(col("event_id"));
        for row in db
            .query_all(db.get_database_backend().build(&insert))
            .await?
        {
            inserted.insert(row.try_get::<String>("", "event_id")?);
        }
    }
    Ok(inserted)
}

/// Stored content hashes of a campaign's events `ids`.
async fn campaign_event_hashes(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    ids: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    use campaign_event::Column as E;
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let rows = campaign_event::Entity::find()
            .select_only()
            .column(E::EventId)
            .column(E::ContentHash)
            .filter(E::CampaignId.eq(campaign_id))
            .filter(E::EventId.is_in(chunk.iter().copied()))
            .into_tuple::<(String, i64)>()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

pub(super) async fn memberships(
    db: &impl ConnectionTrait,
    customer: &CustomerId,
) -> Result<Vec<Membership>, StoreError> {
    let of_customer = Expr::col((col("m"), col("customer_id"))).eq(customer.as_str());
    Ok(live_memberships(db, of_customer, Some(PAGE_MAX))
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect())
}

/// Live memberships of the customers `which` selects (over `m.customer_id`), each with its
/// customer id, per customer newest first.
async fn live_memberships(
    db: &impl ConnectionTrait,
    which: SimpleExpr,
    limit: Option<u64>,
) -> Result<Vec<(String, Membership)>, StoreError> {
    let (m, c) = (col("m"), col("c"));
    let mut query = Query::select()
        .column((m.clone(), col("customer_id")))
        .column((m.clone(), col("campaign_id")))
        .column((c.clone(), col("product_id")))
        .column((c.clone(), col("channel")))
        .column((c.clone(), col("status")))
        .column((m.clone(), col("arm")))
        .column((m.clone(), col("assigned_at_ms")))
        .from_as(campaign_member::Entity, m.clone())
        .join_as(
            JoinType::InnerJoin,
            campaign::Entity,
            c.clone(),
            Expr::col((c.clone(), col("id"))).equals((m.clone(), col("campaign_id"))),
        )
        .and_where(which)
        .and_where(Expr::col((c.clone(), col("status"))).is_in(LIVE_STATUSES))
        .order_by((m.clone(), col("customer_id")), Order::Asc)
        .order_by((m.clone(), col("assigned_at_ms")), Order::Desc)
        .order_by((m, col("campaign_id")), Order::Asc)
        .to_owned();
    if let Some(limit) = limit {
        query.limit(limit);
    }
    let rows = db
        .query_all(db.get_database_backend().build(&query))
        .await?;
    rows.into_iter()
        .map(|row| {
            let product: String = row.try_get("", "product_id")?;
            Ok((
                row.try_get("", "customer_id")?,
                Membership {
                    campaign_id: row.try_get("", "campaign_id")?,
                    product_id: ProductId::parse(&product).map_err(corrupt("campaign product"))?,
                    channel: row.try_get("", "channel")?,
                    status: row.try_get("", "status")?,
                    arm: row.try_get("", "arm")?,
                    assigned_at: ms_to_time(row.try_get("", "assigned_at_ms")?)?,
                },
            ))
        })
        .collect()
}

#[async_trait]
impl CampaignStore for SeaStore {
    async fn put_audience(&self, a: &StoredAudience, by: &Actor) -> Result<(), StoreError> {
        use audience::Column as A;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let latest = audience::Entity::find()
            .select_only()
            .column(A::Version)
            .filter(A::Id.eq(a.id.as_str()))
            .order_by_desc(A::Version)
            .into_tuple::<i32>()
            .one(&txn)
            .await?;
        let version = next_version(&format!("audience {}", a.id), latest, a.version)?;
        audience::Entity::insert(audience::ActiveModel {
            id: Set(a.id.clone()),
            version: Set(version),
            name: Set(a.name.clone()),
            kind: Set(a.kind.clone()),
            definition: Set(a.definition.to_string()),
            actor: Set(a.actor.clone()),
            created_at_ms: Set(a.created_at.timestamp_millis()),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(taken(format!("audience {} version {version}", a.id)))?;
        let detail = json!({ "version": version, "kind": a.kind });
        self.recorder(by)
            .record(&txn, "audience.version", &a.id, detail, a.created_at)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn audience(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredAudience>, StoreError> {
        use audience::Column as A;
        let mut query = audience::Entity::find().filter(A::Id.eq(id));
        if let Some(version) = version {
            let Ok(version) = i32::try_from(version) else {
                return Ok(None);
            };
            query = query.filter(A::Version.eq(version));
        }
        query
            .order_by_desc(A::Version)
            .one(&self.db)
            .await?
            .map(audience_from)
            .transpose()
    }

    async fn audiences(&self, kind: Option<&str>) -> Result<Vec<StoredAudience>, StoreError> {
        use audience::Column as A;
        let newest = Query::select()
            .column(A::Id)
            .expr(Expr::col(A::Version).max())
            .from(audience::Entity)
            .group_by_col(A::Id)
            .to_owned();
        // The kind filters newest versions (a later version may change the kind).
        let mut query = audience::Entity::find().filter(
            Expr::tuple([Expr::col(A::Id).into(), Expr::col(A::Version).into()])
                .in_subquery(newest),
        );
        if let Some(kind) = kind {
            query = query.filter(A::Kind.eq(kind));
        }
        query
            .order_by_asc(A::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(audience_from)
            .collect()
    }

    async fn audience_versions(&self, id: &str) -> Result<Vec<StoredAudience>, StoreError> {
        use audience::Column as A;
        audience::Entity::find()
            .filter(A::Id.eq(id))
            .order_by_asc(A::Version)
            .all(&self.db)
            .await?
            .into_iter()
            .map(audience_from)
            .collect()
    }
    /// Stores the campaign as a draft: whatever status or launch the value carries, a
    /// campaign runs only through `launch_campaign`, which writes members.
    async fn create_campaign(&self, c: &StoredCampaign, by: &Actor) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let inserted = campaign::Entity::insert(campaign::ActiveModel {
            id: Set(c.id.clone()),
            name: Set(c.name.clone()),
            status: Set("draft".to_owned()),
            product_id: Set(c.product_id.to_string()),
            channel: Set(c.channel.clone()),
            spec: Set(c.spec.to_string()),
            created_by: Set(c.created_by.clone()),
            created_at_ms: Set(c.created_at.timestamp_millis()),
            updated_at_ms: Set(c.updated_at.timestamp_millis()),
            launched_at_ms: Set(None),
            launch: Set(None),
        })
        .on_conflict(
            OnConflict::column(campaign::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "campaign {} exists already",
                c.id
            )));
        }
        let detail = json!({ "product_id": c.product_id.as_str(), "channel": c.channel });
        self.recorder(by)
            .record(&txn, "campaign.create", &c.id, detail, c.created_at)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        campaign::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(campaign_from)
            .transpose()
    }

    async fn campaigns(
        &self,
        status: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredCampaign>, StoreError> {
        use campaign::Column as C;
        let mut query = campaign::Entity::find();
        if let Some(status) = status {
            query = query.filter(C::Status.eq(status));
        }
        query
            .order_by_desc(C::CreatedAtMs)
            .order_by_desc(C::Id)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?
            .into_iter()
            .map(campaign_from)
            .collect()
    }

    async fn set_campaign_status(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        by: &Actor,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use campaign::Column as C;
        let at_ms = at.timestamp_millis();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // The row is read (locked on PostgreSQL) only to log the status it leaves; the
        // conditional UPDATE is what decides.
        let mut find = campaign::Entity::find_by_id(id.to_owned());
        if self.backend() == DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        let Some(before) = find.one(&txn).await? else {
            txn.rollback().await?;
            return Ok(false);
        };
        let moved = campaign::Entity::update_many()
            .col_expr(C::Status, Expr::value(to))
            .col_expr(C::UpdatedAtMs, Expr::value(at_ms))
            .filter(C::Id.eq(id))
            .filter(C::Status.is_in(from.iter().copied()))
            .exec(&txn)
            .await?
            .rows_affected;
        if moved != 1 {
            // The UPDATE took SQLite's write lock even though it matched nothing. Rolled back
            // here, the lock is gone before the next writer gets the in-process lock; left to
            // the transaction's drop, the rollback is only queued (a status change in CI once
            // waited out the whole busy timeout right after such a refusal).
            txn.rollback().await?;
            return Ok(false);
        }
        let status = (before.status.as_str(), to);
        let record = self.recorder(by);
        let detail = serde_json::Map::new();
        log_status(&txn, id, status, record, at, "campaign.status", detail).await?;
        txn.commit().await?;
        // Every member's offers change with the campaign's status.
        self.activity.note_everything();
        Ok(true)
    }

    async fn launch_campaign(
        &self,
        launch: &CampaignLaunch,
        idempotency: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError> {
        use campaign::Column as C;
        if let Some(m) = launch.members.iter().find(|m| !m.score.is_finite()) {
            return Err(StoreError::Corrupt(format!(
                "launch of {} scores {} with a non-finite number",
                launch.campaign_id, m.customer_id
            )));
        }
        let at_ms = launch.launched_at.timestamp_millis();
        {
            let _guard = self.lock_writes().await;
            let txn = self.db.begin().await?;
            if let Some(earlier) = answer_under_key(&txn, idempotency).await? {
                return Ok(earlier);
            }
            let moved = campaign::Entity::update_many()
                .col_expr(C::Status, Expr::value("running"))
                .col_expr(C::UpdatedAtMs, Expr::value(at_ms))
                .col_expr(C::LaunchedAtMs, Expr::value(at_ms))
                .col_expr(C::Launch, Expr::value(launch.summary.to_string()))
                .filter(C::Id.eq(launch.campaign_id.as_str()))
                .filter(C::Status.eq("draft"))
                .exec(&txn)
                .await?
                .rows_affected;
            if moved == 1 {
                let mut detail = serde_json::Map::new();
                let treated = launch.members.iter().filter(|m| m.arm == "treatment");
                detail.insert("treatment".into(), treated.count().into());
                detail.insert("members".into(), launch.members.len().into());
                let status = ("draft", "running");
                let (id, at) = (&launch.campaign_id, launch.launched_at);
                let record = self.recorder(by);
                log_status(&txn, id, status, record, at, "campaign.launch", detail).await?;
                insert_members(&txn, &launch.campaign_id, &launch.members, at_ms).await?;
                if claim_key(&txn, idempotency).await? {
                    txn.commit().await?;
                    self.activity
                        .note(launch.members.iter().map(|m| &m.customer_id));
                    return Ok(Idempotent::Written);
                }
            }
            txn.rollback().await?;
        }
        // Lost to a launch that committed first (PostgreSQL's UPDATE waited for it): the same
        // key gets its answer; a campaign launched under another key stays launched once.
        Ok(answer_under_key(&self.db, idempotency)
            .await?
            .unwrap_or(Idempotent::AlreadyAccepted))
    }

    async fn campaign_members(
        &self,
        campaign_id: &str,
        arm: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CampaignMember>, StoreError> {
        use campaign_member::Column as M;
        let mut query = campaign_member::Entity::find().filter(M::CampaignId.eq(campaign_id));
        if let Some(arm) = arm {
            query = query.filter(M::Arm.eq(arm));
        }
        if let Some(after) = after {
            query = query.filter(M::CustomerId.gt(after));
        }
        query
            .order_by_asc(M::CustomerId)
            .limit(limit.min(MARKETING_PAGE_MAX))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                Ok(CampaignMember {
                    customer_id: CustomerId::parse(&row.customer_id)
                        .map_err(corrupt("member customer"))?,
                    arm: row.arm,
                    score: row.score,
                })
            })
            .collect()
    }

    async fn contact_counts(
        &self,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, u32>, StoreError> {
        use campaign_member::Column as M;
        // Served by the (arm, assigned_at_ms, customer_id) index alone.
        let rows = campaign_member::Entity::find()
            .select_only()
            .column(M::CustomerId)
            .column_as(M::CustomerId.count(), "contacts")
            .filter(M::Arm.eq("treatment"))
            .filter(M::AssignedAtMs.gte(since.timestamp_millis()))
            .group_by(M::CustomerId)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (id, u32::try_from(n).unwrap_or(u32::MAX)))
            .collect())
    }

    async fn record_campaign_events(
        &self,
        campaign_id: &str,
        events: &[CampaignEvent],
        by: &Actor,
    ) -> Result<IngestOutcome, StoreError> {
        let now = Utc::now();
        assert!(
            events.len() <= INGEST_CALL_MAX_EVENTS,
            "callers bound their batches"
        );
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;

        let mut customers: Vec<&str> = events.iter().map(|e| e.customer_id.as_str()).collect();
        customers.sort_unstable();
        customers.dedup();
        let members = members_among(&txn, campaign_id, &customers).await?;
        let unknown: Vec<usize> = (0..events.len())
            .filter(|&i| !members.contains(events[i].customer_id.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownCustomers(unknown));
        }

        let hashes: Vec<i64> = events.iter().map(campaign_event_hash).collect();
        // Rows go in sorted by id (stably, so a repeated id keeps its first occurrence first):
        // concurrent batches then take row locks in one order and cannot deadlock.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| events[a].event_id.cmp(&events[b].event_id));
        let rows: Vec<(&CampaignEvent, i64)> =
            order.iter().map(|&i| (&events[i], hashes[i])).collect();
        let inserted =
            insert_new_campaign_events(&txn, campaign_id, &rows, now.timestamp_millis()).await?;

        // The first occurrence of a newly inserted id was stored by this call; every other
        // item is a duplicate, to be checked against what is stored under its id.
        let mut claimed: HashSet<&str> = HashSet::new();
        let mut outcome = IngestOutcome::default();
        for (i, event) in events.iter().enumerate() {
            let id = event.event_id.as_str();
            if inserted.contains(id) && claimed.insert(id) {
                outcome.stored += 1;
            } else {
                outcome.duplicates.push(i);
            }
        }
        let duplicate_ids: Vec<&str> = outcome
            .duplicates
            .iter()
            .map(|&i| events[i].event_id.as_str())
            .collect();
        let stored = campaign_event_hashes(&txn, campaign_id, &duplicate_ids).await?;
        let reused: Vec<usize> = outcome
            .duplicates
            .iter()
            .copied()
            .filter(|&i| stored.get(events[i].event_id.as_str()) != Some(&hashes[i]))
            .collect();
        if !reused.is_empty() {
            return Err(StoreError::EventIdReused(reused));
        }
        if outcome.stored > 0 {
            let detail =
                json!({ "stored": outcome.stored, "duplicates": outcome.duplicates.len() });
            self.recorder(by)
                .record(&txn, "campaign.events", campaign_id, detail, now)
                .await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    async fn campaign_outcomes(&self, campaign_id: &str) -> Result<Vec<MemberOutcome>, StoreError> {
        let (m, e) = (col("m"), col("e"));
        // One pass over the members, each joined with its events (index on
        // (campaign_id, customer_id)); the aggregates are fixed SQL, valid on both backends.
        let query = Query::select()
            .column((m.clone(), col("customer_id")))
            .column((m.clone(), col("arm")))
            .column((m.clone(), col("score")))
            .expr_as(
                Expr::cust("MAX(CASE WHEN e.kind IN ('sent', 'delivered') THEN 1 ELSE 0 END)"),
                col("reached"),
            )
            .expr_as(
                Expr::cust("MAX(CASE WHEN e.kind = 'converted' THEN 1 ELSE 0 END)"),
                col("converted"),
            )
            .expr_as(
                Expr::cust("MIN(CASE WHEN e.kind = 'converted' THEN e.occurred_at_ms END)"),
                col("converted_at_ms"),
            )
            .from_as(campaign_member::Entity, m.clone())
            .join_as(
                JoinType::LeftJoin,
                campaign_event::Entity,
                e.clone(),
                Expr::col((e.clone(), col("campaign_id")))
                    .equals((m.clone(), col("campaign_id")))
                    .and(
                        Expr::col((e, col("customer_id"))).equals((m.clone(), col("customer_id"))),
                    ),
            )
            .and_where(Expr::col((m.clone(), col("campaign_id"))).eq(campaign_id))
            // Grouped by the members' primary key: both backends then read arm and score
            // as functionally dependent, and SQLite groups in index order without sorting.
            .group_by_columns([
                (m.clone(), col("campaign_id")),
                (m.clone(), col("customer_id")),
            ])
            .order_by((m, col("customer_id")), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.into_iter()
            .map(|row| {
                Ok(MemberOutcome {
                    customer_id: row.try_get("", "customer_id")?,
                    arm: row.try_get("", "arm")?,
                    score: row.try_get("", "score")?,
                    reached: row.try_get::<i32>("", "reached")? == 1,
                    converted: row.try_get::<i32>("", "converted")? == 1,
                    converted_at_ms: row.try_get("", "converted_at_ms")?,
                })
            })
            .collect()
    }
    /// Four queries per page, whatever its size: the customers, then their profiles, newest
    /// risk levels and holdings by the page's id range (a page is contiguous in id order).
    async fn marketing_rows(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<MarketingRow>, StoreError> {
        let mut query = customer::Entity::find();
        if let Some(after) = after {
            query = query.filter(customer::Column::Id.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(customer::Column::Id)
            .limit(limit.min(MARKETING_PAGE_MAX))
            .all(&self.db)
            .await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let among = Among::Range(first.id.clone(), last.id.clone());
        self.assemble_marketing_rows(rows, &among).await
    }

    async fn marketing_rows_of(&self, ids: &[CustomerId]) -> Result<Vec<MarketingRow>, StoreError> {
        let mut ids: Vec<&str> = ids.iter().map(CustomerId::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let rows = customer::Entity::find()
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .order_by_asc(customer::Column::Id)
                .all(&self.db)
                .await?;
            let among = Among::Ids(chunk.iter().map(|id| (*id).to_owned()).collect());
            out.extend(self.assemble_marketing_rows(rows, &among).await?);
        }
        Ok(out)
    }

    fn marketing_head(&self) -> u64 {
        self.changes.head()
    }

    fn marketing_changes(&self, since: u64) -> crate::MarketingChanges {
        self.changes.since(since)
    }

    fn activity_head(&self) -> u64 {
        self.activity.head()
    }

    fn activity_changes(&self, since: u64) -> crate::MarketingChanges {
        self.activity.since(since)
    }

    async fn offer_activity(
        &self,
        ids: &[CustomerId],
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<HashMap<CustomerId, OfferActivity>, StoreError> {
        let mut ids: Vec<&str> = ids.iter().map(CustomerId::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out: HashMap<CustomerId, OfferActivity> = HashMap::new();
        let txn = self.db.begin().await?;
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let among = Among::Ids(chunk.iter().map(|id| (*id).to_owned()).collect());
            let members = Expr::col((col("m"), col("customer_id"))).is_in(chunk.iter().copied());
            for (customer, membership) in live_memberships(&txn, members, None).await? {
                let id = CustomerId::parse(&customer).map_err(corrupt("member customer"))?;
                out.entry(id).or_default().memberships.push(membership);
            }
            let interactions = super::catalogue::offer_interactions_among(
                &txn,
                among.on(crate::entity::behaviour_event::Column::CustomerId),
                since,
            )
            .await?;
            for (customer, interaction) in interactions {
                let id = CustomerId::parse(&customer).map_err(corrupt("behaviour customer"))?;
                let activity = out.entry(id).or_default();
                if (activity.interactions.len() as u64) < limit {
                    activity.interactions.push(interaction);
                }
            }
        }
        txn.commit().await?;
        Ok(out)
    }

    async fn memberships(&self, customer: &CustomerId) -> Result<Vec<Membership>, StoreError> {
        memberships(&self.db, customer).await
    }

    async fn campaign_status_log(&self, id: &str) -> Result<Vec<CampaignStatusChange>, StoreError> {
        use campaign_status_change::Column as S;
        campaign_status_change::Entity::find()
            .filter(S::CampaignId.eq(id))
            .order_by_asc(S::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                Ok(CampaignStatusChange {
                    at: ms_to_time(row.at_ms)?,
                    from: row.from_status,
                    to: row.to_status,
                    actor: row.actor,
                })
            })
            .collect()
    }
}

/// Which customers a marketing look-up covers: a contiguous id range (a page) or a list.
enum Among {
    Range(String, String),
    Ids(Vec<String>),
}

impl Among {
    fn on(&self, column: impl ColumnTrait) -> SimpleExpr {
        match self {
            Among::Range(first, last) => column.between(first.as_str(), last.as_str()),
            Among::Ids(ids) => column.is_in(ids.iter().map(String::as_str)),
        }
    }
}

impl SeaStore {
    /// The customers' rows with their profiles, newest risk levels and holdings: three
    /// queries over `among`, whatever the number of customers.
    async fn assemble_marketing_rows(
        &self,
        rows: Vec<customer::Model>,
        among: &Among,
    ) -> Result<Vec<MarketingRow>, StoreError> {
        let customers: Vec<Customer> =
            super::customers::customers_from(&self.db, &self.keyring, rows).await?;
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut profiles: HashMap<String, StoredProfile> = profile::Entity::find()
            .filter(among.on(profile::Column::CustomerId))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| Ok((row.customer_id.clone(), profile_from(row)?)))
            .collect::<Result<_, StoreError>>()?;

        use risk_assessment::Column as R;
        let newest = Query::select()
            .expr(Expr::col(R::Id).max())
            .from(risk_assessment::Entity)
            .and_where(among.on(R::CustomerId))
            .group_by_col(R::CustomerId)
            .to_owned();
        let levels: HashMap<String, i32> = risk_assessment::Entity::find()
            .select_only()
            .column(R::CustomerId)
            .column(R::Level)
            .filter(R::Id.in_subquery(newest))
            .into_tuple::<(String, i32)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();

        let mut held: HashMap<String, Vec<ProductId>> = HashMap::new();
        let rows = holding::Entity::find()
            .select_only()
            .column(holding::Column::CustomerId)
            .column(holding::Column::ProductId)
            .filter(among.on(holding::Column::CustomerId))
            .order_by_asc(holding::Column::CustomerId)
            .order_by_asc(holding::Column::ProductId)
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?;
        for (customer_id, product) in rows {
            held.entry(customer_id)
                .or_default()
                .push(ProductId::parse(&product).map_err(corrupt("held product"))?);
        }

        customers
            .into_iter()
            .map(|customer| {
                let id = customer.id.as_str();
                let risk_level = levels
                    .get(id)
                    .map(|&level| {
                        u8::try_from(level)
                            .map_err(|_| StoreError::Corrupt(format!("risk level {level}")))
                    })
                    .transpose()?;
                Ok(MarketingRow {
                    profile: profiles.remove(id),
                    held: held.remove(id).unwrap_or_default(),
                    risk_level,
                    customer,
                })
            })
            .collect()
    }
}
