//! The staff console over `oneshot`: sign-in with its double-submit token, the session
//! cookie's attributes, lock-out after repeated failures, CSRF on every form, and the
//! role rules (403 for another role's pages, 404 for a customer outside a wealth
//! manager's book). The browser flows are in `tests/browser/` (real Chromium).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use sextant_services::staff;
use sextant_store::{Actor, AuditFilter};
use tower::ServiceExt;

use crate::common::{spawn_app, TestApp};

const PASSWORD: &str = "correct horse battery staple";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

async fn send(app: &TestApp, method: &str, uri: &str, cookie: &str, form: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    if form.is_some() {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    let mut request = request
        .body(form.map_or_else(Body::empty, |f| Body::from(f.to_owned())))
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40_000,
        ))));
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The value of `name="field" value="..."` in a page.
fn hidden(page: &str, field: &str) -> String {
    let marker = format!("name=\"{field}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {field} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn set_cookies(a: &Answer) -> Vec<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Tries to sign in; the answer and the session cookie (`name=value`) if one was set.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> (Answer, Option<String>) {
    let page = send(app, "GET", "/console/login", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = hidden(&page.text, "csrf");
    let login_cookie = format!("sextant_login_csrf={token}");
    let form = format!(
        "csrf={token}&username={username}&password={}&next=%2Fconsole",
        password.replace(' ', "+")
    );
    let answer = send(app, "POST", "/console/login", &login_cookie, Some(&form)).await;
    let session = set_cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("sextant_session="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    (answer, session)
}

async fn add(app: &TestApp, username: &str, role: &str) {
    staff::add(
        app.store.as_ref(),
        username,
        role,
        PASSWORD,
        &Actor::operator(),
        Utc::now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn signing_in_sets_a_strict_session_and_five_failures_lock_the_account() {
    let app = spawn_app().await;
    add(&app, "mia", "marketer").await;

    let (ok, session) = sign_in(&app, "mia", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.headers["location"], "/console");
    let cookie = set_cookies(&ok)
        .into_iter()
        .find(|c| c.starts_with("sextant_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: a Secure cookie would never come back"
    );
    let session = session.unwrap();
    let home = send(&app, "GET", "/console", &session, None).await;
    assert_eq!(
        home.headers["location"], "/console/campaigns",
        "a marketer's first page"
    );

    // Five wrong passwords lock the account; then even the right one is refused.
    for _ in 0..5 {
        let (refused, session) = sign_in(&app, "mia", "wrong password, clearly").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(session.is_none());
        assert!(refused.text.contains("Wrong username or password"));
    }
    let (locked, session) = sign_in(&app, "mia", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::UNAUTHORIZED,
        "locked for 15 minutes"
    );
    assert!(session.is_none());
    // An unknown name gets the same answer, so names cannot be probed.
    let (unknown, _) = sign_in(&app, "nobody", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.text.contains("Wrong username or password"),
        locked.text.contains("Wrong username or password")
    );
    let account = app.store.staff("mia").await.unwrap().unwrap();
    assert!(account.locked_at(Utc::now()));

    // A new password (sextant staff passwd) unlocks it and ends the old sessions.
    staff::set_password(
        app.store.as_ref(),
        "mia",
        "another long password",
        &Actor::operator(),
        Utc::now(),
    )
    .await
    .unwrap();
    let old = send(&app, "GET", "/console/campaigns", &home_cookie(&ok), None).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER, "the old session ended");
    let (again, session) = sign_in(&app, "mia", "another long password").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let session = session.unwrap();

    // Sign-out needs the form's token, then ends the session.
    let page = send(&app, "GET", "/console/campaigns", &session, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = hidden(&page.text, "csrf");
    let out = send(
        &app,
        "POST",
        "/console/logout",
        &session,
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = send(&app, "GET", "/console/campaigns", &session, None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/console/login?next="));

    // Every attempt is on record; no password is.
    let trail = app
        .store
        .audit_entries(&AuditFilter::default(), 0, 500)
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .filter(|e| e.entry.action.starts_with("staff."))
        .map(|e| (e.entry.action.as_str(), e.entry.outcome.as_str()))
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("staff.sign_in", "denied"))
            .count(),
        7
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("staff.sign_in", "ok"))
            .count(),
        2
    );
    assert!(
        actions.contains(&("staff.sign_out", "ok")) && actions.contains(&("staff.passwd", "ok"))
    );
    assert!(trail
        .iter()
        .all(|e| !e.entry.detail.contains("password") || e.entry.action == "staff.passwd"));
    assert!(trail.iter().all(|e| !e.entry.detail.contains(PASSWORD)));
}

fn home_cookie(answer: &Answer) -> String {
    set_cookies(answer)
        .into_iter()
        .find(|c| c.starts_with("sextant_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn every_form_needs_the_sessions_token() {
    let app = spawn_app().await;
    add(&app, "mia", "marketer").await;
    let (_, session) = sign_in(&app, "mia", PASSWORD).await;
    let session = session.unwrap();
    let page = send(&app, "GET", "/console/audiences", &session, None).await;
    let csrf = hidden(&page.text, "csrf");
    let form = |token: &str| format!("csrf={token}&id=savers&name=Savers&rule=age+%3E%3D+30");

    for forged in [
        form(&"0".repeat(64)),
        "id=savers&name=Savers&rule=age+%3E%3D+30".to_owned(),
    ] {
        let refused = send(&app, "POST", "/console/audiences", &session, Some(&forged)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.text.contains("This form has expired"));
    }
    assert!(
        app.store
            .audience_versions("savers")
            .await
            .unwrap()
            .is_empty(),
        "nothing saved"
    );

    // The sign-in form without its double-submit cookie is refused too.
    let login = send(
        &app,
        "POST",
        "/console/login",
        "",
        Some(&format!("csrf={csrf}&username=mia&password=x")),
    )
    .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);

    let saved = send(
        &app,
        "POST",
        "/console/audiences",
        &session,
        Some(&form(&csrf)),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(
        app.store.audience_versions("savers").await.unwrap().len(),
        1
    );

    // A syntax error is shown with its line and column, and nothing is saved.
    let bad = format!("csrf={csrf}&id=broken&name=Broken&rule=age+%3E%3D+and");
    let refused = send(&app, "POST", "/console/audiences", &session, Some(&bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("line 1, column"), "{}", refused.text);
    let check = send(
        &app,
        "GET",
        "/console/audiences/check?rule=age+%3E%3D+and",
        &session,
        None,
    )
    .await;
    assert!(check.text.contains("Line 1, column 8"), "{}", check.text);
}

#[tokio::test]
async fn the_console_enforces_the_apis_roles() {
    let app = spawn_app().await;
    add(&app, "mia", "marketer").await;
    add(&app, "wm-01", "wealth_manager").await;
    app.put_customer("c1").await;

    let anonymous = send(&app, "GET", "/console/campaigns", "", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.headers["location"],
        "/console/login?next=%2Fconsole%2Fcampaigns"
    );

    let (_, marketer) = sign_in(&app, "mia", PASSWORD).await;
    let marketer = marketer.unwrap();
    for page in [
        "/console/clients",
        "/console/decisions",
        "/console/audit",
        "/console/clients/c1",
    ] {
        let answer = send(&app, "GET", page, &marketer, None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{page}");
    }

    let (_, manager) = sign_in(&app, "wm-01", PASSWORD).await;
    let manager = manager.unwrap();
    let outside = send(&app, "GET", "/console/clients/c1", &manager, None).await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "not their client");
    let missing = send(&app, "GET", "/console/clients/c404", &manager, None).await;
    assert_eq!(
        missing.status,
        StatusCode::NOT_FOUND,
        "the same answer as a missing one"
    );
    app.store
        .assign_client(
            "wm-01",
            &sextant_domain::CustomerId::parse("c1").unwrap(),
            &Actor::operator(),
            Utc::now(),
        )
        .await
        .unwrap();
    let own = send(&app, "GET", "/console/clients/c1", &manager, None).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert!(own.text.contains("Risk profile"));
    let reads = app
        .store
        .audit_entries(
            &AuditFilter {
                actor: Some("wm-01".into()),
                action: Some("customer.read".into()),
                ..Default::default()
            },
            0,
            50,
        )
        .await
        .unwrap();
    assert!(
        reads.iter().any(|e| e.entry.object == "c1"),
        "the staff read is on record"
    );

    // Pages answer with the console's policy: its own script and style only.
    let csp = own.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_compliance_officer_works_a_monitoring_case_in_the_console() {
    let app = spawn_app().await;
    add(&app, "ana", "compliance").await;
    add(&app, "mia", "marketer").await;
    app.put_customer("c-1").await;
    // Six 1-euro card payments at three merchants in six minutes: card testing.
    let events: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            serde_json::json!({
                "type": "payment", "event_id": format!("t-{i}"), "customer_id": "c-1",
                "occurred_at": format!("2026-05-20T10:0{i}:00Z"), "amount_minor": 100,
                "currency": "EUR", "direction": "debit", "kind": "purchase", "channel": "online",
                "merchant_id": format!("m-{}", i % 3), "mcc": "5999", "country": "CZ",
                "card": {"bin": "411111", "last4": "1234"}
            })
        })
        .collect();
    let service = crate::common::token(sextant_api::auth::Role::Service, "app");
    let sent = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(crate::common::batch(&events)),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);

    let (answer, session) = sign_in(&app, "ana", PASSWORD).await;
    assert_eq!(
        answer.headers.get("location").unwrap(),
        "/console",
        "signed in"
    );
    let session = session.unwrap();
    let home = send(&app, "GET", "/console", &session, None).await;
    assert_eq!(home.headers.get("location").unwrap(), "/console/cases");
    let list = send(&app, "GET", "/console/cases", &session, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let start = list
        .text
        .find("href=\"/console/cases/case_")
        .expect("a case listed")
        + 6;
    let path = list.text[start..].split('"').next().unwrap().to_owned();
    let page = send(&app, "GET", &path, &session, None).await;
    assert!(page.text.contains("card_testing"), "{}", page.text);
    assert!(page.text.contains("t-4"), "raised on the fifth payment");
    let csrf = hidden(&page.text, "csrf");

    // A marketer cannot open it; a form without the token changes nothing.
    let (_, marketer) = sign_in(&app, "mia", PASSWORD).await;
    let refused = send(&app, "GET", &path, &marketer.unwrap(), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = send(
        &app,
        "POST",
        &format!("{path}/assign"),
        &session,
        Some("assignee=ana"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    for (action, form) in [
        ("assign", format!("csrf={csrf}&assignee=ana")),
        ("comment", format!("csrf={csrf}&text=card+reported+stolen")),
    ] {
        let done = send(
            &app,
            "POST",
            &format!("{path}/{action}"),
            &session,
            Some(&form),
        )
        .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.text
        );
    }
    let closed = send(
        &app,
        "POST",
        &format!("{path}/close"),
        &session,
        Some(&format!("csrf={csrf}&disposition=fraud&note=confirmed")),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    assert!(closed.text.contains("Case closed."));
    assert!(closed.text.contains("closed (fraud)"), "{}", closed.text);
    assert!(closed.text.contains("card reported stolen"));
    let again = send(
        &app,
        "POST",
        &format!("{path}/close"),
        &session,
        Some(&format!("csrf={csrf}&disposition=false_positive&note=no")),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "closed once");
    let closed_list = send(&app, "GET", "/console/cases?status=closed", &session, None).await;
    assert!(closed_list.text.contains(&path));

    let trail = app
        .store
        .audit_entries(&AuditFilter::default(), 0, 500)
        .await
        .unwrap();
    let reads = trail
        .iter()
        .filter(|e| e.entry.action == "monitoring.read" && e.entry.actor == "ana")
        .count();
    assert!(reads >= 3, "every page read is recorded: {reads}");
}

/// Form encoding of a value: letters and digits as they are, everything else escaped.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_compliance_officer_writes_backtests_and_promotes_a_rule() {
    let app = spawn_app().await;
    add(&app, "ana", "compliance").await;
    app.put_customer("c-1").await;
    let events: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            serde_json::json!({
                "type": "payment", "event_id": format!("p-{i}"), "customer_id": "c-1",
                "occurred_at": format!("2026-05-20T10:0{i}:00Z"), "amount_minor": 90_000,
                "currency": "EUR", "direction": "debit", "kind": "transfer_out",
                "channel": "online", "country": "CZ"
            })
        })
        .collect();
    let service = crate::common::token(sextant_api::auth::Role::Service, "app");
    let sent = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(crate::common::batch(&events)),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let (_, session) = sign_in(&app, "ana", PASSWORD).await;
    let session = session.unwrap();
    let page = send(&app, "GET", "/console/rules", &session, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("No rule yet"), "{}", page.text);
    let csrf = hidden(&page.text, "csrf");

    // A rule that does not parse: refused with its line and column, the form kept.
    let typo = "sum(amount, 1h, direction = out) > 2000\nand cuont(payments, 1h) >= 3";
    let refused = send(
        &app,
        "POST",
        "/console/rules",
        &session,
        Some(&format!(
            "csrf={csrf}&rule_id=outflow&source={}&description=big+outflows&mode=shadow&severity=0.6&cooldown_minutes=60",
            encoded(typo)
        )),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("line 2, column 5"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("cuont(payments, 1h)"),
        "the typed rule is kept"
    );

    // Fixed and saved in shadow: it reads the payments sent from now on.
    let rule = "sum(amount, 1h, direction = out) > 2000 and count(payments, 1h) >= 3";
    let saved = send(
        &app,
        "POST",
        "/console/rules",
        &session,
        Some(&format!(
            "csrf={csrf}&rule_id=outflow&source={}&description=big+outflows&mode=shadow&severity=0.6&cooldown_minutes=60",
            encoded(rule)
        )),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert!(saved.text.contains("Saved outflow version 1 (shadow)"));

    // The backtest over the stored history: the third transfer fires, the cooldown quiets
    // the next two.
    let ran = send(
        &app,
        "POST",
        "/console/rules/backtest",
        &session,
        Some(&format!(
            "csrf={csrf}&source={}&cooldown_minutes=60",
            encoded(rule)
        )),
    )
    .await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.text);
    assert!(
        ran.text.contains("Alerts it would have raised"),
        "{}",
        ran.text
    );
    assert!(ran.text.contains("<code>p-2</code>"), "{}", ran.text);

    // Promoted to live.
    let promoted = send(
        &app,
        "POST",
        "/console/rules/mode",
        &session,
        Some(&format!("csrf={csrf}&rule_id=outflow&version=1&mode=live")),
    )
    .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.text);
    let page = send(&app, "GET", "/console/rules", &session, None).await;
    assert!(page.text.contains("badge high\">live"), "{}", page.text);
    let read = app
        .store
        .audit_entries(
            &AuditFilter {
                action: Some("monitoring.rule.mode".into()),
                ..AuditFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
}
