//! Behaviour of both stores. The edge store runs always; the server store runs only when
//! `SEXTANT_TEST_QDRANT_URL` names a Qdrant gRPC endpoint (e.g. http://localhost:6334), with
//! `SEXTANT_TEST_QDRANT_API_KEY` when that server requires a key (`.ci/run` starts one so).

use std::path::Path;

use sextant_vectors::{
    EdgeOptions, EdgeStore, Filter, Payload, Point, ServerStore, VectorError, VectorStore,
};

const DIM: usize = 4;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn payload(
    id: &str,
    segment: Option<u32>,
    region: &str,
    consent: bool,
    channels: &[&str],
) -> Payload {
    Payload {
        customer_id: id.into(),
        segment,
        region: region.into(),
        profiling_consent: consent,
        marketing_channels: channels.iter().map(|c| c.to_string()).collect(),
    }
}

fn point(id: &str, vector: &[f32]) -> Point {
    Point {
        customer_id: id.into(),
        vector: vector.to_vec(),
        payload: payload(id, None, "north", true, &["email"]),
    }
}

fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.iter().map(|x| x / norm).collect()
}

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-5, "{actual:?} != {expected:?}");
    }
}

/// Deterministic uniform numbers in [-1, 1) (splitmix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next_f32()).collect()
    }
}

fn edge_store(dir: &Path) -> EdgeStore {
    EdgeStore::open(dir, DIM).expect("open edge store")
}

