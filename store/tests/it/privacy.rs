//! Encryption at rest, erasure by crypto-shredding and master key rotation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sextant_domain::{AccountRef, Counterparty, DeviceId, Event, MerchantId, ShortText};
use sextant_store::crypto::{Keyring, MasterKey};
use sextant_store::{AuditFilter, SeaStore, Store};

use crate::common::*;

const MERCHANT: &str = "m-unique-merchant-7781";
const QUERY: &str = "zanzibar honeymoon in april";
const PAYEE: &str = "Bohumila Vrchlicka-Zahradnikova";
const ACCOUNT: &str = "CZ6527000000001234567891";
const DEVICE: &str = "dv-unique-handset-5521";

fn private_events(customer: &str) -> Vec<Event> {
    let Event::Payment(mut pay) = payment("p-private", customer, 4_200) else {
        unreachable!()
    };
    pay.merchant_id = Some(MerchantId::parse(MERCHANT).unwrap());
    pay.counterparty = Some(Counterparty {
        name: Some(ShortText::parse(PAYEE).unwrap()),
        account: Some(AccountRef::parse(ACCOUNT).unwrap()),
    });
    pay.device_id = Some(DeviceId::parse(DEVICE).unwrap());
    let Event::Behaviour(mut search) = behaviour_at(
        "b-private",
        customer,
        "2026-05-01T12:40:00Z",
        "app_open",
        None,
    ) else {
        unreachable!()
    };
    search.kind = sextant_domain::BehaviourKind::parse("search").unwrap();
    search.query = Some(ShortText::parse(QUERY).unwrap());
    vec![Event::Payment(pay), Event::Behaviour(search)]
}

/// Every file under `dir`, read as (lossy) text.
fn files_hold(dir: &std::path::Path, needle: &str) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(bytes) = std::fs::read(&path) {
            if String::from_utf8_lossy(&bytes).contains(needle) {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn personal_fields_are_sealed_and_erasure_shreds_them() {
    for (backend, test) in all_stores().await {
        let store = test.store.clone();
        let t0 = Utc::now();
        store
            .put_customer(&customer("c1"), &actor("app"), t0)
            .await
            .unwrap();
        store
            .put_customer(&customer("c2"), &actor("app"), t0)
            .await
            .unwrap();
        store
            .ingest(&private_events("c1"), &by(), t0)
            .await
            .unwrap();
        // Read back in clear through the store.
        let history = store
            .history(&cid("c1"), DateTime::<Utc>::UNIX_EPOCH)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(history.customer.region.as_str(), "prague", "{backend}");
        let Event::Payment(_) = &private_events("c1")[0] else {
            unreachable!()
        };
        assert_eq!(
            history.payments[0].merchant_id.as_ref().unwrap().as_str(),
            MERCHANT
        );
        assert_eq!(history.behaviour[0].query.as_ref().unwrap().as_str(), QUERY);
        let Event::Payment(sent) = &private_events("c1")[0] else {
            unreachable!()
        };
        assert_eq!(
            history.payments[0].counterparty, sent.counterparty,
            "{backend}"
        );
        assert_eq!(history.payments[0].device_id, sent.device_id, "{backend}");
        if backend == "sqlite" {
            store.checkpoint().await.unwrap();
            for needle in [MERCHANT, QUERY, PAYEE, ACCOUNT, DEVICE] {
                assert!(
                    !files_hold(test._dir.path(), needle),
                    "{needle} is never written in clear"
                );
            }
        }
        let keys_before: u64 = store
            .keys_by_master()
            .await
            .unwrap()
            .iter()
            .map(|k| k.1)
            .sum();
        assert!(store
            .erase_customer(&cid("c1"), &actor("root"), Utc::now())
            .await
            .unwrap());
        assert!(!store
            .erase_customer(&cid("c1"), &actor("root"), Utc::now())
            .await
            .unwrap());
        assert!(store.customer(&cid("c1")).await.unwrap().is_none());
        assert!(store
            .history(&cid("c1"), DateTime::<Utc>::UNIX_EPOCH)
            .await
            .unwrap()
            .is_none());
        let keys_after: u64 = store
            .keys_by_master()
            .await
            .unwrap()
            .iter()
            .map(|k| k.1)
            .sum();
        assert_eq!(
            keys_after + 1,
            keys_before,
            "{backend}: the data key is destroyed"
        );
        assert!(
            store.customer(&cid("c2")).await.unwrap().is_some(),
            "others stay"
        );
        let erased = store
            .audit_entries(
                &AuditFilter {
                    action: Some("customer.erase".into()),
                    ..AuditFilter::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!(erased.len(), 1);
        assert_eq!(erased[0].entry.actor, "root");
        // The customer may come back as a new registration, with a new key.
        store
            .put_customer(&customer("c1"), &actor("app"), Utc::now())
            .await
            .unwrap();
        assert!(store.customer(&cid("c1")).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_master_key_rotation_rewraps_every_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = |b: u8| MasterKey::from_bytes(&[b; 32]).unwrap();
    let open = |ring: Keyring| {
        let path = dir.path().to_owned();
        async move {
            SeaStore::open(None, &path, Arc::new(ring))
                .await
                .map(|s| Arc::new(s) as Arc<dyn Store>)
        }
    };
    let old = open(Keyring::new(key(1), Vec::new())).await.unwrap();
    let customers: Vec<_> = (0..30).map(|i| customer(&format!("c{i:02}"))).collect();
    old.put_customers(&customers, &by(), Utc::now())
        .await
        .unwrap();
    old.ingest(&private_events("c00"), &by(), Utc::now())
        .await
        .unwrap();
    drop(old);
    // The new key alone cannot read what the old one wraps, and says which key it needs.
    let stranger = open(Keyring::new(key(2), Vec::new())).await.unwrap();
    let refused = stranger.customer(&cid("c07")).await.unwrap_err();
    assert!(refused.to_string().contains("not configured"), "{refused}");
    drop(stranger);
    // New key current, old key still accepted: everything reads; rotate.
    let rotating = open(Keyring::new(key(2), vec![key(1)])).await.unwrap();
    assert!(rotating.customer(&cid("c07")).await.unwrap().is_some());
    let mut moved = 0;
    loop {
        let n = rotating.rewrap_keys(7, &by()).await.unwrap();
        moved += n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(moved, 30);
    let by_master = rotating.keys_by_master().await.unwrap();
    assert_eq!(by_master.len(), 1, "{by_master:?}");
    drop(rotating);
    // The old key is gone: everything still reads under the new one alone.
    let after = open(Keyring::new(key(2), Vec::new())).await.unwrap();
    let history = after
        .history(&cid("c00"), DateTime::<Utc>::UNIX_EPOCH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(history.behaviour[0].query.as_ref().unwrap().as_str(), QUERY);
}
