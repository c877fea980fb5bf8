//! Marketing storage on sea-orm: catalogue and audience versions, campaigns with their
//! members and delivery events, offer models, and the pages audiences are evaluated over.
//! A child of `sea` so it shares the connection and SQLite's write lock.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, JoinType, OnConflict, Order, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqlErr, TransactionTrait,
};
use sextant_domain::{Customer, CustomerId, Product, ProductId};

use super::super::entity::{
    audience, behaviour_event, campaign, campaign_event, campaign_member, campaign_status_change,
    customer, holding, idempotency_key, offer_model, offer_model_activation, product,
    product_version, profile, risk_assessment,
};
use super::super::{
    CampaignEvent, CampaignLaunch, CampaignMember, Fnv, Idempotent, IdempotentResponse,
    IngestOutcome, MarketingRow, MemberOutcome, Membership, OfferInteraction, ProductVersion,
    StoreError, StoredAudience, StoredCampaign, StoredOfferModel, StoredProfile,
    INGEST_CALL_MAX_EVENTS, MARKETING_PAGE_MAX, PAGE_MAX,
};
use super::credit::{claim_key, json, stored_idempotency};
use super::{corrupt, customer_from, ms_to_time, product_from, profile_from, text, SeaStore};

/// Members per INSERT at launch: 5 columns x 4,000 rows = 20,000 bound parameters, under
/// SQLite's 32,766 and PostgreSQL's 65,535.
const MEMBER_ROWS_PER_STATEMENT: usize = 4_000;
/// Campaign events per INSERT: 7 columns x 2,000 rows = 14,000 bound parameters.
const EVENT_ROWS_PER_STATEMENT: usize = 2_000;
/// Ids per `IN (...)` look-up.
const IDS_PER_LOOKUP: usize = 500;
/// Campaign statuses in which a membership is live.
const LIVE_STATUSES: [&str; 2] = ["running", "paused"];
/// Behaviour kinds that count as offer interactions.
const OFFER_KINDS: [&str; 5] = [
    "product_view",
    "offer_impression",
    "offer_click",
    "offer_dismiss",
    "offer_conversion",
];
/// Who wrote version 0 of a built-in product (it was seeded, not edited).
const BUILT_IN_ACTOR: &str = "built-in";

fn version_from(version: i32, what: &str) -> Result<u32, StoreError> {
    u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("{what} version {version}")))
}

/// The version to write: `Conflict` unless `version` follows `latest` (0 when none is stored).
fn next_version(what: &str, latest: Option<i32>, version: u32) -> Result<i32, StoreError> {
    let expected = i64::from(latest.unwrap_or(0)) + 1;
    if i64::from(version) != expected {
        return Err(StoreError::Conflict(format!(
            "{what} version {version} is not the next one ({expected})"
        )));
    }
    i32::try_from(version).map_err(|_| StoreError::Conflict(format!("{what} version {version}")))
}

/// A unique-key violation on a versioned insert: a concurrent writer took that version
/// between our read of the latest and our insert (PostgreSQL; SQLite writers are serialised).
fn taken(what: String) -> impl FnOnce(DbErr) -> StoreError {
    move |err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::Conflict(format!("{what} exists already"))
        }
        _ => err.into(),
    }
}

/// FNV-1a over what a campaign event says: tells a re-sent event from a reused id.
fn campaign_event_hash(event: &CampaignEvent) -> i64 {
    let mut hash = Fnv::default();
    hash.put(b"campaign_event");
    hash.put(event.customer_id.as_str().as_bytes());
    hash.put(event.kind.as_bytes());
    hash.put(&event.occurred_at.timestamp_millis().to_le_bytes());
    hash.stored()
}

fn product_model(p: &Product, now_ms: i64) -> product::ActiveModel {
    product::ActiveModel {
        id: Set(p.id.to_string()),
        kind: Set(p.kind.as_str().to_owned()),
        name: Set(p.name.clone()),
        risk_level: Set(i32::from(p.risk_level.get())),
        currency: Set(p.currency.to_string()),
        min_amount_minor: Set(p.min_amount_minor),
        term_months: Set(p.term_months.map(i32::from)),
        rate_bps: Set(p.rate_bps.map(|v| v as i32)),
        fee_bps: Set(p.fee_bps.map(|v| v as i32)),
        asset_class: Set(p.asset_class.clone()),
        updated_at_ms: Set(now_ms),
    }
}

