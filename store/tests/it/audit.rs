//! The audit trail stays one unbroken chain under concurrent appends, on every backend.

use chrono::Utc;
use sextant_store::audit::verify;
use sextant_store::{AuditFilter, NewAuditEntry};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_form_one_chain() {
    for (backend, test) in all_stores().await {
        let store = test.store.clone();
        store
            .put_customer(&customer("c1"), "app", Utc::now())
            .await
            .unwrap();
        let mut appends = tokio::task::JoinSet::new();
        for i in 0..24 {
            let store = store.clone();
            appends.spawn(async move {
                let entry = NewAuditEntry {
                    actor: format!("staff-{i}"),
                    role: "admin".into(),
                    action: "customer.read".into(),
                    object: "c1".into(),
                    request_id: format!("r{i}"),
                    outcome: "ok".into(),
                    detail: "{}".into(),
                };
                store.record_audit(&entry, Utc::now()).await.unwrap()
            });
        }
        appends.join_all().await;
        let all = store
            .audit_entries(&AuditFilter::default(), 0, 1_000)
            .await
            .unwrap();
        assert!(all.len() >= 25, "{backend}: {} entries", all.len());
        assert_eq!(verify(&all, None), Ok(()), "{backend}");
        let reads = store
            .audit_entries(
                &AuditFilter {
                    action: Some("customer.read".into()),
                    ..AuditFilter::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!(reads.len(), 10, "{backend}: filtered and limited");
    }
}