async fn ids_of(store: &dyn VectorStore, query: &[f32], filter: &Filter) -> Vec<String> {
    let mut ids: Vec<String> = store
        .search(query, 100, filter)
        .await
        .unwrap()
        .into_iter()
        .map(|hit| hit.customer_id)
        .collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------------
// Behaviour both stores must share. Each check expects an empty store of dimension DIM.

async fn check_round_trip(store: &dyn VectorStore) {
    let points = vec![
        point("c-1", &[0.9, 0.1, 0.3, -0.2]),
        point("c-2", &[-0.5, 0.8, 0.1, 0.4]),
        point("c-3", &[0.2, -0.7, 0.6, 0.1]),
    ];
    store.upsert(points.clone()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 3);
    for p in &points {
        let hits = store
            .search(&p.vector, 1, &Filter::default())
            .await
            .unwrap();
        assert_eq!(hits[0].customer_id, p.customer_id);
        assert!(
            (hits[0].score - 1.0).abs() < 1e-4,
            "self-similarity {}",
            hits[0].score
        );
        let stored = store.vector(&p.customer_id).await.unwrap().unwrap();
        assert_close(&stored, &unit(&p.vector));
    }
    assert_eq!(store.vector("c-404").await.unwrap(), None);
    assert!(store
        .search(&[1.0, 0.0, 0.0, 0.0], 0, &Filter::default())
        .await
        .unwrap()
        .is_empty());
}

async fn check_cosine_ranking(store: &dyn VectorStore) {
    // Scaled copies check that ranking ignores length, as cosine must.
    store
        .upsert(vec![
            point("same", &[3.0, 0.0, 0.0, 0.0]),
            point("near", &[1.0, 1.0, 0.0, 0.0]),
            point("orthogonal", &[0.0, 0.0, 5.0, 0.0]),
            point("opposite", &[-0.1, 0.0, 0.0, 0.0]),
        ])
        .await
        .unwrap();
    let hits = store
        .search(&[2.0, 0.0, 0.0, 0.0], 10, &Filter::default())
        .await
        .unwrap();
    let order: Vec<&str> = hits.iter().map(|h| h.customer_id.as_str()).collect();
    assert_eq!(order, ["same", "near", "orthogonal", "opposite"]);
    let scores: Vec<f32> = hits.iter().map(|h| h.score).collect();
    assert_close(&scores, &[1.0, std::f32::consts::FRAC_1_SQRT_2, 0.0, -1.0]);
    let top2 = store
        .search(&[2.0, 0.0, 0.0, 0.0], 2, &Filter::default())
        .await
        .unwrap();
    assert_eq!(top2.len(), 2);
}

async fn check_audience(store: &dyn VectorStore) {
    let mut rng = Rng(11);
    let points: Vec<Point> = (0..1500)
        .map(|i| point(&format!("a-{i:04}"), &rng.vector(DIM)))
        .collect();
    store.upsert(points[..1000].to_vec()).await.unwrap();
    store.upsert(points[1000..].to_vec()).await.unwrap();
    let query = [1.0, 0.2, 0.0, -0.3];
    // Above the search limit, exact: every point comes back, best first.
    let all = store
        .audience(&query, 1500, None, &Filter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1500);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    let q = unit(&query);
    let best = points
        .iter()
        .map(|p| {
            let v = unit(&p.vector);
            (
                v.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>(),
                &p.customer_id,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    assert_eq!(&all[0].customer_id, best.1);
    // A threshold keeps exactly the scores at or above it.
    let close = store
        .audience(&query, 1500, Some(0.9), &Filter::default())
        .await
        .unwrap();
    let expected = all.iter().filter(|h| h.score >= 0.9).count();
    assert!(expected > 0 && expected < 1500);
    assert_eq!(close.len(), expected);
    // Filters apply, and the limits are checked.
    let excluded = Filter {
        exclude_customer: Some(all[0].customer_id.clone()),
        ..Filter::default()
    };
    let top = store.audience(&query, 3, None, &excluded).await.unwrap();
    assert_eq!(top[0].customer_id, all[1].customer_id);
    assert!(store
        .audience(
            &query,
            sextant_vectors::MAX_AUDIENCE + 1,
            None,
            &Filter::default()
        )
        .await
        .is_err());
    assert!(store
        .audience(&query, 10, Some(1.5), &Filter::default())
        .await
        .is_err());
}

async fn check_filters(store: &dyn VectorStore) {
    let v = [1.0, 0.5, 0.25, 0.0];
    let make = |id: &str, p: Payload| Point {
        customer_id: id.into(),
        vector: v.to_vec(),
        payload: p,
    };
    store
        .upsert(vec![
            make(
                "a",
                payload("a", Some(1), "north", true, &["email", "push"]),
            ),
            make("b", payload("b", Some(2), "north", false, &["sms"])),
            make("c", payload("c", Some(1), "south", true, &["push"])),
            make("d", payload("d", None, "south", false, &[])),
        ])
        .await
        .unwrap();
    let q = &v[..];
    let all = ids_of(store, q, &Filter::default()).await;
    assert_eq!(all, ["a", "b", "c", "d"]);
    let by_segment = Filter {
        segment: Some(1),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, q, &by_segment).await, ["a", "c"]);
    let by_region = Filter {
        region: Some("south".into()),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, q, &by_region).await, ["c", "d"]);
    let no_consent = Filter {
        profiling_consent: Some(false),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, q, &no_consent).await, ["b", "d"]);
    let by_channel = Filter {
        marketing_channel: Some("push".into()),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, q, &by_channel).await, ["a", "c"]);
    let excluding = Filter {
        exclude_customer: Some("a".into()),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, q, &excluding).await, ["b", "c", "d"]);
    let combined = Filter {
        segment: Some(1),
        region: Some("north".into()),
        profiling_consent: Some(true),
        marketing_channel: Some("email".into()),
        exclude_customer: Some("c".into()),
    };
    assert_eq!(ids_of(store, q, &combined).await, ["a"]);
    let nobody = Filter {
        region: Some("west".into()),
        ..Filter::default()
    };
    assert!(ids_of(store, q, &nobody).await.is_empty());
}

async fn check_idempotent_upsert(store: &dyn VectorStore) {
    store
        .upsert(vec![point("c-1", &[1.0, 0.0, 0.0, 0.0])])
        .await
        .unwrap();
    store
        .upsert(vec![point("c-1", &[0.0, 2.0, 0.0, 0.0])])
        .await
        .unwrap();
    assert_eq!(store.count().await.unwrap(), 1);
    let stored = store.vector("c-1").await.unwrap().unwrap();
    assert_close(&stored, &[0.0, 1.0, 0.0, 0.0]);
    // Within one call the last point of a customer wins.
    store
        .upsert(vec![
            point("c-2", &[1.0, 0.0, 0.0, 0.0]),
            point("c-2", &[0.0, 0.0, 1.0, 0.0]),
        ])
        .await
        .unwrap();
    assert_eq!(store.count().await.unwrap(), 2);
    assert_close(
        &store.vector("c-2").await.unwrap().unwrap(),
        &[0.0, 0.0, 1.0, 0.0],
    );
    // The payload is replaced too.
    let mut moved = point("c-1", &[0.0, 2.0, 0.0, 0.0]);
    moved.payload.region = "south".into();
    store.upsert(vec![moved]).await.unwrap();
    let south = Filter {
        region: Some("south".into()),
        ..Filter::default()
    };
    assert_eq!(ids_of(store, &[0.0, 1.0, 0.0, 0.0], &south).await, ["c-1"]);
}

