//! Profiles on sea-orm: computed profiles, segments, questionnaire answers and risk
//! assessments, and a refresh's inputs in one call.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde_json::json;
use sextant_domain::CustomerId;

use super::customers::{history, HISTORY_PAGE_MAX};
use super::rows::{assessment_from, last_per_key, profile_from, profile_model};
use super::{col, text, SeaStore, IDS_PER_LOOKUP};
use crate::entity::{profile, risk_answer, risk_assessment, segment};
use crate::{
    Actor, ProfileStore, RefreshInputs, StoreError, StoredAssessment, StoredProfile, StoredSegment,
    PAGE_MAX,
};

/// Assessments per multi-row INSERT of a bulk load: 8 columns x 2,000 rows stays under both
/// backends' bound-parameter limits.
const ASSESSMENT_ROWS_PER_STATEMENT: usize = 2_000;

pub(super) async fn profile(
    db: &impl ConnectionTrait,
    id: &CustomerId,
) -> Result<Option<StoredProfile>, StoreError> {
    profile::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(profile_from)
        .transpose()
}

async fn latest_answers(
    db: &impl ConnectionTrait,
    id: &CustomerId,
) -> Result<Option<serde_json::Value>, StoreError> {
    let row = risk_answer::Entity::find()
        .filter(risk_answer::Column::CustomerId.eq(id.as_str()))
        .order_by_desc(risk_answer::Column::Id)
        .one(db)
        .await?;
    row.map(|r| {
        serde_json::from_str(&r.answers)
            .map_err(|e| StoreError::Corrupt(format!("risk answers: {e}")))
    })
    .transpose()
}

/// Newest first.
pub(super) async fn assessments(
    db: &impl ConnectionTrait,
    id: &CustomerId,
    limit: u64,
) -> Result<Vec<StoredAssessment>, StoreError> {
    use risk_assessment::Column as R;
    risk_assessment::Entity::find()
        .filter(R::CustomerId.eq(id.as_str()))
        .order_by_desc(R::Id)
        .limit(limit.min(PAGE_MAX))
        .all(db)
        .await?
        .into_iter()
        .map(assessment_from)
        .collect()
}

