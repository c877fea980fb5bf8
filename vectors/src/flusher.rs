//! Deferred flushes for the in-process store.
//!
//! A qdrant-edge flush writes every file of every segment to disk (`EdgeShard::flush` forces
//! all of them): about 10 ms on this machine, with outliers near a second. Paid on every
//! upsert it was most of a profile refresh (p50 10 of 16 ms) and all of its tail. So upserts
//! are applied (searches see them at once) and acknowledged; a background thread flushes
//! what is pending once per [`FLUSH_EVERY`].
//!
//! What a crash can then lose is said on disk: before the first upsert after a flush, the
//! marker file records when it happened (written and synced before the upsert is applied).
//! A flush empties the marker. The next process finds a non-empty marker and reports it
//! ([`crate::VectorStore::lost_since`]); the vectors are derived data, so its owner
//! recomputes them from what the database holds and says so ([`crate::VectorStore::recovered`]).
//! Deletes are not deferred: a withdrawn consent must not come back after a crash.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an acknowledged upsert may wait for its flush.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Empty when everything acknowledged is on disk; otherwise the time (milliseconds since the
/// Unix epoch) from which acknowledged upserts may not be.
const MARKER_FILE: &str = "sextant-unflushed-since";

/// The marker and what it says. Callers hold the store's writer lock, so this lock is
/// never contended.
pub(crate) struct Unflushed {
    state: Mutex<State>,
}

struct State {
    marker: File,
    /// The oldest upsert of this process not flushed yet.
    since: Option<SystemTime>,
    /// What the previous process left unflushed, until its owner recovers it.
    inherited: Option<SystemTime>,
}

impl Unflushed {
    /// Opens the marker in `dir`, creating an empty one (and syncing the folder, so that
    /// later writes only rewrite its content).
    pub(crate) fn open(dir: &Path) -> std::io::Result<Unflushed> {
        let path = dir.join(MARKER_FILE);
        let existed = path.exists();
        let mut marker = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        if !existed {
            marker.sync_all()?;
            File::open(dir)?.sync_all()?;
        }
        let mut text = String::new();
        marker.read_to_string(&mut text)?;
        // A torn marker says only that something was pending: recover everything.
        let inherited = (!text.trim().is_empty()).then(|| {
            text.trim()
                .parse::<u64>()
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
                .unwrap_or(UNIX_EPOCH)
        });
        Ok(Unflushed {
            state: Mutex::new(State {
                marker,
                since: None,
                inherited,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the previous process may have lost.
    pub(crate) fn inherited(&self) -> Option<SystemTime> {
        self.state().inherited
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.state().since.is_some()
    }

    /// Before an upsert is applied: makes sure the marker names a time at or before it.
    pub(crate) fn before_write(&self) -> std::io::Result<()> {
        let mut state = self.state();
        if state.since.is_some() {
            return Ok(());
        }
        let now = SystemTime::now();
        if state.inherited.is_none() {
            state.write_marker(Some(now))?;
        }
        state.since = Some(now);
        Ok(())
    }

    /// After a flush: everything applied before it is on disk.
    pub(crate) fn flushed(&self) -> std::io::Result<()> {
        let mut state = self.state();
        state.since = None;
        if state.inherited.is_none() {
            state.write_marker(None)?;
        }
        Ok(())
    }

    /// After the previous process's losses were made again and flushed.
    pub(crate) fn recovered(&self) -> std::io::Result<()> {
        let mut state = self.state();
        state.inherited = None;
        let since = state.since;
        state.write_marker(since)
    }
}

impl State {
    fn write_marker(&mut self, since: Option<SystemTime>) -> std::io::Result<()> {
        let marker = &mut self.marker;
        let text = since
            .map(|t| {
                t.duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
                    .to_string()
            })
            .unwrap_or_default();
        marker.set_len(0)?;
        marker.seek(SeekFrom::Start(0))?;
        marker.write_all(text.as_bytes())?;
        // Only a non-empty marker must be durable before the write it covers; an emptied
        // one that a crash loses costs a needless recovery, nothing more.
        if since.is_some() {
            marker.sync_data()?;
        }
        Ok(())
    }
}

/// The background thread: calls `flush` on what `owner` still points to every
/// [`FLUSH_EVERY`], until dropped (which waits for the thread).
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    pub(crate) fn start<T: Send + Sync + 'static>(
        owner: Weak<T>,
        flush: impl Fn(&T) + Send + 'static,
    ) -> std::io::Result<Flusher> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vectors-flush".into())
            .spawn(move || loop {
                let (stopped, wake) = &*signal;
                let guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                let (guard, _) = wake
                    .wait_timeout_while(guard, FLUSH_EVERY, |stopped| !*stopped)
                    .unwrap_or_else(PoisonError::into_inner);
                if *guard {
                    return;
                }
                drop(guard);
                let Some(owner) = owner.upgrade() else {
                    return;
                };
                flush(&owner);
            })?;
        Ok(Flusher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_says_what_a_crash_would_lose_until_it_is_flushed_or_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let unflushed = Unflushed::open(dir.path()).unwrap();
        assert_eq!(unflushed.inherited(), None, "a new marker is empty");
        let before = SystemTime::now() - Duration::from_millis(1);
        unflushed.before_write().unwrap();
        assert!(unflushed.is_pending());
        drop(unflushed);

        // The process stopped before a flush: the next one inherits the time.
        let reopened = Unflushed::open(dir.path()).unwrap();
        let lost = reopened.inherited().expect("the marker survived");
        assert!(lost >= before && lost <= SystemTime::now(), "{lost:?}");
        // A flush alone does not clear an inherited loss: only its recovery does.
        reopened.before_write().unwrap();
        reopened.flushed().unwrap();
        drop(reopened);
        let again = Unflushed::open(dir.path()).unwrap();
        assert_eq!(again.inherited(), Some(lost));
        again.recovered().unwrap();
        drop(again);
        assert_eq!(Unflushed::open(dir.path()).unwrap().inherited(), None);

        // A write then a flush leaves nothing to recover.
        let clean = Unflushed::open(dir.path()).unwrap();
        clean.before_write().unwrap();
        clean.flushed().unwrap();
        assert!(!clean.is_pending());
        drop(clean);
        assert_eq!(Unflushed::open(dir.path()).unwrap().inherited(), None);
    }

    #[test]
    fn a_torn_marker_means_recover_everything() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MARKER_FILE), "17x").unwrap();
        assert_eq!(
            Unflushed::open(dir.path()).unwrap().inherited(),
            Some(UNIX_EPOCH)
        );
    }
}
