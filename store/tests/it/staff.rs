//! Staff accounts and sessions: lock-out counting, session lapse (idle and absolute),
//! disabling and password changes ending sessions, and every change on record.

use chrono::{Duration, Utc};
use sextant_store::{AuditFilter, LockPolicy, StaffAccount, StaffSession};

use crate::common::*;

const POLICY: LockPolicy = LockPolicy {
    max_failures: 3,
    lock_for: Duration::minutes(15),
};

fn account(username: &str, role: &str) -> StaffAccount {
    let now = Utc::now();
    StaffAccount {
        username: username.into(),
        role: role.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        failed_attempts: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    }
}

fn session(token_hash: &str, username: &str, at: chrono::DateTime<Utc>) -> StaffSession {
    StaffSession {
        token_hash: token_hash.into(),
        username: username.into(),
        csrf_token: format!("csrf-of-{token_hash}"),
        created_at: at,
        last_seen: at,
        expires_at: at + Duration::hours(8),
    }
}

#[tokio::test]
async fn failures_lock_and_sessions_end_when_they_should() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let now = Utc::now();
        assert!(store
            .add_staff(&account("ana", "compliance"), &by(), now)
            .await
            .unwrap());
        assert!(
            !store
                .add_staff(&account("ana", "admin"), &by(), now)
                .await
                .unwrap(),
            "{backend}: names are unique"
        );
        assert_eq!(
            store.staff("ana").await.unwrap().unwrap().role,
            "compliance"
        );

        // Failures count up to the lock; an unknown name is recorded but changes nothing.
        for n in 1..=3u32 {
            let a = store
                .staff_sign_in_failed("ana", POLICY, &by(), now)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(a.failed_attempts, n, "{backend}");
            assert_eq!(
                a.locked_at(now),
                n == 3,
                "{backend}: locked at the third failure"
            );
        }
        assert!(store
            .staff_sign_in_failed("ghost", POLICY, &by(), now)
            .await
            .unwrap()
            .is_none());
        // After the lock lapses the count starts again.
        let later = now + Duration::minutes(16);
        let a = store
            .staff_sign_in_failed("ana", POLICY, &by(), later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.failed_attempts, a.locked_at(later)),
            (1, false),
            "{backend}"
        );

        // A session opens (clearing failures), is found, lapses when idle or past its end.
        store
            .open_staff_session(&session("h1", "ana", now), &actor("ana"))
            .await
            .unwrap();
        assert_eq!(
            store.staff("ana").await.unwrap().unwrap().failed_attempts,
            0,
            "{backend}"
        );
        let idle = Duration::minutes(30);
        let live = store
            .staff_session("h1", idle, now + Duration::minutes(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                live.account.username.as_str(),
                live.session.csrf_token.as_str()
            ),
            ("ana", "csrf-of-h1")
        );
        assert!(
            store
                .staff_session("h1", idle, now + Duration::minutes(50))
                .await
                .unwrap()
                .is_none(),
            "{backend}: idle too long"
        );
        assert!(
            store
                .staff_session("h1", idle, now)
                .await
                .unwrap()
                .is_none(),
            "{backend}: a lapsed session is gone"
        );
        store
            .open_staff_session(&session("h2", "ana", now), &actor("ana"))
            .await
            .unwrap();
        let mut t = now;
        while t < now + Duration::hours(8) {
            t += Duration::minutes(20);
            if store.staff_session("h2", idle, t).await.unwrap().is_none() {
                break;
            }
        }
        assert!(
            t >= now + Duration::hours(8),
            "{backend}: active sessions still end after 8 hours"
        );

        // Disabling ends every session; a new password does too.
        store
            .open_staff_session(&session("h3", "ana", now), &actor("ana"))
            .await
            .unwrap();
        assert!(store
            .set_staff_disabled("ana", true, &by(), now)
            .await
            .unwrap());
        assert!(
            store
                .staff_session("h3", idle, now)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert!(store
            .set_staff_disabled("ana", false, &by(), now)
            .await
            .unwrap());
        store
            .open_staff_session(&session("h4", "ana", now), &actor("ana"))
            .await
            .unwrap();
        assert!(store
            .set_staff_password("ana", "$argon2id$new", &by(), now)
            .await
            .unwrap());
        assert!(
            store
                .staff_session("h4", idle, now)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        assert_eq!(
            store.staff("ana").await.unwrap().unwrap().password_hash,
            "$argon2id$new"
        );
        assert!(!store
            .set_staff_password("ghost", "$x", &by(), now)
            .await
            .unwrap());

        // Sign-out ends one session and is recorded.
        store
            .open_staff_session(&session("h5", "ana", now), &actor("ana"))
            .await
            .unwrap();
        assert!(store
            .close_staff_session("h5", &actor("ana"), now)
            .await
            .unwrap());
        assert!(!store
            .close_staff_session("h5", &actor("ana"), now)
            .await
            .unwrap());

        let trail = store
            .audit_entries(&AuditFilter::default(), 0, 500)
            .await
            .unwrap();
        let staff: Vec<(String, String, String)> = trail
            .iter()
            .filter(|e| e.entry.action.starts_with("staff."))
            .map(|e| {
                (
                    e.entry.action.clone(),
                    e.entry.object.clone(),
                    e.entry.outcome.clone(),
                )
            })
            .collect();
        let count = |action: &str, outcome: &str| {
            staff
                .iter()
                .filter(|(a, _, o)| a == action && o == outcome)
                .count()
        };
        assert_eq!(
            count("staff.add", "ok"),
            1,
            "{backend}: a refused duplicate changes nothing"
        );
        assert_eq!(count("staff.sign_in", "denied"), 5, "{backend}");
        assert_eq!(count("staff.sign_in", "ok"), 5, "{backend}");
        assert_eq!(
            (count("staff.disable", "ok"), count("staff.enable", "ok")),
            (1, 1),
            "{backend}"
        );
        assert_eq!(count("staff.passwd", "ok"), 1, "{backend}");
        assert_eq!(count("staff.sign_out", "ok"), 1, "{backend}");
        assert!(
            staff
                .iter()
                .any(|(a, o, _)| a == "staff.sign_in" && o == "ghost"),
            "{backend}"
        );
        assert!(
            trail.iter().all(|e| !e.entry.detail.contains("argon2")),
            "{backend}: no hash in the trail"
        );
    }
}
