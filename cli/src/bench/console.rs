//! `sextant bench console`: the server time of every console page on a demo's data (20,000
//! customers by default), against the aim of p95 < 100 ms.
//!
//! It opens the data folder a `sextant demo` left, serves it on a loopback port in this
//! process, signs in two bench accounts (an administrator, and a wealth manager given the
//! demo manager's clients so the client book is the real one), asks each page `requests`
//! times one after the other and reports p50, p95 and the maximum of the time to the last
//! byte (loopback HTTP included). The bench accounts are disabled at the end; everything it
//! does is in the audit trail like any other staff work.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use serde::Serialize;
use sextant_api::auth::Authenticator;
use sextant_api::config::{Config, Limits};
use sextant_api::startup::open_context;
use sextant_api::{AppState, Application};
use sextant_services::staff;
use sextant_store::{Actor, DecisionFilter};

use super::loadgen::percentile;
use crate::output::Report;

/// The aim of the issue: every page's p95 below this.
const AIM_P95_MS: f64 = 100.0;
/// Requests before measuring, so caches and engines are warm.
const WARMUP: usize = 3;
/// The demo's wealth manager, whose book the bench manager copies.
const DEMO_MANAGER: &str = "wm-01";

#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleBenchOptions {
    /// The data folder of a `sextant demo` run (default: the configured one).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Measured requests per page.
    #[arg(long, default_value_t = 40)]
    pub requests: usize,
}

#[derive(Debug, Serialize)]
pub struct PageTiming {
    pub page: String,
    pub path: String,
    pub requests: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub bytes: usize,
    pub meets_aim: bool,
}

#[derive(Debug, Serialize)]
pub struct ConsoleBench {
    pub data_dir: String,
    pub customers_profiled: u64,
    pub credit_decisions_recorded: u64,
    pub aim_p95_ms: f64,
    pub pages: Vec<PageTiming>,
    pub pages_meeting_aim: usize,
}

impl Report for ConsoleBench {
    fn print_table(&self) {
        println!(
            "console pages on {} ({} customers profiled, {} credit decisions); time to the last byte over loopback, sequential",
            self.data_dir, self.customers_profiled, self.credit_decisions_recorded
        );
        println!(
            "| page | path | requests | p50 ms | p95 ms | max ms | KiB | p95 < {:.0} ms |",
            self.aim_p95_ms
        );
        println!("|---|---|---|---|---|---|---|---|");
        for p in &self.pages {
            println!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {} |",
                p.page,
                p.path,
                p.requests,
                p.p50_ms,
                p.p95_ms,
                p.max_ms,
                p.bytes as f64 / 1024.0,
                if p.meets_aim { "yes" } else { "NO" }
            );
        }
        println!(
            "{} of {} pages meet the aim",
            self.pages_meeting_aim,
            self.pages.len()
        );
    }
}

/// A signed-in browser, as far as the bench needs one: the session cookie.
struct Session {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

fn hidden(page: &str, field: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = page
        .find(&marker)
        .context("no hidden field in the sign-in page")?
        + marker.len();
    Ok(page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned())
}

fn sign_in(base: &str, username: &str, password: &str) -> anyhow::Result<Session> {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent
        .get(&format!("{base}/console/login"))
        .call()?
        .into_string()?;
    let csrf = hidden(&page, "csrf")?;
    let answer = agent
        .post(&format!("{base}/console/login"))
        .set("cookie", &format!("sextant_login_csrf={csrf}"))
        .send_form(&[
            ("csrf", &csrf),
            ("username", username),
            ("password", password),
            ("next", "/console"),
        ]);
    let answer = match answer {
        Ok(a) => a,
        Err(ureq::Error::Status(status, _)) => {
            anyhow::bail!("signing in {username} answered {status}")
        }
        Err(e) => return Err(e.into()),
    };
    let cookie = answer
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("sextant_session="))
        .and_then(|c| c.split(';').next())
        .context("no session cookie after signing in")?
        .to_owned();
    Ok(Session {
        agent,
        base: base.to_owned(),
        cookie,
    })
}