async fn check_delete(store: &dyn VectorStore) {
    store
        .upsert(vec![
            point("c-1", &[1.0, 0.0, 0.0, 0.0]),
            point("c-2", &[0.0, 1.0, 0.0, 0.0]),
        ])
        .await
        .unwrap();
    store
        .delete(&["c-1".into(), "c-unknown".into()])
        .await
        .unwrap();
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.vector("c-1").await.unwrap(), None);
    let hits = store
        .search(&[1.0, 0.0, 0.0, 0.0], 10, &Filter::default())
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].customer_id, "c-2");
    store.delete(&[]).await.unwrap();
}

async fn check_refuses_bad_input(store: &dyn VectorStore) {
    let wrong_dim = store.upsert(vec![point("c-1", &[1.0, 0.0])]).await;
    assert!(matches!(
        wrong_dim,
        Err(VectorError::DimensionMismatch {
            expected: DIM,
            actual: 2
        })
    ));
    let search_dim = store.search(&[1.0; DIM + 1], 5, &Filter::default()).await;
    assert!(matches!(
        search_dim,
        Err(VectorError::DimensionMismatch { .. })
    ));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let upsert = store
            .upsert(vec![point("c-1", &[1.0, bad, 0.0, 0.0])])
            .await;
        assert!(matches!(upsert, Err(VectorError::InvalidInput(_))), "{bad}");
        let search = store
            .search(&[bad, 0.0, 0.0, 0.0], 5, &Filter::default())
            .await;
        assert!(matches!(search, Err(VectorError::InvalidInput(_))), "{bad}");
    }
    let zero = store.upsert(vec![point("c-1", &[0.0; DIM])]).await;
    assert!(matches!(zero, Err(VectorError::InvalidInput(_))));
    let too_many = store.search(&[1.0; DIM], 1001, &Filter::default()).await;
    assert!(matches!(too_many, Err(VectorError::InvalidInput(_))));
    // A batch with one bad point stores nothing.
    let mixed = store
        .upsert(vec![
            point("c-ok", &[1.0, 0.0, 0.0, 0.0]),
            point("c-bad", &[f32::NAN; DIM]),
        ])
        .await;
    assert!(mixed.is_err());
    assert_eq!(store.count().await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Edge store

#[tokio::test]
async fn edge_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = edge_store(dir.path());
    assert_eq!((store.kind(), store.dim()), ("qdrant-edge", DIM));
    check_round_trip(&store).await;
}

