//! An open-loop HTTP load generator (`sextant bench loadgen`), run as its own process so its
//! work is not scheduled inside the server's runtime.
//!
//! Request k is due at `start + k / rate` whatever happened to the earlier ones, and its
//! latency is measured from that due time, not from when a worker got round to sending it.
//! A slow server therefore shows up as queueing in the figures instead of silently lowering
//! the offered rate (the "coordinated omission" that closed-loop tools like wrk suffer).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Upper bounds, so a typo cannot start a runaway run.
const RATE_MAX: u32 = 20_000;
const SECONDS_MAX: u32 = 600;
const CONNECTIONS_MAX: usize = 512;

#[derive(clap::Args)]
pub struct LoadOptions {
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub token: String,
    /// One JSON body per line (with `--get`, one path per line, appended to `--url`), sent
    /// round-robin.
    #[arg(long)]
    pub bodies: PathBuf,
    /// Send GET requests instead of POSTs.
    #[arg(long)]
    pub get: bool,
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    #[arg(long, default_value_t = 30)]
    pub seconds: u32,
    /// Requests before this many seconds are sent but not counted (connection set-up, caches).
    #[arg(long, default_value_t = 2)]
    pub warmup_seconds: u32,
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Send each request with its own `Idempotency-Key` (this process's id and the
    /// request's number), as a client of a route that requires one.
    #[arg(long)]
    pub idempotency_keys: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub target_rate_rps: u32,
    pub achieved_rate_rps: f64,
    pub measured_seconds: f64,
    pub requests: u64,
    /// Responses by status; `0` counts transport errors.
    pub status_counts: Vec<(u16, u64)>,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_p999: f64,
    pub latency_ms_max: f64,
    pub connections: usize,
}

/// The value below which `q` of the sorted samples fall (nearest rank).
impl LoadReport {
    /// Prints the offered and achieved rates and the latency percentiles as a table;
    /// returns the responses by status, written `status: count`, for the caller's summary.
    pub fn print_latency_table(&self) -> Vec<String> {
        println!(
            "{:>12} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "target rps",
            "achieved",
            "requests",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        println!(
            "{:>12} {:>12.1} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            self.target_rate_rps,
            self.achieved_rate_rps,
            self.requests,
            self.latency_ms_p50,
            self.latency_ms_p90,
            self.latency_ms_p99,
            self.latency_ms_p999,
            self.latency_ms_max
        );
        self.status_counts
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect()
    }
}

pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `sextant bench loadgen` with `options` as a separate process of this binary, so that
/// the load generator does not share the server's runtime, and reads its report.
pub async fn in_separate_process(options: &LoadOptions) -> anyhow::Result<LoadReport> {
    let exe = std::env::current_exe().context("cannot find the sextant binary")?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args([
            "bench",
            "loadgen",
            "--url",
            &options.url,
            "--token",
            &options.token,
        ])
        .arg("--bodies")
        .arg(&options.bodies)
        .args([
            "--rate",
            &options.rate.to_string(),
            "--seconds",
            &options.seconds.to_string(),
            "--warmup-seconds",
            &options.warmup_seconds.to_string(),
            "--connections",
            &options.connections.to_string(),
        ]);
    if options.get {
        command.arg("--get");
    }
    if options.idempotency_keys {
        command.arg("--idempotency-keys");
    }
    let output = command
        .output()
        .await
        .context("cannot start the load generator")?;
    anyhow::ensure!(
        output.status.success(),
        "the load generator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("the load generator's report does not parse")
}

/// CPU time used so far by this process and by its waited-for children, from
/// `/proc/self/stat` (Linux; `None` elsewhere).
#[derive(Clone, Copy)]
pub struct CpuTimes {
    own_ms: f64,
    children_ms: f64,
}

impl CpuTimes {
    pub fn now() -> Option<CpuTimes> {
        CpuTimes::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
    }

    /// utime, stime, cutime and cstime are fields 14 to 17, in USER_HZ ticks, which the
    /// kernel fixes at 100 per second for this interface. The command name (field 2) may
    /// hold spaces and parentheses, so fields are counted after its last closing one.
    fn parse(stat: &str) -> Option<CpuTimes> {
        let fields: Vec<f64> = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .skip(11)
            .take(4)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        let tick_ms = 10.0;
        Some(CpuTimes {
            own_ms: (fields.first()? + fields.get(1)?) * tick_ms,
            children_ms: (fields.get(2)? + fields.get(3)?) * tick_ms,
        })
    }

    /// (own, children) CPU milliseconds per request since `before`.
    pub fn per_request(before: Option<CpuTimes>, requests: u64) -> Option<(f64, f64)> {
        let (before, after) = (before?, CpuTimes::now()?);
        let n = requests.max(1) as f64;
        Some((
            (after.own_ms - before.own_ms) / n,
            (after.children_ms - before.children_ms) / n,
        ))
    }
}

/// The 1-minute load average (Linux; `None` elsewhere).
pub fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Where the CPU went during the offered load.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadCpu {
    /// The server process's CPU time per request sent (warm-up included).
    pub server_ms_per_request: Option<f64>,
    /// The load generator's, on the same cores.
    pub loadgen_ms_per_request: Option<f64>,
    /// The machine's 1-minute load average just before the load: other work competes.
    pub load_average_1m: Option<f64>,
}

/// One offered-load run and the CPU time both sides spent on it.
#[derive(Debug, Serialize)]
pub struct LoadRun {
    pub load: LoadReport,
    pub cpu: LoadCpu,
}

impl LoadRun {
    /// Responses other than `ok` (transport errors count as status 0).
    pub fn errors(&self, ok: u16) -> u64 {
        self.load
            .status_counts
            .iter()
            .filter(|(s, _)| *s != ok)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Every run, a row each: rates, latency percentiles, responses other than `ok`, and CPU
/// milliseconds per request on each side.
pub fn print_runs(runs: &[LoadRun], ok: u16) {
    println!(
        "{:>4} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>14} {:>14}",
        "run",
        "achieved",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors",
        "server CPU ms",
        "loadgen CPU ms"
    );
    let cpu = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    for (i, r) in runs.iter().enumerate() {
        let l = &r.load;
        println!(
            "{:>4} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>14} {:>14}",
            i + 1,
            l.achieved_rate_rps,
            l.latency_ms_p50,
            l.latency_ms_p90,
            l.latency_ms_p99,
            l.latency_ms_p999,
            l.latency_ms_max,
            r.errors(ok),
            cpu(r.cpu.server_ms_per_request),
            cpu(r.cpu.loadgen_ms_per_request)
        );
    }
}

/// The run with the highest p99.
pub fn worst(runs: &[LoadRun]) -> Option<&LoadRun> {
    runs.iter()
        .max_by(|a, b| a.load.latency_ms_p99.total_cmp(&b.load.latency_ms_p99))
}

/// [`in_separate_process`], with the CPU time both sides spent per request. Only the
/// server may run in this process: its CPU time is this process's.
pub async fn measured(options: &LoadOptions) -> anyhow::Result<LoadRun> {
    let requests = u64::from(options.rate) * u64::from(options.seconds + options.warmup_seconds);
    let load_average = load_average_1m();
    let cpu_before = CpuTimes::now();
    let report = in_separate_process(options).await?;
    // Every request sent, warm-up included, cost CPU on both sides.
    let cpu = CpuTimes::per_request(cpu_before, requests);
    Ok(LoadRun {
        load: report,
        cpu: LoadCpu {
            server_ms_per_request: cpu.map(|(own, _)| own),
            loadgen_ms_per_request: cpu.map(|(_, children)| children),
            load_average_1m: load_average,
        },
    })
}

/// `runs` consecutive [`measured`] runs of `options` against the same server, each announced
/// on standard error as offering `what` per second.
pub async fn measured_runs(
    what: &str,
    runs: u32,
    options: &LoadOptions,
) -> anyhow::Result<Vec<LoadRun>> {
    let runs = runs.max(1);
    let mut out = Vec::with_capacity(runs as usize);
    for run in 1..=runs {
        eprintln!(
            "run {run} of {runs}: offering {} {what}/s for {} s from a separate load-generator process",
            options.rate, options.seconds
        );
        out.push(measured(options).await?);
    }
    Ok(out)
}

pub fn run(options: &LoadOptions) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(
        (1..=RATE_MAX).contains(&options.rate),
        "--rate must be within 1..={RATE_MAX}"
    );
    anyhow::ensure!(
        (1..=SECONDS_MAX).contains(&options.seconds),
        "--seconds must be within 1..={SECONDS_MAX}"
    );
    anyhow::ensure!(
        (1..=CONNECTIONS_MAX).contains(&options.connections),
        "--connections must be within 1..={CONNECTIONS_MAX}"
    );
    let text = std::fs::read_to_string(&options.bodies)
        .with_context(|| format!("cannot read {}", options.bodies.display()))?;
    let bodies: Arc<Vec<String>> = Arc::new(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
    );
    anyhow::ensure!(
        !bodies.is_empty(),
        "{} holds no bodies",
        options.bodies.display()
    );
    let interval = Duration::from_secs_f64(1.0 / f64::from(options.rate));
    let total = u64::from(options.rate) * u64::from(options.warmup_seconds + options.seconds);
    let warmup = u64::from(options.rate) * u64::from(options.warmup_seconds);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(200);
    let auth = format!("Bearer {}", options.token);
    let get = options.get;
    let keys = options.idempotency_keys;
    let process = std::process::id();
    let workers: Vec<_> = (0..options.connections)
        .map(|_| {
            let (next, bodies, url, auth) = (
                next.clone(),
                bodies.clone(),
                options.url.clone(),
                auth.clone(),
            );
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .max_idle_connections_per_host(1)
                    .build();
                let mut samples: Vec<(u64, f64, u16)> = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return samples;
                    }
                    let due = start + interval * u32::try_from(k).unwrap_or(u32::MAX);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let line = &bodies[(k % bodies.len() as u64) as usize];
                    let sent = if get {
                        agent
                            .get(&format!("{url}{line}"))
                            .set("Authorization", &auth)
                            .call()
                    } else {
                        let mut request = agent
                            .post(&url)
                            .set("Authorization", &auth)
                            .set("Content-Type", "application/json");
                        if keys {
                            request = request.set("Idempotency-Key", &format!("lg-{process}-{k}"));
                        }
                        request.send_string(line)
                    };
                    let status = match sent {
                        Ok(response) => {
                            let status = response.status();
                            // Read the body so the connection is reused.
                            let _ = response.into_string();
                            status
                        }
                        Err(ureq::Error::Status(status, response)) => {
                            let _ = response.into_string();
                            status
                        }
                        Err(ureq::Error::Transport(_)) => 0,
                    };
                    samples.push((k, due.elapsed().as_secs_f64() * 1e3, status));
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    for worker in workers {
        let samples = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a load worker panicked"))?;
        for (k, ms, status) in samples {
            if k >= warmup {
                latencies.push(ms);
                *statuses.entry(status).or_default() += 1;
            }
        }
    }
    let measured_seconds = start.elapsed().as_secs_f64() - f64::from(options.warmup_seconds);
    latencies.sort_by(f64::total_cmp);
    Ok(LoadReport {
        target_rate_rps: options.rate,
        achieved_rate_rps: latencies.len() as f64 / measured_seconds.max(1e-9),
        measured_seconds,
        requests: latencies.len() as u64,
        status_counts: statuses.into_iter().collect(),
        latency_ms_p50: percentile(&latencies, 0.50),
        latency_ms_p90: percentile(&latencies, 0.90),
        latency_ms_p99: percentile(&latencies, 0.99),
        latency_ms_p999: percentile(&latencies, 0.999),
        latency_ms_max: latencies.last().copied().unwrap_or(f64::NAN),
        connections: options.connections,
    })
}

#[cfg(test)]
mod tests {
    use super::{percentile, CpuTimes};

    #[test]
    fn cpu_times_are_read_after_the_command_name() {
        let stat = "4242 (tokio (rt) 1) S 1 2 3 0 -1 4194304 10 0 0 0 250 50 7 3 20 0 9 0 1 2 3";
        let cpu = CpuTimes::parse(stat).expect("parses");
        assert_eq!(cpu.own_ms, 3_000.0);
        assert_eq!(cpu.children_ms, 100.0);
        assert!(CpuTimes::parse("4242 (short) S 1 2").is_none());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