#[async_trait]
impl ProfileStore for SeaStore {
    async fn put_profiles(&self, profiles: &[StoredProfile], by: &Actor) -> Result<(), StoreError> {
        if profiles.is_empty() {
            return Ok(());
        }
        let profiles = last_per_key(profiles, |p| p.customer_id.as_str());
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        use profile::Column as P;
        // 7 columns x 2,000 rows fits both backends' parameter limits.
        for chunk in profiles.chunks(2_000) {
            let models = chunk
                .iter()
                .map(profile_model)
                .collect::<Result<Vec<_>, _>>()?;
            profile::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::column(P::CustomerId)
                        .update_columns([
                            P::FeatureVersion,
                            P::Features,
                            P::Segment,
                            P::EmbeddingModel,
                            P::AsOfMs,
                            P::ComputedAtMs,
                            P::Unconverted,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await?;
        }
        let detail = json!({ "profiles": profiles.len() });
        self.recorder(by)
            .record(&txn, "profiles.write", "profiles", detail, Utc::now())
            .await?;
        txn.commit().await?;
        self.changes.note(profiles.iter().map(|p| &p.customer_id));
        Ok(())
    }

    async fn profiles(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<StoredProfile>, StoreError> {
        use profile::Column as P;
        let mut query = profile::Entity::find();
        if let Some(after) = after {
            query = query.filter(P::CustomerId.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(P::CustomerId)
            .limit(limit.min(HISTORY_PAGE_MAX * 10))
            .all(&self.db)
            .await?;
        rows.into_iter().map(profile_from).collect()
    }

    async fn delete_profile(&self, id: &CustomerId, by: &Actor) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let deleted = profile::Entity::delete_by_id(id.to_string())
            .exec(&txn)
            .await?
            .rows_affected;
        if deleted > 0 {
            self.recorder(by)
                .record(&txn, "profile.delete", id.as_str(), json!({}), Utc::now())
                .await?;
        }
        txn.commit().await?;
        self.changes.note([id]);
        Ok(())
    }

    async fn replace_segments(
        &self,
        segments: &[StoredSegment],
        assignments: &[(CustomerId, u32)],
        by: &Actor,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        segment::Entity::delete_many().exec(&txn).await?;
        let now_ms = Utc::now().timestamp_millis();
        if !segments.is_empty() {
            let models = segments.iter().map(|s| segment::ActiveModel {
                id: Set(s.id as i32),
                name: Set(s.name.clone()),
                description: Set(s.description.clone()),
                size: Set(s.size as i64),
                centroid: Set(serde_json::to_string(&s.centroid).expect("floats serialise")),
                embedding_model: Set(s.embedding_model.clone()),
                created_at_ms: Set(now_ms),
            });
            segment::Entity::insert_many(models).exec(&txn).await?;
        }
        // Group customers by segment: one UPDATE .. WHERE customer_id IN (..) per chunk.
        let mut by_segment: HashMap<u32, Vec<&str>> = HashMap::new();
        for (id, segment) in assignments {
            by_segment.entry(*segment).or_default().push(id.as_str());
        }
        for (segment, ids) in by_segment {
            for chunk in ids.chunks(IDS_PER_LOOKUP) {
                profile::Entity::update_many()
                    .col_expr(profile::Column::Segment, Expr::value(segment as i32))
                    .filter(profile::Column::CustomerId.is_in(chunk.iter().copied()))
                    .exec(&txn)
                    .await?;
            }
        }
        let detail = json!({ "segments": segments.len(), "assigned": assignments.len() });
        let at = Utc::now();
        self.recorder(by)
            .record(&txn, "segments.replace", "segments", detail, at)
            .await?;
        txn.commit().await?;
        self.changes.note_everything();
        Ok(())
    }

    async fn segments(&self) -> Result<Vec<StoredSegment>, StoreError> {
        let rows = segment::Entity::find()
            .order_by_asc(segment::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredSegment {
                    id: r.id as u32,
                    name: r.name,
                    description: r.description,
                    size: r.size as u64,
                    centroid: serde_json::from_str(&r.centroid)
                        .map_err(|e| StoreError::Corrupt(format!("segment centroid: {e}")))?,
                    embedding_model: r.embedding_model,
                })
            })
            .collect()
    }

    async fn put_risk_answers(
        &self,
        id: &CustomerId,
        answers: &serde_json::Value,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        risk_answer::Entity::insert(risk_answer::ActiveModel {
            customer_id: Set(id.to_string()),
            answered_at_ms: Set(now.timestamp_millis()),
            actor: Set(by.id.clone()),
            answers: Set(answers.to_string()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        // Which questions were answered, never the answers: they are personal, and the trail
        // outlives an erasure.
        let questions: Vec<&String> = answers
            .as_object()
            .map_or(Vec::new(), |a| a.keys().collect());
        let detail = json!({ "questions": questions });
        self.recorder(by)
            .record(&txn, "risk.answers", id.as_str(), detail, now)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn record_assessment(
        &self,
        id: &CustomerId,
        a: &StoredAssessment,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        risk_assessment::Entity::insert(risk_assessment::ActiveModel {
            customer_id: Set(id.to_string()),
            assessed_at_ms: Set(a.assessed_at.timestamp_millis()),
            level: Set(i32::from(a.level)),
            willingness: Set(i32::from(a.willingness)),
            willingness_source: Set(a.willingness_source.clone()),
            capacity: Set(i32::from(a.capacity)),
            reason: Set(a.reason.clone()),
            detail: Set(a.detail.to_string()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        let detail = json!({ "source": a.willingness_source });
        self.recorder(by)
            .record(&txn, "risk.assess", id.as_str(), detail, a.assessed_at)
            .await?;
        txn.commit().await?;
        self.changes.note([id]);
        Ok(())
    }
    async fn profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>, StoreError> {
        profile(&self.db, id).await
    }

    async fn latest_risk_answers(
        &self,
        id: &CustomerId,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        latest_answers(&self.db, id).await
    }

    async fn record_assessments(
        &self,
        assessments: &[(CustomerId, StoredAssessment)],
        by: &Actor,
    ) -> Result<(), StoreError> {
        let columns = [
            "customer_id",
            "assessed_at_ms",
            "level",
            "willingness",
            "willingness_source",
            "capacity",
            "reason",
            "detail",
        ];
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        for rows in assessments.chunks(ASSESSMENT_ROWS_PER_STATEMENT) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("risk_assessments"))
                .columns(columns.map(col));
            for (id, a) in rows {
                insert.values_panic([
                    text(id.as_str()),
                    a.assessed_at.timestamp_millis().into(),
                    i32::from(a.level).into(),
                    i32::from(a.willingness).into(),
                    text(&a.willingness_source),
                    i32::from(a.capacity).into(),
                    text(&a.reason),
                    text(&a.detail.to_string()),
                ]);
            }
            txn.execute(txn.get_database_backend().build(&insert))
                .await?;
        }
        if !assessments.is_empty() {
            let detail = json!({ "assessments": assessments.len() });
            self.recorder(by)
                .record(&txn, "risk.assess_many", "assessments", detail, Utc::now())
                .await?;
        }
        txn.commit().await?;
        self.changes.note(assessments.iter().map(|(id, _)| id));
        Ok(())
    }

    async fn assessments(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<StoredAssessment>, StoreError> {
        assessments(&self.db, id, limit).await
    }

    async fn refresh_inputs(
        &self,
        id: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Option<RefreshInputs>, StoreError> {
        let txn = self.db.begin().await?;
        let Some(history) = history(&txn, &self.keyring, id, since).await? else {
            return Ok(None);
        };
        let inputs = RefreshInputs {
            history,
            answers: latest_answers(&txn, id).await?,
            last_assessment: assessments(&txn, id, 1).await?.pop(),
        };
        txn.commit().await?;
        Ok(Some(inputs))
    }
}