#[tokio::test]
async fn edge_cosine_ranking() {
    let dir = tempfile::tempdir().unwrap();
    check_cosine_ranking(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_audience() {
    let dir = tempfile::tempdir().unwrap();
    check_audience(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_filters() {
    let dir = tempfile::tempdir().unwrap();
    check_filters(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_upsert_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    check_idempotent_upsert(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_delete() {
    let dir = tempfile::tempdir().unwrap();
    check_delete(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    check_refuses_bad_input(&edge_store(dir.path())).await;
}

#[tokio::test]
async fn edge_reopened_store_keeps_its_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let points: Vec<Point> = (0..300)
        .map(|i| point(&format!("c-{i:04}"), &rng.vector(DIM)))
        .collect();
    {
        let store = edge_store(dir.path());
        store.upsert(points.clone()).await.unwrap();
        store.delete(&["c-0000".into()]).await.unwrap();
    }
    let store = edge_store(dir.path());
    assert_eq!(store.count().await.unwrap(), 299);
    assert_eq!(store.vector("c-0000").await.unwrap(), None);
    for p in &points[1..] {
        let stored = store.vector(&p.customer_id).await.unwrap().unwrap();
        assert_close(&stored, &unit(&p.vector));
    }
    let hits = store
        .search(&points[42].vector, 1, &Filter::default())
        .await
        .unwrap();
    assert_eq!(hits[0].customer_id, "c-0042");
    // Payload indexes and filters still work after the reopen.
    let north = Filter {
        region: Some("north".into()),
        ..Filter::default()
    };
    assert_eq!(
        store
            .search(&points[7].vector, 1000, &north)
            .await
            .unwrap()
            .len(),
        299
    );
    // And again after an optimisation rewrote the segments.
    store.optimize().await.unwrap();
    drop(store);
    let store = edge_store(dir.path());
    assert_eq!(store.count().await.unwrap(), 299);
    assert_close(
        &store.vector("c-0299").await.unwrap().unwrap(),
        &unit(&points[299].vector),
    );
}

/// Set by `edge_acknowledged_writes_survive_a_crash` for the child process it starts.
const CRASH_DIR_VAR: &str = "SEXTANT_VECTORS_CRASH_DIR";

/// The child half of the crash test: a no-op unless started by it. Upserts, deletes, leaves
/// time for a background flush, upserts again and aborts without running any destructor, as
/// a killed process would.
#[tokio::test]
async fn edge_crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR_VAR) else {
        return;
    };
    let store = edge_store(Path::new(&dir));
    store
        .upsert(vec![
            point("c-1", &[1.0, 0.0, 0.0, 0.0]),
            point("c-2", &[0.0, 1.0, 0.0, 0.0]),
        ])
        .await
        .unwrap();
    store.delete(&["c-2".into()]).await.unwrap();
    store
        .upsert(vec![point("c-3", &[0.0, 0.0, 1.0, 0.0])])
        .await
        .unwrap();
    assert!(
        store
            .search(&[0.0, 0.0, 1.0, 0.0], 1, &Filter::default())
            .await
            .unwrap()[0]
            .customer_id
            == "c-3",
        "an upsert is searchable when acknowledged"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    store
        .upsert(vec![point("c-4", &[0.0, 0.0, 0.0, 1.0])])
        .await
        .unwrap();
    std::process::abort();
}

/// qdrant-edge 0.7.0 does not replay its write-ahead log on load, so only a flush makes a
/// write durable. Deletes flush before they are acknowledged; upserts are flushed in the
/// background within a second, and what a crash may have lost is reported to the next
/// process until it says it recovered it. A child process writes and aborts.
#[test]
fn edge_acknowledged_writes_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "edge_crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_VAR, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child should have aborted");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = edge_store(dir.path());
        assert_close(
            &store.vector("c-1").await.unwrap().unwrap(),
            &[1.0, 0.0, 0.0, 0.0],
        );
        assert_eq!(
            store.vector("c-2").await.unwrap(),
            None,
            "deletes are durable"
        );
        assert_close(
            &store.vector("c-3").await.unwrap().unwrap(),
            &[0.0, 0.0, 1.0, 0.0],
        );
        // c-4 was acknowledged less than a flush interval before the crash: maybe lost, and
        // the store says from when.
        let lost = store
            .lost_since()
            .expect("the crash left an upsert unflushed");
        let age = std::time::SystemTime::now().duration_since(lost).unwrap();
        assert!(age < std::time::Duration::from_secs(60), "{age:?}");
        drop(store);
        let store = edge_store(dir.path());
        assert_eq!(store.lost_since(), Some(lost), "until it is recovered");
        store
            .upsert(vec![point("c-4", &[0.0, 0.0, 0.0, 1.0])])
            .await
            .unwrap();
        store.recovered().await.unwrap();
        assert_eq!(store.lost_since(), None);
        drop(store);
        let store = edge_store(dir.path());
        assert_eq!(store.lost_since(), None);
        assert_eq!(store.count().await.unwrap(), 3);
    });
}

#[tokio::test]
async fn edge_refuses_another_dimension_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = edge_store(dir.path());
        store
            .upsert(vec![point("c-1", &[1.0, 0.0, 0.0, 0.0])])
            .await
            .unwrap();
    }
    let reopened = EdgeStore::open(dir.path(), DIM + 1);
    assert!(matches!(
        reopened,
        Err(VectorError::DimensionMismatch {
            expected: DIM,
            actual: 5
        })
    ));
    // The refusal changed nothing.
    let store = edge_store(dir.path());
    assert_eq!(store.count().await.unwrap(), 1);
}

