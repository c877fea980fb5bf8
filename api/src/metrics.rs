//! A small Prometheus registry: request counts and latency per route, ingestion counters.
//! Written by hand because the set is small and fixed; the text format is the standard one.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS_S: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) -> latency histogram. Routes are templates, so the key set
    /// stays bounded whatever the traffic.
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    pub events_stored: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut requests = self
            .requests
            .lock()
            .expect("metrics lock is never poisoned by a panic here");
        let h = requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        for (bucket, bound) in h.counts.iter_mut().zip(BUCKETS_S) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum_s += seconds;
    }

    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP sextant_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE sextant_http_request_duration_seconds histogram\n");
        let requests = self
            .requests
            .lock()
            .expect("metrics lock is never poisoned by a panic here");
        for ((method, route, status), h) in requests.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (count, bound) in h.counts.iter().zip(BUCKETS_S) {
                let _ = writeln!(out, "sextant_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(
                out,
                "sextant_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "sextant_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum_s
            );
            let _ = writeln!(
                out,
                "sextant_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP sextant_events_total Events received through the API, by outcome.\n");
        out.push_str("# TYPE sextant_events_total counter\n");
        for (outcome, counter) in [
            ("stored", &self.events_stored),
            ("duplicate", &self.events_duplicate),
            ("rejected", &self.events_rejected),
        ] {
            let _ = writeln!(
                out,
                "sextant_events_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, Duration::from_micros(700));
        m.observe("GET", "/healthz", 200, Duration::from_millis(20));
        let text = m.render();
        assert!(text.contains(r#"route="/healthz",status="200",le="0.001"} 1"#));
        assert!(text.contains(r#"route="/healthz",status="200",le="0.025"} 2"#));
        assert!(text.contains(r#"sextant_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2"#));
    }
}