fn product_version_model(v: &ProductVersion, version: i32) -> product_version::ActiveModel {
    let p = &v.product;
    product_version::ActiveModel {
        product_id: Set(p.id.to_string()),
        version: Set(version),
        kind: Set(p.kind.as_str().to_owned()),
        name: Set(p.name.clone()),
        risk_level: Set(i32::from(p.risk_level.get())),
        currency: Set(p.currency.to_string()),
        min_amount_minor: Set(p.min_amount_minor),
        term_months: Set(p.term_months.map(i32::from)),
        rate_bps: Set(p.rate_bps.map(|v| v as i32)),
        fee_bps: Set(p.fee_bps.map(|v| v as i32)),
        asset_class: Set(p.asset_class.clone()),
        eligibility: Set(v.eligibility.clone()),
        terms: Set(v.terms.clone()),
        active: Set(v.active),
        actor: Set(v.actor.clone()),
        created_at_ms: Set(v.created_at.timestamp_millis()),
    }
}

fn product_version_from(row: product_version::Model) -> Result<ProductVersion, StoreError> {
    let version = version_from(row.version, "product")?;
    let created_at = ms_to_time(row.created_at_ms)?;
    let product = product_from(product::Model {
        id: row.product_id,
        kind: row.kind,
        name: row.name,
        risk_level: row.risk_level,
        currency: row.currency,
        min_amount_minor: row.min_amount_minor,
        term_months: row.term_months,
        rate_bps: row.rate_bps,
        fee_bps: row.fee_bps,
        asset_class: row.asset_class,
        updated_at_ms: row.created_at_ms,
    })?;
    Ok(ProductVersion {
        product,
        version,
        eligibility: row.eligibility,
        terms: row.terms,
        active: row.active,
        actor: row.actor,
        created_at,
    })
}

/// Version 0: a catalogue product as seeded, never edited.
fn built_in_version(row: product::Model) -> Result<ProductVersion, StoreError> {
    let created_at = ms_to_time(row.updated_at_ms)?;
    Ok(ProductVersion {
        product: product_from(row)?,
        version: 0,
        eligibility: None,
        terms: None,
        active: true,
        actor: BUILT_IN_ACTOR.to_owned(),
        created_at,
    })
}

fn audience_from(row: audience::Model) -> Result<StoredAudience, StoreError> {
    Ok(StoredAudience {
        version: version_from(row.version, "audience")?,
        definition: json(&row.definition, "audience definition")?,
        created_at: ms_to_time(row.created_at_ms)?,
        id: row.id,
        name: row.name,
        kind: row.kind,
        actor: row.actor,
    })
}

fn campaign_from(row: campaign::Model) -> Result<StoredCampaign, StoreError> {
    Ok(StoredCampaign {
        product_id: ProductId::parse(&row.product_id).map_err(corrupt("campaign product"))?,
        spec: json(&row.spec, "campaign spec")?,
        created_at: ms_to_time(row.created_at_ms)?,
        updated_at: ms_to_time(row.updated_at_ms)?,
        launched_at: row.launched_at_ms.map(ms_to_time).transpose()?,
        launch: row
            .launch
            .as_deref()
            .map(|l| json(l, "campaign launch"))
            .transpose()?,
        id: row.id,
        name: row.name,
        status: row.status,
        channel: row.channel,
        created_by: row.created_by,
    })
}

fn offer_model_from(row: offer_model::Model) -> Result<StoredOfferModel, StoreError> {
    Ok(StoredOfferModel {
        metrics: json(&row.metrics, "offer model metrics")?,
        created_at: ms_to_time(row.created_at_ms)?,
        version: row.version,
        actor: row.actor,
        artifact: row.artifact,
    })
}

