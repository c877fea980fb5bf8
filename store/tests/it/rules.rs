//! Monitoring rules: versions numbered per rule, one live version at a time, retired
//! versions staying retired, every change audited, and hits recorded once per version and
//! payment.

use chrono::{TimeZone, Utc};
use sextant_store::{AuditFilter, NewRuleHit, NewRuleVersion, StoreError};

use crate::common::*;

fn version(rule: &str, mode: &str) -> NewRuleVersion {
    NewRuleVersion {
        rule_id: rule.into(),
        source: "count(payments, 1h) > 10".into(),
        description: "a burst of payments".into(),
        mode: mode.into(),
        severity: 0.6,
        cooldown_ms: 86_400_000,
        created_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
    }
}

fn hit(rule: &str, version: u32, event: &str, customer: &str) -> NewRuleHit {
    NewRuleHit {
        rule_id: rule.into(),
        version,
        mode: "shadow".into(),
        customer_id: cid(customer),
        event_id: event.into(),
        occurred_at: Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap(),
        reason: "a burst of payments (count(payments, 1h) = 11)".into(),
        recorded_at: Utc::now(),
    }
}

#[tokio::test]
async fn rule_versions_modes_and_hits() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let v1 = store
            .add_rule_version(&version("burst", "live"), &by())
            .await
            .unwrap();
        assert_eq!((v1.version, v1.mode.as_str()), (1, "live"), "{backend}");
        let v2 = store
            .add_rule_version(&version("burst", "shadow"), &by())
            .await
            .unwrap();
        assert_eq!(v2.version, 2, "{backend}");
        let stamp = store.monitoring_stamp().await.unwrap();
        assert_eq!(stamp.rule_versions, 2, "{backend}");
        store
            .add_rule_version(&version("other", "shadow"), &by())
            .await
            .unwrap();
        let added = store.monitoring_stamp().await.unwrap();
        assert_ne!(added, stamp, "{backend}: a new version moves the stamp");
        // Promoting the shadow version retires the live one.
        let promoted = store
            .set_rule_mode(
                "burst",
                2,
                "live",
                &by(),
                Utc::now() + chrono::Duration::seconds(1),
            )
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            store.monitoring_stamp().await.unwrap(),
            added,
            "{backend}: a mode change moves the stamp"
        );
        assert_eq!(promoted.mode, "live", "{backend}");
        let modes: Vec<(String, u32, String)> = store
            .rules()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.rule_id, r.version, r.mode))
            .collect();
        assert_eq!(
            modes,
            vec![
                ("burst".into(), 1, "retired".into()),
                ("burst".into(), 2, "live".into()),
                ("other".into(), 1, "shadow".into()),
            ],
            "{backend}"
        );
        // A retired version is not brought back; an unknown one is not found.
        let refused = store
            .set_rule_mode("burst", 1, "shadow", &by(), Utc::now())
            .await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{backend}");
        assert!(store
            .set_rule_mode("burst", 9, "live", &by(), Utc::now())
            .await
            .unwrap()
            .is_none());
        // Every change is audited.
        let mut audited = 0;
        for action in ["monitoring.rule.add", "monitoring.rule.mode"] {
            let entries = store
                .audit_entries(
                    &AuditFilter {
                        action: Some(action.into()),
                        ..AuditFilter::default()
                    },
                    0,
                    50,
                )
                .await
                .unwrap();
            audited += entries.len();
        }
        assert_eq!(audited, 4, "{backend}");

        // Hits: once per version and payment, however often filed.
        let recorded = store
            .record_rule_hits(&[
                hit("burst", 2, "e-1", "c-1"),
                hit("burst", 2, "e-2", "c-1"),
                hit("burst", 2, "e-1", "c-1"),
                hit("other", 1, "e-1", "c-1"),
                hit("other", 1, "e-7", "c-2"),
            ])
            .await
            .unwrap();
        assert_eq!(recorded, 4, "{backend}");
        assert_eq!(
            store
                .record_rule_hits(&[hit("burst", 2, "e-2", "c-1")])
                .await
                .unwrap(),
            0,
            "{backend}"
        );
        let counts: Vec<(String, u32, u64, u64)> = store
            .rule_hit_counts()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.rule_id, c.version, c.hits, c.customers))
            .collect();
        assert_eq!(
            counts,
            vec![("burst".into(), 2, 2, 1), ("other".into(), 1, 2, 2)],
            "{backend}"
        );
        let hits = store.rule_hits("other", 1, 10).await.unwrap();
        assert_eq!(hits.len(), 2, "{backend}");
        assert_eq!(hits[0].reason, hit("other", 1, "e-1", "c-1").reason);
        assert!(store.case_dispositions().await.unwrap().is_empty());
    }
}
