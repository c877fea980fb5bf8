//! End-to-end: the real `sextant` binary generates a population, imports it (twice), serves
//! it, and answers over a real socket. Also the CLI's error reporting and the demo.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{json, Value};

mod support;
use support::sextant;

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = sextant().args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = sextant()
        .args([
            "serve",
            "--dev",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            "data",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line}"
    );
    Server { child, base }
}

fn get(url: &str, token: &str) -> (u16, Value) {
    match ureq::get(url)
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn generate_import_twice_and_serve() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, _, err) = run(
        &[
            "generate",
            "--customers",
            "120",
            "--months",
            "3",
            "--seed",
            "5",
            "--out",
            "pop",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let payments = count_lines(&dir.join("pop/payments.jsonl"));
    let behaviour = count_lines(&dir.join("pop/behaviour.jsonl"));
    assert_eq!(count_lines(&dir.join("pop/customers.jsonl")), 120);
    assert_eq!(count_lines(&dir.join("pop/ground_truth.jsonl")), 120);
    assert!(
        payments > 120 * 3 * 5,
        "a realistic volume of payments: {payments}"
    );

    // Deterministic: the same seed writes the same bytes.
    run(
        &[
            "generate",
            "--customers",
            "120",
            "--months",
            "3",
            "--seed",
            "5",
            "--out",
            "pop2",
        ],
        dir,
    );
    assert_eq!(
        std::fs::read(dir.join("pop/payments.jsonl")).unwrap(),
        std::fs::read(dir.join("pop2/payments.jsonl")).unwrap()
    );

    let (code, out, err) = run(&["import", "pop", "--data-dir", "data"], dir);
    assert_eq!(code, 0, "{out}\n{err}");
    let stored_column = |out: &str, file: &str, col: usize| -> u64 {
        let row = out
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("no {file} row in {out}"));
        row.split_whitespace().nth(col).unwrap().parse().unwrap()
    };
    assert_eq!(stored_column(&out, "payments", 2), payments as u64);
    // The purchases earned loyalty points as they were stored.
    let loyalty_figure = |out: &str, word: &str| -> i64 {
        let line = out
            .lines()
            .find(|l| l.starts_with("loyalty: ") && l.contains("purchases earned"))
            .unwrap_or_else(|| panic!("no loyalty line in {out}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().rposition(|w| *w == word).unwrap();
        words[at - 1].trim_start_matches('(').parse().unwrap()
    };
    let earned = loyalty_figure(&out, "purchases");
    assert!(earned > 120, "most customers buy something: {out}");
    assert!(loyalty_figure(&out, "points;") > earned, "{out}");
    // A second run (as after an interruption) stores nothing twice, and earns nothing twice.
    let (code, out, _) = run(&["import", "pop", "--data-dir", "data"], dir);
    assert_eq!(code, 0);
    assert_eq!(stored_column(&out, "payments", 2), 0);
    assert_eq!(stored_column(&out, "payments", 3), payments as u64);
    assert_eq!(stored_column(&out, "behaviour", 3), behaviour as u64);
    assert_eq!(loyalty_figure(&out, "purchases"), 0, "{out}");
    assert!(loyalty_figure(&out, "already") >= earned, "{out}");
    // The catch-up job finds nothing missing either.
    let (code, report, err) = run(&["loyalty", "earn", "--data-dir", "data", "--json"], dir);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["earned"], 0, "{report}");
    assert!(
        report["already_posted"].as_i64().unwrap() >= earned,
        "{report}"
    );

    let server = serve(dir);
    let (_, token, _) = run(&["token", "--role", "customer", "--sub", "c0000001"], dir);
    let token = token.trim();
    let (status, me) = get(&format!("{}/v1/customers/c0000001", server.base), token);
    assert_eq!(status, 200, "{me}");
    let (status, _) = get(&format!("{}/v1/customers/c0000002", server.base), token);
    assert_eq!(status, 404, "another customer is invisible");
    let (status, page) = get(
        &format!("{}/v1/customers/c0000001/payments?limit=5", server.base),
        token,
    );
    assert_eq!(status, 200);
    assert_eq!(page["payments"].as_array().unwrap().len(), 5);
    let (status, spec) = get(&format!("{}/openapi.json", server.base), token);
    assert_eq!(status, 200);
    assert!(spec["paths"]["/v1/events"]["post"].is_object());

    // POST /v1/events takes the very lines `generate` wrote.
    let (_, service, _) = run(&["token", "--role", "service", "--sub", "app"], dir);
    let lines: Vec<String> = std::fs::read_to_string(dir.join("pop/behaviour.jsonl"))
        .unwrap()
        .lines()
        .take(3)
        .map(str::to_owned)
        .collect();
    let receipt: Value = ureq::post(&format!("{}/v1/events", server.base))
        .set("Authorization", &format!("Bearer {}", service.trim()))
        .send_string(&format!("{{\"events\":[{}]}}", lines.join(",")))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(receipt["duplicates"], 3, "{receipt}");
}

#[test]
fn a_malformed_line_is_named_and_the_rest_still_lands() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::create_dir(dir.join("in")).unwrap();
    let customer = r#"{"id":"c1","birth_year":1980,"region":"brno","occupation":"employed","kyc_status":"verified"}"#;
    std::fs::write(dir.join("in/customers.jsonl"), format!("{customer}\n")).unwrap();
    let good = r#"{"type":"payment","event_id":"p1","customer_id":"c1","occurred_at":"2026-05-01T12:30:00Z","amount_minor":1250,"currency":"EUR","direction":"debit","kind":"purchase","channel":"in_store","mcc":"5411","country":"CZ"}"#;
    let bad_currency = good.replace("p1", "p2").replace("EUR", "XXX");
    let broken = r#"{"type":"payment","event_id":"p3","#;
    let mut file = std::fs::File::create(dir.join("in/payments.jsonl")).unwrap();
    writeln!(file, "{good}\n{bad_currency}\n{broken}").unwrap();

    let (code, out, err) = run(&["import", "in", "--data-dir", "data"], dir);
    assert_eq!(code, 1, "rejected lines make the command fail");
    let currency_col = bad_currency.find("\"currency\"").unwrap() + 1;
    assert!(
        err.contains(&format!(
            "payments.jsonl:2:{currency_col}: field `currency`"
        )),
        "{err}"
    );
    assert!(
        err.contains("payments.jsonl:3:") && err.contains("[invalid_json]"),
        "{err}"
    );
    let row = out.lines().find(|l| l.starts_with("payments")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        (cols[2], cols[4]),
        ("1", "2"),
        "one stored, two rejected: {row}"
    );

    // CSV goes through the same parser; its column is the field's position.
    std::fs::write(dir.join("in/payments.jsonl"), "").unwrap();
    std::fs::write(
        dir.join("in/payments-extra.csv"),
        "event_id,customer_id,occurred_at,amount_minor,currency,direction,kind,channel,mcc,country,card.bin,card.last4\n\
         p9,c1,2026-05-02T10:00:00Z,500,EUR,debit,purchase,online,5999,CZ,411111,1234\n\
         p10,c1,2026-05-02T11:00:00Z,-5,EUR,debit,purchase,online,5999,CZ,,\n",
    )
    .unwrap();
    let (code, _, err) = run(&["import", "in", "--data-dir", "data"], dir);
    assert_eq!(code, 1);
    assert!(
        err.contains("payments-extra.csv:3:4: field `amount_minor`"),
        "{err}"
    );
}