/// What an existing key means for `record`: the earlier answer, or a refusal.
async fn answer_under_key(
    db: &impl ConnectionTrait,
    record: &IdempotentResponse,
) -> Result<Option<Idempotent>, StoreError> {
    let Some(earlier) =
        idempotency_key::Entity::find_by_id((record.caller.clone(), record.key.clone()))
            .one(db)
            .await?
    else {
        return Ok(None);
    };
    let earlier = stored_idempotency(earlier)?;
    Ok(Some(if earlier.request_hash == record.request_hash {
        Idempotent::Replay(earlier)
    } else {
        Idempotent::KeyReused
    }))
}

async fn log_status(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    from: &str,
    to: &str,
    actor: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    campaign_status_change::Entity::insert(campaign_status_change::ActiveModel {
        campaign_id: Set(campaign_id.to_owned()),
        from_status: Set(from.to_owned()),
        to_status: Set(to.to_owned()),
        actor: Set(actor.to_owned()),
        at_ms: Set(at_ms),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl SeaStore {
    async fn latest_product_version(
        &self,
        db: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Option<i32>, StoreError> {
        use product_version::Column as V;
        Ok(product_version::Entity::find()
            .select_only()
            .column(V::Version)
            .filter(V::ProductId.eq(id))
            .order_by_desc(V::Version)
            .into_tuple::<i32>()
            .one(db)
            .await?)
    }

    pub(super) async fn put_product_version_impl(
        &self,
        v: &ProductVersion,
    ) -> Result<(), StoreError> {
        use product::Column as P;
        let id = v.product.id.as_str();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let latest = self.latest_product_version(&txn, id).await?;
        let version = next_version(&format!("product {id}"), latest, v.version)?;
        // The first edit of a built-in product keeps what it replaces as version 0, so the
        // history shows every level the product was ever offered at.
        if latest.is_none() {
            if let Some(row) = product::Entity::find_by_id(id.to_owned()).one(&txn).await? {
                let original = built_in_version(row)?;
                product_version::Entity::insert(product_version_model(&original, 0))
                    .exec_without_returning(&txn)
                    .await
                    .map_err(taken(format!("product {id} version 0")))?;
            }
        }
        product_version::Entity::insert(product_version_model(v, version))
            .exec_without_returning(&txn)
            .await
            .map_err(taken(format!("product {id} version {version}")))?;
        // Holdings, advice and the advisory catalogue read `products`: it follows the newest.
        product::Entity::insert(product_model(&v.product, v.created_at.timestamp_millis()))
            .on_conflict(
                OnConflict::column(P::Id)
                    .update_columns([
                        P::Kind,
                        P::Name,
                        P::RiskLevel,
                        P::Currency,
                        P::MinAmountMinor,
                        P::TermMonths,
                        P::RateBps,
                        P::FeeBps,
                        P::AssetClass,
                        P::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    pub(super) async fn product_versions_impl(
        &self,
        id: &ProductId,
    ) -> Result<Vec<ProductVersion>, StoreError> {
        use product_version::Column as V;
        let rows = product_version::Entity::find()
            .filter(V::ProductId.eq(id.as_str()))
            .order_by_asc(V::Version)
            .all(&self.db)
            .await?;
        if !rows.is_empty() {
            return rows.into_iter().map(product_version_from).collect();
        }
        product::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(built_in_version)
            .into_iter()
            .collect()
    }

    pub(super) async fn catalogue_impl(&self) -> Result<Vec<ProductVersion>, StoreError> {
        use product_version::Column as V;
        let products = product::Entity::find()
            .order_by_asc(product::Column::Id)
            .all(&self.db)
            .await?;
        let newest = Query::select()
            .column(V::ProductId)
            .expr(Expr::col(V::Version).max())
            .from(product_version::Entity)
            .group_by_col(V::ProductId)
            .to_owned();
        let mut versions: HashMap<String, product_version::Model> = product_version::Entity::find()
            .filter(
                Expr::tuple([Expr::col(V::ProductId).into(), Expr::col(V::Version).into()])
                    .in_subquery(newest),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.product_id.clone(), row))
            .collect();
        products
            .into_iter()
            .map(|row| match versions.remove(&row.id) {
                Some(version) => product_version_from(version),
                None => built_in_version(row),
            })
            .collect()
    }

    pub(super) async fn put_audience_impl(&self, a: &StoredAudience) -> Result<(), StoreError> {
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
        txn.commit().await?;
        Ok(())
    }

    pub(super) async fn audience_impl(
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

    pub(super) async fn audiences_impl(
        &self,
        kind: Option<&str>,
    ) -> Result<Vec<StoredAudience>, StoreError> {
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

    pub(super) async fn audience_versions_impl(
        &self,
        id: &str,
    ) -> Result<Vec<StoredAudience>, StoreError> {
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
    /// campaign runs only through [`SeaStore::launch_campaign_impl`], which writes members.
    pub(super) async fn create_campaign_impl(&self, c: &StoredCampaign) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
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
        .exec_without_returning(&self.db)
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "campaign {} exists already",
                c.id
            )));
        }
        Ok(())
    }

    pub(super) async fn campaign_impl(
        &self,
        id: &str,
    ) -> Result<Option<StoredCampaign>, StoreError> {
        campaign::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(campaign_from)
            .transpose()
    }

    pub(super) async fn campaigns_impl(
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

    pub(super) async fn set_campaign_status_impl(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        actor: &str,
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
            return Ok(false);
        }
        log_status(&txn, id, &before.status, to, actor, at_ms).await?;
        txn.commit().await?;
        Ok(true)
    }

    pub(super) async fn launch_campaign_impl(
        &self,
        launch: &CampaignLaunch,
        idempotency: &IdempotentResponse,
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
                log_status(
                    &txn,
                    &launch.campaign_id,
                    "draft",
                    "running",
                    &launch.actor,
                    at_ms,
                )
                .await?;
                self.insert_members(&txn, &launch.campaign_id, &launch.members, at_ms)
                    .await?;
                if claim_key(&txn, idempotency).await? {
                    txn.commit().await?;
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

    async fn insert_members(
        &self,
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
            db.execute(self.backend().build(&insert)).await?;
        }
        Ok(())
    }

    pub(super) async fn campaign_members_impl(
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

    pub(super) async fn contact_counts_impl(
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

    pub(super) async fn memberships_impl(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<Membership>, StoreError> {
        let (m, c) = (col("m"), col("c"));
        let query = Query::select()
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
            .and_where(Expr::col((m.clone(), col("customer_id"))).eq(customer.as_str()))
            .and_where(Expr::col((c.clone(), col("status"))).is_in(LIVE_STATUSES))
            .order_by((m.clone(), col("assigned_at_ms")), Order::Desc)
            .order_by((m, col("campaign_id")), Order::Asc)
            .limit(PAGE_MAX)
            .to_owned();
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.into_iter()
            .map(|row| {
                let product: String = row.try_get("", "product_id")?;
                Ok(Membership {
                    campaign_id: row.try_get("", "campaign_id")?,
                    product_id: ProductId::parse(&product).map_err(corrupt("campaign product"))?,
                    channel: row.try_get("", "channel")?,
                    status: row.try_get("", "status")?,
                    arm: row.try_get("", "arm")?,
                    assigned_at: ms_to_time(row.try_get("", "assigned_at_ms")?)?,
                })
            })
            .collect()
    }

    pub(super) async fn record_campaign_events_impl(
        &self,
        campaign_id: &str,
        events: &[CampaignEvent],
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
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
        let members = self.members_among(&txn, campaign_id, &customers).await?;
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
        let inserted = self
            .insert_new_campaign_events(&txn, campaign_id, &rows, now.timestamp_millis())
            .await?;

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
        let stored = self
            .campaign_event_hashes(&txn, campaign_id, &duplicate_ids)
            .await?;
        let reused: Vec<usize> = outcome
            .duplicates
            .iter()
            .copied()
            .filter(|&i| stored.get(events[i].event_id.as_str()) != Some(&hashes[i]))
            .collect();
        if !reused.is_empty() {
            return Err(StoreError::EventIdReused(reused));
        }
        txn.commit().await?;
        Ok(outcome)
    }

    /// Which of `customers` are members of the campaign.
    async fn members_among(
        &self,
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
        &self,
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
            for row in db.query_all(self.backend().build(&insert)).await? {
                inserted.insert(row.try_get::<String>("", "event_id")?);
            }
        }
        Ok(inserted)
    }

    /// Stored content hashes of a campaign's events `ids`.
    async fn campaign_event_hashes(
        &self,
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

    pub(super) async fn campaign_outcomes_impl(
        &self,
        campaign_id: &str,
    ) -> Result<Vec<MemberOutcome>, StoreError> {
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
                })
            })
            .collect()
    }

    pub(super) async fn offer_interactions_impl(
        &self,
        customer: &CustomerId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OfferInteraction>, StoreError> {
        use behaviour_event::Column as B;
        // Served by `behaviour_events_customer_time` (customer_id, occurred_at_ms).
        let rows = behaviour_event::Entity::find()
            .select_only()
            .column(B::Kind)
            .column(B::ProductId)
            .column(B::OccurredAtMs)
            .filter(B::CustomerId.eq(customer.as_str()))
            .filter(B::OccurredAtMs.gte(since.timestamp_millis()))
            .filter(B::Kind.is_in(OFFER_KINDS))
            .filter(B::ProductId.is_not_null())
            .order_by_desc(B::OccurredAtMs)
            .order_by_desc(B::EventId)
            .limit(limit.min(MARKETING_PAGE_MAX))
            .into_tuple::<(String, String, i64)>()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|(kind, product, at_ms)| {
                Ok(OfferInteraction {
                    kind,
                    product_id: ProductId::parse(&product).map_err(corrupt("offer product"))?,
                    occurred_at: ms_to_time(at_ms)?,
                })
            })
            .collect()
    }

    /// Four queries per page, whatever its size: the customers, then their profiles, newest
    /// risk levels and holdings by the page's id range (a page is contiguous in id order).
    pub(super) async fn marketing_rows_impl(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<MarketingRow>, StoreError> {
        let mut query = customer::Entity::find();
        if let Some(after) = after {
            query = query.filter(customer::Column::Id.gt(after.as_str()));
        }
        let customers: Vec<Customer> = query
            .order_by_asc(customer::Column::Id)
            .limit(limit.min(MARKETING_PAGE_MAX))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| customer_from(row).map(|c| c.customer))
            .collect::<Result<_, _>>()?;
        let (Some(first), Some(last)) = (customers.first(), customers.last()) else {
            return Ok(Vec::new());
        };
        let (first, last) = (first.id.to_string(), last.id.to_string());

        let mut profiles: HashMap<String, StoredProfile> = profile::Entity::find()
            .filter(profile::Column::CustomerId.between(first.as_str(), last.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| Ok((row.customer_id.clone(), profile_from(row)?)))
            .collect::<Result<_, StoreError>>()?;

        use risk_assessment::Column as R;
        let newest = Query::select()
            .expr(Expr::col(R::Id).max())
            .from(risk_assessment::Entity)
            .and_where(Expr::col(R::CustomerId).between(first.as_str(), last.as_str()))
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
            .filter(holding::Column::CustomerId.between(first.as_str(), last.as_str()))
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

    pub(super) async fn put_offer_model_impl(
        &self,
        model: &StoredOfferModel,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // A version is kept as first stored; storing it again only activates it again.
        offer_model::Entity::insert(offer_model::ActiveModel {
            version: Set(model.version.clone()),
            created_at_ms: Set(model.created_at.timestamp_millis()),
            actor: Set(model.actor.clone()),
            metrics: Set(model.metrics.to_string()),
            artifact: Set(model.artifact.clone()),
        })
        .on_conflict(
            OnConflict::column(offer_model::Column::Version)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        offer_model_activation::Entity::insert(offer_model_activation::ActiveModel {
            version: Set(model.version.clone()),
            activated_at_ms: Set(model.created_at.timestamp_millis()),
            actor: Set(model.actor.clone()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub(super) async fn active_offer_model_impl(
        &self,
    ) -> Result<Option<StoredOfferModel>, StoreError> {
        let Some(active) = offer_model_activation::Entity::find()
            .order_by_desc(offer_model_activation::Column::Id)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        match offer_model::Entity::find_by_id(active.version.clone())
            .one(&self.db)
            .await?
        {
            Some(row) => offer_model_from(row).map(Some),
            None => Err(StoreError::Corrupt(format!(
                "active offer model {} is not stored",
                active.version
            ))),
        }
    }
}
