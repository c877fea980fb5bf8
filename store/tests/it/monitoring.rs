//! Monitoring: alerts filed into one open case per customer (once per payment and source),
//! an analyst's changes with their notes and audit entries, a closed case staying closed,
//! the payments a state is rebuilt from, and assessments read back as recorded.

use chrono::{Duration, TimeZone, Utc};
use sextant_domain::{Event, PaymentEvent};
use sextant_store::{
    AuditFilter, CaseChange, CaseFilter, NewAlert, NewPaymentAssessment, Store, StoreError,
};

use crate::common::*;

fn alert(id: &str, customer: &str, source: &str, event: Option<&str>, score: f64) -> NewAlert {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 30, 0).unwrap();
    NewAlert {
        id: id.into(),
        customer_id: cid(customer),
        source: source.into(),
        score,
        reason: format!("{source} on {event:?}"),
        event_id: event.map(Into::into),
        assessment_id: event.is_none().then(|| "pa_1".to_owned()),
        occurred_at: at,
        raised_at: Utc::now(),
    }
}

#[tokio::test]
async fn alerts_gather_into_cases_that_analysts_work_and_close() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let filed = store
            .record_alerts(
                &[
                    alert("al_a1", "c-1", "card_testing", Some("e-1"), 0.7),
                    alert("al_a2", "c-1", "velocity_spike", Some("e-1"), 0.5),
                    alert("al_b1", "c-2", "structuring", Some("e-9"), 0.9),
                    // The same payment and source again in the batch: left out.
                    alert("al_a3", "c-1", "card_testing", Some("e-1"), 0.8),
                    alert("al_a4", "c-1", "card_testing", None, 0.95),
                ],
                &by(),
            )
            .await
            .unwrap();
        assert_eq!((filed.stored, filed.cases_opened), (4, 2), "{backend}");
        // Filed again (a retried import): nothing new.
        let again = store
            .record_alerts(
                &[alert("al_a5", "c-1", "card_testing", Some("e-1"), 0.7)],
                &by(),
            )
            .await
            .unwrap();
        assert_eq!(again.stored, 0, "{backend}");

        let (open, total) = store
            .cases(
                &CaseFilter {
                    status: Some("open".into()),
                    ..CaseFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(total, 2, "{backend}");
        let c1 = open.iter().find(|c| c.customer_id == cid("c-1")).unwrap();
        assert_eq!(c1.id, "case_a1", "{backend}: named after its first alert");
        assert_eq!((c1.alerts, c1.max_score), (3, 0.95), "{backend}");

        // Assign, comment, close: each a note and an audit entry.
        let analyst = actor("ana");
        store
            .update_case(
                &c1.id,
                &CaseChange::Assign(Some("ana".into())),
                &analyst,
                Utc::now(),
            )
            .await
            .unwrap()
            .unwrap();
        store
            .update_case(
                &c1.id,
                &CaseChange::Comment("card seen on a forum".into()),
                &analyst,
                Utc::now(),
            )
            .await
            .unwrap();
        let closed = store
            .update_case(
                &c1.id,
                &CaseChange::Close {
                    disposition: "fraud".into(),
                    note: "customer confirmed".into(),
                },
                &analyst,
                Utc::now(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                closed.status.as_str(),
                closed.disposition.as_deref(),
                closed.assignee.as_deref()
            ),
            ("closed", Some("fraud"), Some("ana")),
            "{backend}"
        );
        assert!(closed.closed_at.is_some());
        let again = store
            .update_case(
                &c1.id,
                &CaseChange::Close {
                    disposition: "false_positive".into(),
                    note: "no".into(),
                },
                &analyst,
                Utc::now(),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{backend}: closed stays closed"
        );
        assert!(store
            .update_case(
                "case_none",
                &CaseChange::Comment("x".into()),
                &analyst,
                Utc::now()
            )
            .await
            .unwrap()
            .is_none());

        // The closed case's alerted payment is a label; the open case's and the alert
        // without a payment are not.
        assert_eq!(
            store.disposed_alert_events().await.unwrap(),
            vec![("e-1".to_owned(), "fraud".to_owned()); 2],
            "{backend}: one per alert of the closed case on a payment"
        );

        let (case, alerts, notes) = store.case(&c1.id).await.unwrap().unwrap();
        assert_eq!(case.status, "closed");
        assert_eq!(alerts.len(), 3, "{backend}");
        assert!(alerts.iter().all(|a| a.case_id == c1.id));
        let kinds: Vec<&str> = notes.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(kinds, ["assigned", "comment", "closed"], "{backend}");
        assert_eq!(notes[2].text, "fraud: customer confirmed");
        assert_eq!(notes[0].actor, "test:ana");

        // A new alert after the closing opens a new case.
        let later = store
            .record_alerts(
                &[alert("al_a6", "c-1", "pass_through", Some("e-2"), 0.6)],
                &by(),
            )
            .await
            .unwrap();
        assert_eq!(later.cases_opened, 1, "{backend}");
        let (mine, total) = store
            .cases(
                &CaseFilter {
                    customer: Some(cid("c-1")),
                    ..CaseFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(total, 2, "{backend}");
        assert_eq!(
            mine[0].id, "case_a6",
            "{backend}: the most recently updated first"
        );
        let (assigned, _) = store
            .cases(
                &CaseFilter {
                    assignee: Some("ana".into()),
                    ..CaseFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(assigned.len(), 1);

        let trail = store
            .audit_entries(&AuditFilter::default(), 0, 500)
            .await
            .unwrap();
        let count = |action: &str| trail.iter().filter(|e| e.entry.action == action).count();
        assert_eq!(count("monitoring.alert"), 5, "{backend}");
        assert_eq!(count("monitoring.case.assign"), 1);
        assert_eq!(count("monitoring.case.comment"), 1);
        assert_eq!(count("monitoring.case.close"), 1);
    }
}

#[tokio::test]
async fn states_are_rebuilt_from_payments_and_assessments_read_back_as_recorded() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let now = Utc::now();
        for id in ["c-1", "c-2", "c-3"] {
            store.put_customer(&customer(id), &by(), now).await.unwrap();
        }
        let mut events = Vec::new();
        for (i, customer) in ["c-2", "c-1", "c-2", "c-3"].iter().enumerate() {
            let Event::Payment(mut p) = payment(&format!("e-{i}"), customer, 1_000) else {
                unreachable!()
            };
            p.occurred_at -= Duration::days(i as i64);
            events.push(Event::Payment(p));
        }
        store.ingest(&events, &by(), now).await.unwrap();
        let since = Utc.with_ymd_and_hms(2026, 4, 29, 0, 0, 0).unwrap();
        let found: Vec<PaymentEvent> = store
            .payments_since(&[cid("c-2"), cid("c-1"), cid("c-3")], since)
            .await
            .unwrap();
        let order: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.customer_id.as_str(), p.event_id.as_str()))
            .collect();
        // By customer, oldest first; c-3's payment (2026-04-28) is before `since`.
        assert_eq!(
            order,
            [("c-1", "e-1"), ("c-2", "e-2"), ("c-2", "e-0")],
            "{backend}"
        );

        let assessment = NewPaymentAssessment {
            id: "pa_1".into(),
            customer_id: cid("c-1"),
            created_at: Utc.timestamp_millis_opt(1_780_000_000_123).unwrap(),
            actor: "svc".into(),
            policy_version: "monitoring-policy-1".into(),
            verdict: "block".into(),
            score: 0.912345,
            inputs: r#"{"payment":{"amount_minor":100},"state":[1,2,3]}"#.into(),
            output: serde_json::json!({"verdict": "block", "score": 0.912345}),
        };
        store
            .record_payment_assessment(&assessment, None, &by())
            .await
            .unwrap();
        assert_eq!(
            store.payment_assessment("pa_1").await.unwrap(),
            Some(assessment),
            "{backend}"
        );
        assert!(store.payment_assessment("pa_2").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn monitoring_models_are_versioned_and_the_newest_activation_scores() {
    use sextant_store::StoredMonitoringModel;
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        assert!(store.active_monitoring_model().await.unwrap().is_none());
        let model = |version: &str| StoredMonitoringModel {
            version: version.into(),
            created_at: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
            actor: "system:test".into(),
            metrics: serde_json::json!({"roc_auc": 0.97}),
            artifact: format!("{{\"trees\": \"{version}\"}}"),
        };
        let before = store.monitoring_stamp().await.unwrap();
        assert_eq!(before.model_activation, None, "{backend}");
        store
            .put_monitoring_model(&model("mm-1"), true, &by())
            .await
            .unwrap();
        store
            .put_monitoring_model(&model("mm-2"), false, &by())
            .await
            .unwrap();
        assert_eq!(
            store.active_monitoring_model().await.unwrap(),
            Some(model("mm-1")),
            "{backend}: a version stored without activation does not score"
        );
        // Activating a stored version moves the stamp other processes watch; an unknown
        // version is not activated.
        let stamp = store.monitoring_stamp().await.unwrap();
        assert!(stamp.model_activation.is_some(), "{backend}");
        assert!(!store
            .activate_monitoring_model("mm-9", &by(), Utc::now())
            .await
            .unwrap());
        assert_eq!(store.monitoring_stamp().await.unwrap(), stamp, "{backend}");
        assert!(store
            .activate_monitoring_model("mm-2", &by(), Utc::now())
            .await
            .unwrap());
        assert_ne!(
            store.monitoring_stamp().await.unwrap().model_activation,
            stamp.model_activation,
            "{backend}"
        );
        assert_eq!(
            store
                .active_monitoring_model()
                .await
                .unwrap()
                .unwrap()
                .version,
            "mm-2"
        );
        store
            .activate_monitoring_model("mm-1", &by(), Utc::now())
            .await
            .unwrap();
        store
            .put_monitoring_model(&model("mm-2"), true, &by())
            .await
            .unwrap();
        assert_eq!(
            store
                .active_monitoring_model()
                .await
                .unwrap()
                .unwrap()
                .version,
            "mm-2",
            "{backend}"
        );
        assert_eq!(
            store.monitoring_model("mm-1").await.unwrap(),
            Some(model("mm-1"))
        );
        assert!(store.monitoring_model("mm-9").await.unwrap().is_none());
        let registry = store.model_registry().await.unwrap();
        let ours: Vec<(&str, bool)> = registry
            .iter()
            .filter(|m| m.family == "monitoring_model")
            .map(|m| (m.version.as_str(), m.active))
            .collect();
        assert_eq!(ours.len(), 2, "{backend}");
        assert!(ours.contains(&("mm-2", true)) && ours.contains(&("mm-1", false)));
        let audited = store
            .audit_entries(
                &AuditFilter {
                    action: Some("monitoring_model.activate".into()),
                    ..AuditFilter::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!(audited.len(), 4, "{backend}: each activation audited");
    }
}

/// Two processes (two stores on one PostgreSQL database) file a new customer's first alerts
/// at the same moment, twenty times: every customer ends with one open case. SQLite writers
/// are serialised by the database, so this runs on PostgreSQL only.
#[tokio::test]
async fn two_processes_filing_a_customers_first_alerts_open_one_case() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let test = postgres_store(&admin).await;
    let other = sextant_store::SeaStore::open_signed(
        test.url.as_deref(),
        std::path::Path::new("."),
        std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral()),
        Some(audit_signer()),
    )
    .await
    .unwrap();
    let (one, two): (&dyn Store, &dyn Store) = (test.store.as_ref(), &other);
    for round in 0..20 {
        let customer = format!("c-race-{round}");
        one.put_customer(
            &crate::common::customer(&customer),
            &actor("app"),
            Utc::now(),
        )
        .await
        .unwrap();
        let first = [alert(
            &format!("al_a{round}"),
            &customer,
            "card_testing",
            Some(&format!("e-a{round}")),
            0.9,
        )];
        let second = [alert(
            &format!("al_b{round}"),
            &customer,
            "model",
            Some(&format!("e-b{round}")),
            0.8,
        )];
        let filer = by();
        let (a, b) = tokio::join!(
            one.record_alerts(&first, &filer),
            two.record_alerts(&second, &filer)
        );
        let opened = a.unwrap().cases_opened + b.unwrap().cases_opened;
        let (cases, total) = one
            .cases(
                &CaseFilter {
                    status: Some("open".into()),
                    customer: Some(cid(&customer)),
                    ..CaseFilter::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!((opened, total), (1, 1), "round {round}: {cases:?}");
        assert_eq!(cases[0].alerts, 2, "round {round}");
    }
}