#[tokio::test]
async fn edge_reopens_with_other_options() {
    let dir = tempfile::tempdir().unwrap();
    let small = EdgeOptions {
        indexing_threshold_kb: 1,
        full_scan_threshold_kb: 1,
    };
    {
        let store = EdgeStore::open_with(dir.path(), DIM, small).unwrap();
        let mut rng = Rng(3);
        let points = (0..500)
            .map(|i| point(&format!("c-{i}"), &rng.vector(DIM)))
            .collect();
        store.upsert(points).await.unwrap();
        store.optimize().await.unwrap();
        assert!(store.stats().indexed_vectors >= 500);
    }
    let store = EdgeStore::open_with(dir.path(), DIM, EdgeOptions::default()).unwrap();
    assert_eq!(store.count().await.unwrap(), 500);
    store.optimize().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 500);
    let hits = store
        .search(&[1.0; DIM], 5, &Filter::default())
        .await
        .unwrap();
    assert_eq!(hits.len(), 5);
}

#[tokio::test]
async fn edge_directory_is_held_by_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = edge_store(dir.path());
    let second = EdgeStore::open(dir.path(), DIM);
    assert!(matches!(second, Err(VectorError::Unavailable { .. })));
    drop(store);
    assert!(EdgeStore::open(dir.path(), DIM).is_ok());
}

#[test]
fn edge_refuses_invalid_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        EdgeStore::open(dir.path(), 0),
        Err(VectorError::InvalidInput(_))
    ));
    assert!(matches!(
        EdgeStore::open(dir.path(), 100_000),
        Err(VectorError::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edge_serves_concurrent_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(edge_store(dir.path()));
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(writer);
            for round in 0..10 {
                let points = (0..20)
                    .map(|i| point(&format!("w{writer}-{round}-{i}"), &rng.vector(DIM)))
                    .collect();
                store.upsert(points).await.unwrap();
                store
                    .search(&rng.vector(DIM), 10, &Filter::default())
                    .await
                    .unwrap();
            }
        }));
    }
    let optimizer = store.clone();
    tasks.push(tokio::spawn(
        async move { optimizer.optimize().await.unwrap() },
    ));
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.count().await.unwrap(), 4 * 10 * 20);
}

/// recall@10 of the HNSW graph against exact cosine. The thresholds are lowered so that
/// 5,000 points are indexed and searched through the graph; at the defaults a store this
/// small is searched exactly and recall would be 1 by construction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_recall_at_10_after_optimize() {
    const N: usize = 5_000;
    const D: usize = 32;
    const QUERIES: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let options = EdgeOptions {
        indexing_threshold_kb: 100,
        full_scan_threshold_kb: 50,
    };
    let store = EdgeStore::open_with(dir.path(), D, options).unwrap();
    let mut rng = Rng(42);
    let points: Vec<Point> = (0..N)
        .map(|i| {
            let id = format!("c-{i:05}");
            let consent = i.is_multiple_of(2);
            Point {
                customer_id: id.clone(),
                vector: rng.vector(D),
                payload: payload(&id, Some((i % 4) as u32), "north", consent, &["email"]),
            }
        })
        .collect();
    store.upsert(points.clone()).await.unwrap();
    store.optimize().await.unwrap();
    let stats = store.stats();
    assert!(stats.indexed_vectors >= N, "HNSW not built: {stats:?}");

    let normalised: Vec<Vec<f32>> = points.iter().map(|p| unit(&p.vector)).collect();
    let consenting = Filter {
        profiling_consent: Some(true),
        ..Filter::default()
    };
    let mut found = [0usize; 2];
    for _ in 0..QUERIES {
        let query = rng.vector(D);
        for (slot, filter) in [Filter::default(), consenting.clone()].iter().enumerate() {
            let allowed = |i: usize| filter.profiling_consent.is_none() || i.is_multiple_of(2);
            let exact = exact_top_k(&normalised, &unit(&query), 10, allowed);
            let hits = store.search(&query, 10, filter).await.unwrap();
            found[slot] += hits
                .iter()
                .filter(|h| {
                    exact
                        .iter()
                        .any(|&i| points[i].customer_id == h.customer_id)
                })
                .count();
        }
    }
    let recall = found.map(|f| f as f64 / (QUERIES * 10) as f64);
    println!(
        "recall@10 unfiltered {:.3}, consent-filtered {:.3}",
        recall[0], recall[1]
    );
    assert!(recall[0] >= 0.95, "unfiltered recall@10 {}", recall[0]);
    assert!(recall[1] >= 0.95, "filtered recall@10 {}", recall[1]);
}

