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
            .put_customer(&customer("c1"), &actor("app"), Utc::now())
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

#[tokio::test]
async fn imports_are_on_record_with_their_consents() {
    for (backend, test) in all_stores().await {
        let store = test.store.clone();
        let t0 = Utc::now();
        store
            .put_customers(&[customer("c1"), customer("c2")], &actor("import"), t0)
            .await
            .unwrap();
        let history = store.consent_history(&cid("c1"), 100).await.unwrap();
        let grants: Vec<(&str, bool, &str)> = history
            .iter()
            .map(|c| (c.scope.as_str(), c.granted, c.actor.as_str()))
            .collect();
        assert!(
            grants.contains(&("profiling", true, "import")),
            "{backend}: {grants:?}"
        );
        // A second import of the same customers adds no history: nothing changed.
        store
            .put_customers(&[customer("c1"), customer("c2")], &actor("import"), t0)
            .await
            .unwrap();
        assert_eq!(
            store.consent_history(&cid("c1"), 100).await.unwrap().len(),
            history.len(),
            "{backend}"
        );
        let imports = store
            .audit_entries(
                &AuditFilter {
                    action: Some("customer.import".into()),
                    ..AuditFilter::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!(imports.len(), 2, "{backend}: one entry per batch");
        assert!(imports[0].entry.detail.contains("c2"), "{backend}");
    }
}

/// Every change made through the store lands in the trail with the actor, the role it
/// acted in and the request that carried it, in the change's own transaction.
#[tokio::test]
async fn every_change_is_on_record_with_role_and_request() {
    use sextant_store::ConsentScope;
    for (backend, test) in all_stores().await {
        let store = test.store.clone();
        let staff = sextant_store::Actor::new("ana", "admin").with_request_id("req-42");
        let now = Utc::now();
        let c1 = cid("c1");
        store
            .put_customer(&customer("c1"), &staff, now)
            .await
            .unwrap();
        store
            .put_customers(&[customer("c2")], &staff, now)
            .await
            .unwrap();
        store
            .set_consents(&c1, &[(ConsentScope::Profiling, false)], &staff, now)
            .await
            .unwrap();
        store
            .ingest(&[payment("e1", "c1", 1_250)], &staff, now)
            .await
            .unwrap();
        store
            .replace_holdings(&c1, &[holding("c1", "dep-easy-access", 500)], &staff, now)
            .await
            .unwrap();
        store.assign_client("wm-1", &c1, &staff, now).await.unwrap();
        store
            .unassign_client("wm-1", &c1, &staff, now)
            .await
            .unwrap();
        // A no-op (nothing to unassign) changes nothing and records nothing.
        store
            .unassign_client("wm-1", &c1, &staff, now)
            .await
            .unwrap();

        let entries = store
            .audit_entries(&AuditFilter::default(), 0, 1_000)
            .await
            .unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.entry.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "customer.consents",
                "customer.create",
                "customer.import",
                "customer.consents",
                "events.ingest",
                "customer.holdings",
                "client.assign",
                "client.unassign",
            ],
            "{backend}"
        );
        for e in &entries {
            assert_eq!(
                (e.entry.actor.as_str(), e.entry.role.as_str()),
                ("ana", "admin"),
                "{backend}: {e:?}"
            );
            assert_eq!(e.entry.request_id, "req-42", "{backend}: {e:?}");
        }
        assert_eq!(verify(&entries, None), Ok(()), "{backend}");
    }
}

/// Every fourth entry carries a checkpoint signed in its own transaction, whichever path
/// appended it (single changes, staff reads, group-committed credit decisions); the public
/// key alone verifies them, and a checkpoint that names another hash is caught.
#[tokio::test]
async fn signed_checkpoints_vouch_for_the_trail() {
    use sextant_store::audit::{CheckpointBreak, CheckpointVerifier};
    for (backend, test) in all_stores().await {
        let store = test.store.clone();
        store
            .put_customer(&customer("c1"), &by(), Utc::now())
            .await
            .unwrap();
        for i in 0..9 {
            let entry = NewAuditEntry {
                actor: format!("staff-{i}"),
                action: "customer.read".into(),
                object: "c1".into(),
                ..NewAuditEntry::default()
            };
            store.record_audit(&entry, Utc::now()).await.unwrap();
        }
        let entries = store
            .audit_entries(&AuditFilter::default(), 0, 1_000)
            .await
            .unwrap();
        let head = entries.last().unwrap().seq;
        let checkpoints = store.audit_checkpoints(0, 100).await.unwrap();
        let seqs: Vec<i64> = checkpoints.iter().map(|c| c.seq).collect();
        let due: Vec<i64> = (1..=head / CHECKPOINT_EVERY)
            .map(|k| k * CHECKPOINT_EVERY)
            .collect();
        assert_eq!(seqs, due, "{backend}");
        let verifier = CheckpointVerifier::new(&[audit_key().1.clone()]).unwrap();
        let hash_at = |seq: i64| {
            entries
                .iter()
                .find(|e| e.seq == seq)
                .map(|e| e.hash.clone())
        };
        assert_eq!(
            verifier.verify(&checkpoints, head, CHECKPOINT_EVERY, hash_at),
            Ok(due.len() as u64),
            "{backend}"
        );
        let mut forged = checkpoints.clone();
        forged[0].hash = entries[0].hash.clone();
        assert_eq!(
            verifier.verify(&forged, head, CHECKPOINT_EVERY, hash_at),
            Err(CheckpointBreak::BadSignature {
                seq: CHECKPOINT_EVERY
            }),
            "{backend}"
        );
        // Nothing is missing, so nothing is signed again.
        assert_eq!(
            store
                .sign_missing_checkpoints(&audit_signer())
                .await
                .unwrap(),
            0,
            "{backend}"
        );
    }
}