fn time_page(
    session: &Session,
    page: &str,
    path: &str,
    requests: usize,
) -> anyhow::Result<PageTiming> {
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for i in 0..WARMUP + requests {
        let started = Instant::now();
        let answer = session
            .agent
            .get(&format!("{}{path}", session.base))
            .set("cookie", &session.cookie)
            .call()
            .with_context(|| format!("GET {path}"))?;
        anyhow::ensure!(
            answer.status() == 200,
            "GET {path} answered {}",
            answer.status()
        );
        let body = answer.into_string()?;
        // A fragment that is an error message measured nothing the page promises.
        anyhow::ensure!(
            !body.contains("class=\"error\""),
            "GET {path} answered an error: {body}"
        );
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if i >= WARMUP {
            times.push(elapsed);
            bytes = body.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let p95 = percentile(&times, 0.95);
    Ok(PageTiming {
        page: page.to_owned(),
        path: path.to_owned(),
        requests,
        p50_ms: percentile(&times, 0.5),
        p95_ms: p95,
        max_ms: times.last().copied().unwrap_or(0.0),
        bytes,
        meets_aim: p95 < AIM_P95_MS,
    })
}

pub async fn console(
    options: &ConsoleBenchOptions,
    mut config: Config,
) -> anyhow::Result<ConsoleBench> {
    config.data_dir = options.data_dir.clone().unwrap_or(config.data_dir);
    anyhow::ensure!(
        config.data_dir.join("sextant.db").exists() || config.database_url.is_some(),
        "no demo data in {}: run `sextant demo` first (the bench measures its data)",
        config.data_dir.display()
    );
    let ctx = open_context(&config)
        .await
        .context("opening the demo's data (stop a demo still serving it first)")?;
    let store = ctx.store.clone();
    let by = Actor::system("bench-console");
    let now = Utc::now();
    let (admin_password, manager_password) = (staff::random_password(), staff::random_password());
    for (username, role, password) in [
        ("bench-admin", "admin", &admin_password),
        ("bench-wm", "wealth_manager", &manager_password),
    ] {
        staff::reset_or_add(store.as_ref(), username, role, password, &by, now).await?;
    }
    let clients = store.clients_of(DEMO_MANAGER).await?;
    anyhow::ensure!(
        !clients.is_empty(),
        "the demo's wealth manager {DEMO_MANAGER} has no clients: run `sextant demo` first"
    );
    for c in &clients {
        store.assign_client("bench-wm", c, &by, now).await?;
    }
    let campaign = store
        .campaigns(Some("running"), 1)
        .await?
        .into_iter()
        .next()
        .context("no running campaign: run `sextant demo` first")?;
    let (decisions, decisions_total) = store
        .search_credit_decisions(&DecisionFilter::default(), 0, 1)
        .await?;
    let decision = decisions
        .first()
        .context("no credit decision on record: run `sextant demo` first")?;
    let customers_profiled = ctx.vectors.count().await?;
    let (cases, _) = store
        .cases(&sextant_store::CaseFilter::default(), 0, 1)
        .await?;
    let case = cases
        .first()
        .context("no monitoring case: run `sextant demo` first (its import raises alerts)")?
        .id
        .clone();

    let state = AppState::with_limits(ctx, Authenticator::development(), Limits::unthrottled());
    let app = Application::build("127.0.0.1:0".parse()?, state).await?;
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());

    let client = clients[0].to_string();
    let pages: Vec<(&str, String, bool)> = vec![
        ("campaigns", "/console/campaigns".into(), false),
        (
            "campaign and report",
            format!("/console/campaigns/{}", campaign.id),
            false,
        ),
        (
            "contact list",
            format!("/console/campaigns/{}/contacts", campaign.id),
            false,
        ),
        ("audiences", "/console/audiences".into(), false),
        (
            "rule check (as you type)",
            "/console/audiences/check?rule=savings_rate+%3E%3D+0.1".into(),
            false,
        ),
        (
            "audience preview",
            "/console/audiences/preview?rule=savings_rate+%3E%3D+0.1+and+consent.email+%3D+true"
                .into(),
            false,
        ),
        ("catalogue", "/console/catalogue".into(), false),
        (
            "product versions",
            "/console/catalogue/dep-term-12m".into(),
            false,
        ),
        ("segments and map", "/console/segments".into(), false),
        ("client book", "/console/clients".into(), true),
        ("client", format!("/console/clients/{client}"), true),
        ("monitoring cases", "/console/cases".into(), false),
        ("monitoring case", format!("/console/cases/{case}"), false),
        ("monitoring rules", "/console/rules".into(), false),
        ("credit decisions", "/console/decisions".into(), false),
        (
            "decisions, declined, page 3",
            "/console/decisions?outcome=declined&page=2".into(),
            false,
        ),
        (
            "decision",
            format!("/console/decisions/{}", decision.id),
            false,
        ),
        ("fairness", "/console/fairness".into(), false),
        ("model registry", "/console/models".into(), false),
        ("audit trail", "/console/audit".into(), false),
        (
            "audit trail, filtered",
            "/console/audit?action=customer.read".into(),
            false,
        ),
    ];
    let requests = options.requests.max(1);
    let measured = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<PageTiming>> {
        let admin = sign_in(&base, "bench-admin", &admin_password)?;
        let manager = sign_in(&base, "bench-wm", &manager_password)?;
        let mut out = Vec::new();
        for (name, path, as_manager) in &pages {
            eprintln!("  {name}: {path}");
            let session = if *as_manager { &manager } else { &admin };
            out.push(time_page(session, name, path, requests)?);
        }
        Ok(out)
    })
    .await?;
    server.abort();
    for username in ["bench-admin", "bench-wm"] {
        staff::set_disabled(store.as_ref(), username, true, &by, Utc::now()).await?;
    }
    let pages = measured?;
    Ok(ConsoleBench {
        data_dir: config.data_dir.display().to_string(),
        customers_profiled,
        credit_decisions_recorded: decisions_total,
        aim_p95_ms: AIM_P95_MS,
        pages_meeting_aim: pages.iter().filter(|p| p.meets_aim).count(),
        pages,
    })
}
