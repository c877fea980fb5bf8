//! The audit trail: who did what to which object, when, under which request, with what
//! outcome. Append-only and tamper-evident: entries are numbered without gaps (`seq`) and
//! each carries the SHA-256 of its own fields and of the previous entry's hash, so changing,
//! deleting, inserting or reordering any entry breaks the chain at that entry, and
//! [`verify`] names it. The head (last `seq` and hash) can be written down elsewhere and
//! checked later ([`verify`] with `expect_head`): rewriting the whole chain then shows too.

mod checkpoint;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use checkpoint::{
    key_id, message, Checkpoint, CheckpointBreak, CheckpointSigner, CheckpointVerifier,
    CHECKPOINT_EVERY,
};

use crate::StoreError;

/// Who changes something, as the audit trail records it: the subject of the caller's token
/// (or `cli:<user>` at the command line, `system` for Sextant's own work), the role it acted
/// in, and the request that carried it. Every change to the store takes one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub id: String,
    pub role: String,
    /// The request's `x-request-id`; empty for work no request caused.
    pub request_id: String,
}

impl Actor {
    pub fn new(id: impl Into<String>, role: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            role: role.into(),
            request_id: String::new(),
        }
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Actor {
        self.request_id = request_id.into();
        self
    }

    /// Sextant's own work (the demo, the profiling pipeline, training) under `id`.
    pub fn system(id: impl Into<String>) -> Actor {
        Actor::new(id, "system")
    }

    /// An operator at the command line: `cli:<user>` in role `operator`.
    pub fn operator() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor::new(format!("cli:{user}"), "operator")
    }

    /// The entry recording that this actor did `action` to `object`.
    pub fn entry(&self, action: &str, object: &str, detail: serde_json::Value) -> NewAuditEntry {
        NewAuditEntry {
            actor: self.id.clone(),
            role: self.role.clone(),
            action: action.to_owned(),
            object: object.to_owned(),
            request_id: self.request_id.clone(),
            outcome: "ok".into(),
            detail: detail.to_string(),
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAuditEntry {
    /// The subject of the caller's token, or `cli:<user>` for the command line.
    pub actor: String,
    /// The caller's role (`admin`, `marketer`, ..., `system`).
    pub role: String,
    /// What was done, dotted: `customer.replace`, `customer.read`, `import.customers`.
    pub action: String,
    /// What it was done to: a customer id, a campaign id, a file.
    pub object: String,
    /// The request that did it (`x-request-id`), empty for work not caused by a request.
    pub request_id: String,
    /// `ok`, or why not.
    pub outcome: String,
    /// JSON with what changed (never card data: it passed the card scan to get here).
    pub detail: String,
}

/// An entry as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub entry: NewAuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    /// Entries at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Entries before this time (ms since the epoch).
    pub to_ms: Option<i64>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one entry (in its own transaction) and returns it with its chain fields.
    async fn record_audit(
        &self,
        entry: &NewAuditEntry,
        at: DateTime<Utc>,
    ) -> Result<AuditEntry, StoreError>;

    /// Entries matching `filter` with `seq > after`, in `seq` order, at most `limit`.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Signs a checkpoint at every entry due one that has none (a trail that began before
    /// checkpoints, or an interval changed); how many were signed. An explicit act of
    /// whoever holds the audit key: appends never fill gaps by themselves.
    async fn sign_missing_checkpoints(&self, signer: &CheckpointSigner) -> Result<u64, StoreError>;

    /// Signed checkpoints with `seq > after`, in `seq` order, at most `limit`.
    async fn audit_checkpoints(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<Checkpoint>, StoreError>;
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each
/// length-prefixed so no two entries can be written the same way. Hex.
pub fn entry_hash(seq: i64, at_ms: i64, entry: &NewAuditEntry, prev_hash: &str) -> String {
    let mut hasher = Sha256::new();
    let seq = seq.to_string();
    let at_ms = at_ms.to_string();
    for field in [
        prev_hash,
        &seq,
        &at_ms,
        &entry.actor,
        &entry.role,
        &entry.action,
        &entry.object,
        &entry.request_id,
        &entry.outcome,
        &entry.detail,
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of `bytes` (digests in the trail).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// The entry's fields no longer give its hash: it was changed.
    Changed { seq: i64 },
    /// Entries before this one are missing (its number or its link skips them).
    Missing { seq: i64 },
    /// This entry does not link to the one before it: inserted, or moved.
    Unlinked { seq: i64 },
    /// The head written down earlier is not in the chain: rewritten.
    HeadNotFound { seq: i64 },
}

impl Tamper {
    /// The entry where the chain breaks.
    pub fn seq(&self) -> i64 {
        match self {
            Tamper::Changed { seq }
            | Tamper::Missing { seq }
            | Tamper::Unlinked { seq }
            | Tamper::HeadNotFound { seq } => *seq,
        }
    }
}

impl std::fmt::Display for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tamper::Changed { seq } => write!(f, "entry {seq} was changed"),
            Tamper::Missing { seq } => write!(f, "entries before {seq} were deleted"),
            Tamper::Unlinked { seq } => {
                write!(
                    f,
                    "entry {seq} does not follow the one before it (inserted or moved)"
                )
            }
            Tamper::HeadNotFound { seq } => {
                write!(
                    f,
                    "the recorded head at entry {seq} is not in the chain (rewritten)"
                )
            }
        }
    }
}

/// Checks entries in `seq` order, continuing from `prev` (the last entry checked before, or
/// `None` from the start). The first break found, if any.
pub struct Verifier {
    prev: Option<(i64, String)>,
    expect_head: Option<(i64, String)>,
    head_seen: bool,
    pub checked: u64,
}

impl Verifier {
    /// `expect_head`: a (seq, hash) written down earlier that must still be in the chain.
    pub fn new(expect_head: Option<(i64, String)>) -> Self {
        Verifier {
            prev: None,
            expect_head,
            head_seen: false,
            checked: 0,
        }
    }

    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), Tamper> {
        let seq = entry.seq;
        let (expected_seq, expected_prev) = match &self.prev {
            None => (1, ""),
            Some((s, h)) => (s + 1, h.as_str()),
        };
        if entry_hash(seq, entry.at_ms, &entry.entry, &entry.prev_hash) != entry.hash {
            return Err(Tamper::Changed { seq });
        }
        if seq > expected_seq {
            return Err(Tamper::Missing { seq });
        }
        if seq < expected_seq || entry.prev_hash != expected_prev {
            return Err(Tamper::Unlinked { seq });
        }
        if let Some((head_seq, head_hash)) = &self.expect_head {
            if *head_seq == seq {
                if *head_hash != entry.hash {
                    return Err(Tamper::HeadNotFound { seq });
                }
                self.head_seen = true;
            }
        }
        self.prev = Some((seq, entry.hash.clone()));
        self.checked += 1;
        Ok(())
    }

    /// After the last entry: the recorded head must have been met.
    pub fn finish(&self) -> Result<Option<(i64, String)>, Tamper> {
        if let Some((seq, _)) = &self.expect_head {
            if !self.head_seen {
                return Err(Tamper::HeadNotFound { seq: *seq });
            }
        }
        Ok(self.prev.clone())
    }
}