#[test]
fn the_cli_explains_bad_arguments() {
    let work = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["token", "--role", "pilot", "--sub", "x"], work.path());
    assert_ne!(code, 0);
    assert!(err.contains("--role") && err.contains("customer"), "{err}");
    let (code, _, err) = run(&["import", "nothing-here.jsonl"], work.path());
    assert_ne!(code, 0);
    assert!(err.contains("cannot tell what"), "{err}");
}

#[test]
fn serve_fails_closed_without_a_key() {
    let work = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["serve", "--addr", "127.0.0.1:0"], work.path());
    assert_eq!(code, 1);
    assert!(err.contains("no master key is configured"), "{err}");
    let out = sextant()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env(
            "SEXTANT_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .current_dir(work.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no audit key is configured"), "{err}");
    let out = sextant()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env(
            "SEXTANT_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("SEXTANT_AUDIT_KEY_FILE", "audit.key")
        .current_dir(work.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no token key is configured"), "{err}");
    let (code, _, err) = run(&["serve", "--dev", "--addr", "0.0.0.0:0"], work.path());
    assert_eq!(code, 1);
    assert!(err.contains("only on a loopback address"), "{err}");
    let out = sextant()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env(
            "SEXTANT_MASTER_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("SEXTANT_AUDIT_KEY_FILE", "audit.key")
        .env("SEXTANT_JWT_HS256_SECRET", "")
        .current_dir(work.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at least 32 bytes"),
        "an empty secret is refused: {err}"
    );
}

#[test]
fn the_demo_prepares_everything_and_prints_tokens() {
    let work = tempfile::tempdir().unwrap();
    let (code, out, err) = run(
        &[
            "demo",
            "--customers",
            "300",
            "--months",
            "3",
            "--data-dir",
            "d",
            "--addr",
            "127.0.0.1:0",
            "--no-serve",
            "--epochs",
            "3",
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("/docs") && out.contains("wealth_manager"),
        "{out}"
    );
    assert!(
        out.contains("trained embedding-") && out.contains("segments:"),
        "profiles, the embedding model and segments are made: {out}"
    );
    assert!(
        out.contains("customers advised") && out.contains("above the customer's level: 0"),
        "every customer gets a suitable proposal: {out}"
    );
    assert!(
        out.contains("instalment quote of 600.00 EUR")
            && out.contains("replay")
            && out.contains(": identical"),
        "the demo decides quotes and replays one: {out}"
    );
    assert!(
        out.contains("breaches: suitability 0, consent 0, held 0")
            && out.contains("a repeated launch changed nothing"),
        "every customer's offers are suitable and consented, and a launch happens once: {out}"
    );
    assert!(
        out.contains("customers hold points;")
            && out.contains("off an instalment fee")
            && out.contains("| all |"),
        "the population earned points, spent some, and the liability is shown: {out}"
    );
    // A second demo reuses what is there.
    let (code, out, _) = run(
        &[
            "demo",
            "--customers",
            "300",
            "--months",
            "3",
            "--data-dir",
            "d",
            "--addr",
            "127.0.0.1:0",
            "--no-serve",
            "--epochs",
            "3",
        ],
        work.path(),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("reusing")
            && out.contains("already imported")
            && out.contains("profiles and the embedding model are in place")
            && out.contains("an offer model is active")
            && out.contains("a repeated launch changed nothing"),
        "{out}"
    );
}

/// Daily prices of four assets with different drifts and wiggles, and a gap before the
/// fourth is listed.
fn write_prices(path: &Path, bad_cell: bool) {
    let mut text = String::from("date,AAA,BBB,CCC,DDD\n");
    let mut prices = [100.0f64, 50.0, 20.0, 10.0];
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for day in 0..400u32 {
        for (j, p) in prices.iter_mut().enumerate() {
            let j = j as f64;
            *p *= 1.0 + 0.0003 * (j + 1.0) + 0.01 * (f64::from(day) * (j + 1.0) * 0.7 + j).sin();
        }
        let date = start + chrono::Duration::days(i64::from(day));
        let fourth = if day < 30 {
            String::new()
        } else {
            format!("{:.4}", prices[3])
        };
        let second = if bad_cell && day == 3 {
            "abc".to_owned()
        } else {
            format!("{:.4}", prices[1])
        };
        text.push_str(&format!(
            "{date},{:.4},{second},{:.4},{fourth}\n",
            prices[0], prices[2]
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn portfolio_commands_print_weights_and_name_what_is_wrong() {
    let work = tempfile::tempdir().unwrap();
    write_prices(&work.path().join("prices.csv"), false);
    let (code, out, err) = run(
        &[
            "portfolio",
            "optimise",
            "--prices",
            "prices.csv",
            "--method",
            "max-sharpe",
            "--json",
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    let total: f64 = result["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["weight"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-6, "{out}");
    assert!(result["sharpe"].as_f64().is_some());

    let (code, out, _) = run(
        &[
            "portfolio",
            "optimise",
            "--prices",
            "prices.csv",
            "--method",
            "hrp",
        ],
        work.path(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("annual volatility"), "{out}");

    let (code, out, _) = run(
        &[
            "portfolio",
            "frontier",
            "--prices",
            "prices.csv",
            "--points",
            "5",
            "--json",
        ],
        work.path(),
    );
    assert_eq!(code, 0);
    let frontier: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(frontier["points"].as_array().unwrap().len(), 5);

    let (code, out, err) = run(
        &[
            "portfolio",
            "allocate",
            "--prices",
            "prices.csv",
            "--value",
            "10000",
            "--json",
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    let allocation: Value = serde_json::from_str(&out).unwrap();
    assert!(allocation["leftover"].as_f64().unwrap() >= 0.0);

    let (code, _, err) = run(
        &[
            "portfolio",
            "optimise",
            "--prices",
            "prices.csv",
            "--method",
            "efficient-return",
            "--target",
            "5",
        ],
        work.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("target") && err.contains("reachable"), "{err}");

    write_prices(&work.path().join("bad.csv"), true);
    let (code, _, err) = run(
        &[
            "portfolio",
            "optimise",
            "--prices",
            "bad.csv",
            "--method",
            "min-volatility",
        ],
        work.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("line 5") && err.contains("column 3"), "{err}");
}

/// A space-separated file without header, like the UCI German file: a categorical code, two
/// numbers, and the outcome (2 = bad) that depends on them.
fn write_credit_file(path: &Path) {
    let mut text = String::new();
    for i in 0..400u32 {
        let status = ["A11", "A12", "A13", "A14"][(i % 4) as usize];
        let months = 6 + (i * 7) % 42;
        let amount = 500 + (i * 137) % 9_000;
        // Deterministic "noise" so the classes overlap.
        let noise = (f64::from(i) * 12.9898).sin() * 43_758.545;
        let noise = noise - noise.floor();
        let risk = f64::from(i % 4) * 0.15 + f64::from(months) / 80.0 + noise * 0.5;
        let outcome = if risk > 0.75 { 2 } else { 1 };
        text.push_str(&format!("{status} {months} {amount} {outcome}\n"));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn credit_eval_reads_a_raw_file_and_prints_the_figures() {
    let work = tempfile::tempdir().unwrap();
    write_credit_file(&work.path().join("credit.data"));
    let (code, out, err) = run(
        &[
            "credit",
            "eval",
            "--data",
            "credit.data",
            "--target",
            "c4",
            "--positive",
            "2",
            "--json",
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["rows"], 400);
    assert_eq!(result["features"], 3);
    let models = result["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    for m in models {
        assert_eq!(m["fold_auc"].as_array().unwrap().len(), 5);
        assert!(m["auc_mean"].as_f64().unwrap() > 0.7, "{m}");
        assert_eq!(m["calibration"].as_array().unwrap().len(), 10);
    }
    let (code, out, _) = run(
        &[
            "credit",
            "eval",
            "--data",
            "credit.data",
            "--target",
            "c4",
            "--positive",
            "2",
        ],
        work.path(),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("AUC mean") && out.contains("calibration"),
        "{out}"
    );
    let (code, _, err) = run(
        &["credit", "eval", "--data", "credit.data", "--target", "c9"],
        work.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("c9"), "{err}");
}

#[test]
fn credit_train_saves_a_model_file_with_its_metadata() {
    let work = tempfile::tempdir().unwrap();
    write_credit_file(&work.path().join("credit.data"));
    let train = |out: &str| {
        run(
            &[
                "credit",
                "train",
                "--data",
                "credit.data",
                "--target",
                "c4",
                "--positive",
                "2",
                "--model",
                "scorecard",
                "--out",
                out,
                "--json",
            ],
            work.path(),
        )
    };
    let (code, out, err) = train("model.json");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let version = report["model_version"].as_str().unwrap();
    assert!(version.starts_with("scorecard-"), "{version}");
    assert!(report["cv_auc_mean"].as_f64().unwrap() > 0.7, "{report}");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("model.json")).unwrap()).unwrap();
    let meta = &saved["meta"];
    assert_eq!(meta["model_version"], version);
    assert_eq!(meta["rows"], 400);
    assert_eq!(meta["features"].as_array().unwrap().len(), 3);
    assert_eq!(meta["training"]["positive_label"], "2");
    assert_eq!(meta["training"]["data_sha256"], report["data_sha256"]);
    assert_eq!(meta["training"]["data_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(meta["metrics"]["folds"], 5);
    // The same data and seed give the same model.
    let (code, out, err) = train("again.json");
    assert_eq!(code, 0, "{err}");
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["model_version"], version);
    // The table names the version and the path.
    let (code, out, _) = run(
        &[
            "credit",
            "train",
            "--data",
            "credit.data",
            "--target",
            "c4",
            "--positive",
            "2",
        ],
        work.path(),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("credit-model.json") && out.contains("gbm-"),
        "{out}"
    );
    assert!(work.path().join("credit-model.json").exists());
}

#[test]
fn the_audit_trail_verifies_and_names_a_tampered_entry() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Checkpoints every 2 entries, so that a small import has several.
    std::fs::write(dir.join("sextant.toml"), "audit_checkpoint_every = 2\n").unwrap();
    let (code, _, err) = run(
        &[
            "generate",
            "--customers",
            "30",
            "--months",
            "1",
            "--seed",
            "3",
            "--out",
            "pop",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["import", "pop", "--data-dir", "data"], dir);
    assert_eq!(code, 0, "{err}");
    // Files only their owner can read; the master key beside the data, not in it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["data/sextant.db", "data.master-key", "data.audit-key"] {
            let mode = std::fs::metadata(dir.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is {mode:o}");
        }
        assert!(!dir.join("data/data.master-key").exists());
    }
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--data-dir", "data", "--json"];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args, dir);
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
        (code, report)
    };
    let (code, intact) = verify(&[]);
    assert_eq!(code, 0, "{intact}");
    assert_eq!(intact["intact"], true);
    assert!(
        intact["entries_checked"].as_u64().unwrap() >= 1,
        "the import is recorded"
    );
    let head = intact["head"].as_str().unwrap().to_owned();
    let (code, _) = verify(&["--expect-head", &head]);
    assert_eq!(code, 0);
    let checkpoints = intact["checkpoints_verified"].as_u64().unwrap();
    assert!(checkpoints >= 2, "{intact}");
    // The public key alone verifies (compliance need not hold the private key), and
    // verifying never creates a private key where there is none.
    std::fs::copy(dir.join("data.audit-key.pub"), dir.join("audit.pub")).unwrap();
    let private = std::fs::read(dir.join("data.audit-key")).unwrap();
    std::fs::remove_file(dir.join("data.audit-key")).unwrap();
    let (code, report) = verify(&["--public-key", "audit.pub"]);
    assert_eq!(
        (code, &report["checkpoints_verified"]),
        (0, &json!(checkpoints))
    );
    assert!(!dir.join("data.audit-key").exists());
    std::fs::write(dir.join("data.audit-key"), private).unwrap();

    // Behind Sextant's back, as someone with the file could: change one value; then
    // rewrite the whole chain so that every hash matches again; then delete the checkpoints.
    let db = dir.join("data/sextant.db");
    let sql = |statements: Vec<String>| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sea_orm::ConnectionTrait;
            let conn = sea_orm::Database::connect(format!("sqlite://{}?mode=rw", db.display()))
                .await
                .unwrap();
            for s in statements {
                conn.execute_unprepared(&s).await.unwrap();
            }
            conn.close().await.unwrap();
        });
    };
    sql(vec![
        "UPDATE audit_log SET actor = 'someone-else' WHERE id = 1".into(),
    ]);
    let (code, broken) = verify(&[]);
    assert_eq!(code, 2, "{broken}");
    assert_eq!(broken["intact"], false);
    assert_eq!(broken["first_break_seq"], 1);
    assert!(broken["first_break"].as_str().unwrap().contains("changed"));

    sql(rechained(&db));
    let (code, rewritten) = verify(&[]);
    assert_eq!(code, 2, "{rewritten}");
    assert_eq!(rewritten["first_break_seq"], 2, "the first checkpoint");
    assert!(
        rewritten["first_break"]
            .as_str()
            .unwrap()
            .contains("rewritten"),
        "{rewritten}"
    );

    sql(vec!["DELETE FROM audit_checkpoints".into()]);
    let (code, deleted) = verify(&[]);
    assert_eq!(code, 2, "{deleted}");
    assert!(
        deleted["first_break"].as_str().unwrap().contains("missing"),
        "{deleted}"
    );
}

/// The UPDATEs that re-chain an SQLite audit trail from its first entry: every hash
/// recomputed over the rows as they are, as a forger who knows the format would.
fn rechained(db: &Path) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", db.display()))
            .await
            .unwrap();
        let rows = conn
            .query_all(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT id, at_ms, actor, role, action, subject, request_id, outcome, detail \
                 FROM audit_log ORDER BY id",
            ))
            .await
            .unwrap();
        let mut prev = String::new();
        let mut updates = Vec::new();
        for row in rows {
            let get = |c: &str| row.try_get::<String>("", c).unwrap();
            let seq: i64 = row.try_get("", "id").unwrap();
            let at_ms: i64 = row.try_get("", "at_ms").unwrap();
            let entry = sextant_store::NewAuditEntry {
                actor: get("actor"),
                role: get("role"),
                action: get("action"),
                object: get("subject"),
                request_id: get("request_id"),
                outcome: get("outcome"),
                detail: get("detail"),
            };
            let hash = sextant_store::audit::entry_hash(seq, at_ms, &entry, &prev);
            updates.push(format!(
                "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}' WHERE id = {seq}"
            ));
            prev = hash;
        }
        conn.close().await.unwrap();
        updates
    })
}

#[test]
fn the_monitoring_scan_finds_the_typologies_planted_in_stored_payments() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, _, err) = run(
        &[
            "generate",
            "--customers",
            "30",
            "--months",
            "1",
            "--seed",
            "3",
            "--out",
            "pop",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    // Planted: a stolen card tried at five merchants in five minutes (c0000001), and three
    // withdrawals just under 10,000 EUR within a week (c0000002).
    std::fs::create_dir(dir.join("planted")).unwrap();
    let mut lines = Vec::new();
    for i in 0..5 {
        lines.push(json!({
            "type": "payment", "event_id": format!("planted-card-{i}"), "customer_id": "c0000001",
            "occurred_at": format!("2026-11-01T03:0{i}:00Z"), "amount_minor": 150, "currency": "EUR",
            "direction": "debit", "kind": "purchase", "channel": "online",
            "merchant_id": format!("m-planted-{i}"), "mcc": "5999", "country": "CZ",
            "card": {"bin": "411111", "last4": "0004"}
        }));
    }
    for (i, day) in ["03", "05", "07"].iter().enumerate() {
        lines.push(json!({
            "type": "payment", "event_id": format!("planted-atm-{i}"), "customer_id": "c0000002",
            "occurred_at": format!("2026-11-{day}T10:00:00Z"), "amount_minor": 950_000 + i as i64 * 10_000,
            "currency": "EUR", "direction": "debit", "kind": "atm", "channel": "in_store", "country": "CZ"
        }));
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("planted/payments.jsonl"), text).unwrap();
    for folder in ["pop", "planted"] {
        let (code, _, err) = run(&["import", folder, "--data-dir", "data"], dir);
        assert_eq!(code, 0, "{folder}: {err}");
    }

    let (code, out, err) = run(&["monitoring", "scan", "--data-dir", "data", "--json"], dir);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["customers"], 30, "{out}");
    let typology = |name: &str| {
        report["by_typology"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["typology"] == name)
            .unwrap()
            .clone()
    };
    let card = typology("card_testing");
    assert_eq!(
        (card["alerts"].as_u64(), card["customers"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert!(
        card["example"]
            .as_str()
            .unwrap()
            .contains("5 card purchases"),
        "{out}"
    );
    let structuring = typology("structuring");
    assert_eq!(
        structuring["alerts"].as_u64(),
        Some(1),
        "one episode, one alert: {out}"
    );
    assert!(
        err.contains("scanned 30 customers"),
        "progress on standard error: {err}"
    );

    let (code, table, _) = run(&["monitoring", "scan", "--data-dir", "data"], dir);
    assert_eq!(code, 0);
    assert!(table.contains("| card_testing | 1 | 1 |"), "{table}");

    // The import evaluated each payment as it was stored: its alerts, filed into one case per
    // customer, are exactly what the scan counts afterwards.
    let server = serve(dir);
    let (_, token, _) = run(&["token", "--role", "compliance", "--sub", "ana"], dir);
    let (status, cases) = get(
        &format!("{}/v1/monitoring/cases?limit=500", server.base),
        token.trim(),
    );
    assert_eq!(status, 200, "{cases}");
    assert_eq!(cases["total"], report["customers_alerted"], "{cases}");
    let filed: u64 = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alerts"].as_u64().unwrap())
        .sum();
    let scanned: u64 = report["by_typology"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["alerts"].as_u64().unwrap())
        .sum();
    assert_eq!(filed, scanned, "live alerts equal the scan's: {cases}");
    let (status, mine) = get(
        &format!("{}/v1/monitoring/cases?customer_id=c0000001", server.base),
        token.trim(),
    );
    assert_eq!(status, 200);
    let case_id = mine["cases"][0]["case_id"].as_str().unwrap();
    let (_, case) = get(
        &format!("{}/v1/monitoring/cases/{case_id}", server.base),
        token.trim(),
    );
    let card = case["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["source"] == "card_testing")
        .unwrap_or_else(|| panic!("{case}"));
    assert_eq!(card["event_id"], "planted-card-4", "{case}");
}

#[test]
fn monitoring_eval_scores_a_labelled_file_against_the_raw_column_baseline() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // 60 accounts paying small amounts to a few shops every few hours for 40 days; on some
    // accounts, a takeover: several transfers to new payees within an hour, labelled 1. The
    // amounts alone overlap (some honest payments are as large): the history tells them apart.
    let mut csv = String::from("hour,kind,amount,account,payee,is_fraud,leak\n");
    let mut rng = 7u64;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as f64 / (1u64 << 31) as f64
    };
    for account in 0..60 {
        let mut hour = next() * 5.0;
        while hour < 960.0 {
            let amount = if next() < 0.03 {
                400.0 + next() * 600.0
            } else {
                5.0 + next() * 60.0
            };
            csv.push_str(&format!(
                "{hour:.3},PAYMENT,{amount:.2},A{account},shop{},0,0\n",
                (next() * 4.0) as u32
            ));
            hour += 2.0 + next() * 10.0;
        }
        if account % 3 == 0 {
            let start = 200.0 + next() * 700.0;
            for k in 0..4 {
                let amount = 300.0 + next() * 700.0;
                csv.push_str(&format!(
                    "{:.3},TRANSFER,{amount:.2},A{account},payee{account}_{k},1,1\n",
                    start + k as f64 * 0.2
                ));
            }
        }
    }
    std::fs::write(dir.join("tx.csv"), &csv).unwrap();
    let args = [
        "monitoring",
        "eval",
        "--data",
        "tx.csv",
        "--customer",
        "account",
        "--time",
        "hour",
        "--amount",
        "amount",
        "--label",
        "is_fraud",
        "--type",
        "kind",
        "--counterparty",
        "payee",
    ];
    let (code, out, err) = run(&[&args[..], &["--json"]].concat(), dir);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["test_positives"].as_u64().unwrap() > 10, "{out}");
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert!(models[0]["model"].as_str().unwrap().starts_with("baseline"));
    let auc = |m: &Value| m["roc_auc"].as_f64().unwrap();
    assert!(
        auc(&models[1]) > 0.95,
        "the windowed model sees the burst: {out}"
    );
    // The leaking column is not read unless named.
    assert_eq!(models[1]["features"], 54, "{out}");
    let (code, table, _) = run(&args, dir);
    assert_eq!(code, 0);
    assert!(table.contains("| monitoring: windowed features"), "{table}");

    // A bad label is named by line and column.
    std::fs::write(dir.join("bad.csv"), csv.replacen(",0,0\n", ",maybe,0\n", 1)).unwrap();
    let bad = [&args[..2], &["--data", "bad.csv"], &args[4..]].concat();
    let (code, _, err) = run(&bad, dir);
    assert_ne!(code, 0);
    assert!(err.contains("line 2, column 6 (`is_fraud`)"), "{err}");
}

/// Rules written before an import record, as the import evaluates each stored payment,
/// exactly the hits their backtest over the stored history counts afterwards; a rule that
/// does not parse is refused with its line and column.
#[test]
fn backtests_count_what_the_import_recorded_for_each_rule() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, _, err) = run(
        &[
            "generate",
            "--customers",
            "40",
            "--months",
            "2",
            "--seed",
            "5",
            "--out",
            "pop",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &[
            "monitoring",
            "add-rule",
            "typo",
            "--rule",
            "count(payments, 1h) > 3\nand summ(amount, 1h) > 1",
            "--description",
            "a typo",
            "--data-dir",
            "data",
        ],
        dir,
    );
    assert_ne!(code, 0);
    assert!(err.contains("--rule: line 2, column 5"), "{err}");

    let rules = [
        ("busy-day", "count(payments, 24h) >= 4", "60"),
        (
            "big-out",
            "direction = out and sum(amount, 7d, direction = out and status = completed) > 800",
            "1440",
        ),
        (
            "many-merchants",
            "distinct(merchant, 24h, kind = purchase) >= 3 and avg(amount, 30d) < 200",
            "0",
        ),
    ];
    for (id, rule, cooldown) in rules {
        let (code, out, err) = run(
            &[
                "monitoring",
                "add-rule",
                id,
                "--rule",
                rule,
                "--description",
                "e2e rule",
                "--cooldown-minutes",
                cooldown,
                "--data-dir",
                "data",
            ],
            dir,
        );
        assert_eq!(code, 0, "{id}: {err}");
        assert!(out.contains(&format!("{id} version 1 (shadow")), "{out}");
    }
    let (code, _, err) = run(&["import", "pop", "--data-dir", "data"], dir);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = run(
        &["monitoring", "rules", "--data-dir", "data", "--json"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let mut total = 0;
    for (id, rule, cooldown) in rules {
        let recorded = listed["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule_id"] == id)
            .unwrap_or_else(|| panic!("{id}: {out}"))["hits"]
            .as_u64()
            .unwrap();
        let (code, report, err) = run(
            &[
                "monitoring",
                "backtest",
                "--rule",
                rule,
                "--cooldown-minutes",
                cooldown,
                "--data-dir",
                "data",
                "--json",
            ],
            dir,
        );
        assert_eq!(code, 0, "{id}: {err}");
        let report: Value = serde_json::from_str(&report).unwrap();
        assert_eq!(
            report["alerts"].as_u64(),
            Some(recorded),
            "{id}: the backtest counts what the import recorded: {report}"
        );
        total += recorded;
    }
    assert!(total > 0, "the rules fired: {out}");
}

/// `sextant monitoring train` on an imported population: labelled by its ground truth, the
/// model is measured on the latest payments, stored and made active; with no closed cases
/// to learn from, or an alert rate out of range, it is refused with the flag named.
#[test]
fn the_monitoring_model_trains_on_a_stored_population_and_refuses_without_labels() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, _, err) = run(
        &[
            "generate",
            "--customers",
            "600",
            "--months",
            "6",
            "--seed",
            "11",
            "--out",
            "pop",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["import", "pop", "--data-dir", "data"], dir);
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = run(
        &[
            "monitoring",
            "train",
            "--data-dir",
            "data",
            "--alert-rate",
            "2",
        ],
        dir,
    );
    assert_ne!(code, 0);
    assert!(err.contains("--alert-rate"), "{err}");
    let (code, _, err) = run(&["monitoring", "train", "--data-dir", "data"], dir);
    assert_ne!(code, 0, "no case is closed: nothing to learn from");
    assert!(
        err.contains("--truth") && err.contains("fraud or laundering"),
        "{err}"
    );

    let (code, out, err) = run(
        &[
            "monitoring",
            "train",
            "--truth",
            "pop/ground_truth.jsonl",
            "--data-dir",
            "data",
            "--json",
        ],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let trained: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        trained["version"].as_str().unwrap().starts_with("mm-"),
        "{out}"
    );
    assert_eq!(trained["active"], true);
    assert_eq!(trained["customers"], 600);
    assert!(
        trained["test_positive_payments"].as_u64().unwrap() > 0,
        "{out}"
    );
    assert!(trained["roc_auc"].as_f64().unwrap() > 0.7, "{out}");
    assert!(err.contains("read 600 of 600 customers"), "{err}");
}

/// The loyalty job and report a scheduler and finance run: a table, or one JSON object.
#[test]
fn loyalty_commands_print_a_table_and_json() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, out, err) = run(&["loyalty", "expire", "--data-dir", "data", "--json"], dir);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["lots"].as_u64(), report["points"].as_i64()),
        (Some(0), Some(0))
    );
    let (code, out, err) = run(&["loyalty", "liability", "--data-dir", "data"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("| expires in | points |"), "{out}");
    assert!(out.contains("| all | 0 | 0 |"), "{out}");
}