fn exact_top_k(
    points: &[Vec<f32>],
    query: &[f32],
    k: usize,
    allowed: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| allowed(*i))
        .map(|(i, p)| (p.iter().zip(query).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

// ---------------------------------------------------------------------------------------------
// Server store: the same checks, each in a fresh collection that is removed afterwards.

/// The server under test, and its API key when it requires one.
struct Server {
    url: String,
    api_key: Option<String>,
}

impl Server {
    async fn connect(&self, collection: &str, dim: usize) -> Result<ServerStore, VectorError> {
        ServerStore::connect_with_api_key(&self.url, self.api_key.as_deref(), collection, dim).await
    }
}

fn server() -> Option<Server> {
    let url = std::env::var("SEXTANT_TEST_QDRANT_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("SEXTANT_TEST_QDRANT_URL is not set: skipping the Qdrant server checks");
    }
    Some(Server {
        url: url?,
        api_key: std::env::var("SEXTANT_TEST_QDRANT_API_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
    })
}

async fn with_server_collection<F, Fut>(server: &Server, name: &str, check: F)
where
    F: FnOnce(ServerStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let collection = format!("sextant_test_{}_{name}", std::process::id());
    let admin = qdrant_client::Qdrant::from_url(&server.url)
        .api_key(server.api_key.clone())
        .skip_compatibility_check()
        .build()
        .unwrap();
    let _ = admin.delete_collection(&collection).await;
    let store = server
        .connect(&collection, DIM)
        .await
        .expect("connect to qdrant");
    check(store).await;
    admin.delete_collection(&collection).await.unwrap();
}

#[tokio::test]
async fn server_behaves_like_edge() {
    let Some(url) = server() else { return };
    with_server_collection(&url, "round_trip", |s| async move {
        assert_eq!((s.kind(), s.dim()), ("qdrant-server", DIM));
        check_round_trip(&s).await
    })
    .await;
    with_server_collection(&url, "ranking", |s| async move {
        check_cosine_ranking(&s).await
    })
    .await;
    with_server_collection(&url, "filters", |s| async move { check_filters(&s).await }).await;
    with_server_collection(
        &url,
        "audience",
        |s| async move { check_audience(&s).await },
    )
    .await;
    with_server_collection(&url, "idempotent", |s| async move {
        check_idempotent_upsert(&s).await
    })
    .await;
    with_server_collection(&url, "delete", |s| async move { check_delete(&s).await }).await;
    with_server_collection(&url, "bad_input", |s| async move {
        check_refuses_bad_input(&s).await
    })
    .await;
}

#[tokio::test]
async fn server_refuses_another_dimension() {
    let Some(server) = server() else { return };
    let server = &server;
    with_server_collection(server, "dim", |s| async move {
        s.upsert(vec![point("c-1", &[1.0, 0.0, 0.0, 0.0])])
            .await
            .unwrap();
        let collection = format!("sextant_test_{}_dim", std::process::id());
        let other = server.connect(&collection, DIM + 1).await;
        assert!(matches!(
            other,
            Err(VectorError::DimensionMismatch {
                expected: DIM,
                actual: 5
            })
        ));
    })
    .await;
}

/// A server that requires a key refuses a wrong one, and for good: an error at once, not an
/// outage to wait out.
#[tokio::test]
async fn server_refuses_a_wrong_api_key() {
    let Some(server) = server() else { return };
    if server.api_key.is_none() {
        println!("the Qdrant server under test requires no key: skipping");
        return;
    }
    let wrong = Server {
        url: server.url.clone(),
        api_key: Some("not-the-key".into()),
    };
    let refused = wrong.connect("sextant_test_wrong_key", DIM).await;
    assert!(
        matches!(refused, Err(VectorError::Engine { .. })),
        "{:?}",
        refused.err()
    );
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn server_unreachable_is_unavailable() {
    let store = ServerStore::connect("http://127.0.0.1:1", "customers", DIM).await;
    assert!(
        matches!(store, Err(VectorError::Unavailable { .. })),
        "{:?}",
        store.err()
    );
}