/// Checks a whole chain held in memory.
pub fn verify(entries: &[AuditEntry], expect_head: Option<(i64, String)>) -> Result<(), Tamper> {
    let mut verifier = Verifier::new(expect_head);
    for entry in entries {
        verifier.check(entry)?;
    }
    verifier.finish().map(|_| ())
}

/// The next entry of a chain whose last entry is `prev`.
pub fn chained(prev: Option<&AuditEntry>, entry: NewAuditEntry, at_ms: i64) -> AuditEntry {
    let (seq, prev_hash) = prev.map_or((1, String::new()), |p| (p.seq + 1, p.hash.clone()));
    let hash = entry_hash(seq, at_ms, &entry, &prev_hash);
    AuditEntry {
        seq,
        at_ms,
        entry,
        prev_hash,
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let entry = NewAuditEntry {
                actor: format!("staff-{}", i % 7),
                role: "admin".into(),
                action: "customer.read".into(),
                object: format!("c{i:05}"),
                request_id: format!("r{i}"),
                outcome: "ok".into(),
                detail: "{}".into(),
            };
            entries.push(chained(entries.last(), entry, 1_700_000_000_000 + i as i64));
        }
        entries
    }

    /// A small deterministic generator, so the test needs no randomness crate.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn an_intact_chain_verifies_and_its_head_can_be_pinned() {
        let entries = chain(50);
        assert_eq!(verify(&entries, None), Ok(()));
        let head = (30, entries[29].hash.clone());
        assert_eq!(verify(&entries, Some(head)), Ok(()));
        let wrong = (30, entries[28].hash.clone());
        assert_eq!(
            verify(&entries, Some(wrong)),
            Err(Tamper::HeadNotFound { seq: 30 })
        );
    }

    #[test]
    fn every_one_of_a_thousand_random_tamperings_is_found_where_it_is() {
        let original = chain(200);
        let mut rng = Lcg(42);
        let mut found = [0usize; 4];
        for round in 0..1_000 {
            let mut entries = original.clone();
            let at = 1 + rng.below(entries.len() - 2);
            let seq = entries[at].seq;
            let kind = round % 4;
            match kind {
                // Change one field of one entry.
                0 => entries[at].entry.outcome = "denied".into(),
                // Delete one entry.
                1 => {
                    entries.remove(at);
                }
                // Insert a forged entry that hashes correctly and links to its predecessor.
                2 => {
                    let forged = chained(
                        Some(&entries[at - 1]),
                        NewAuditEntry {
                            actor: "intruder".into(),
                            ..entries[at].entry.clone()
                        },
                        entries[at].at_ms,
                    );
                    entries.insert(at, forged);
                }
                // Swap two neighbours.
                _ => entries.swap(at, at + 1),
            }
            let tamper = verify(&entries, None).expect_err("tampering is found");
            let expected = match kind {
                0 => Tamper::Changed { seq },
                1 => Tamper::Missing { seq: seq + 1 },
                // The forged entry takes `seq`; the real one after it no longer links.
                2 => Tamper::Unlinked { seq },
                _ => Tamper::Missing { seq: seq + 1 },
            };
            assert_eq!(tamper, expected, "round {round}");
            found[kind] += 1;
        }
        assert_eq!(found, [250, 250, 250, 250]);
    }
}
