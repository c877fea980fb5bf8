//! Signed checkpoints: every [`CHECKPOINT_EVERY`]th entry's number and hash, signed with an
//! Ed25519 key that is held apart from the database (a file on another volume, or from a
//! key manager). The hash chain shows an entry changed, deleted or inserted; a checkpoint
//! shows a chain rewritten from scratch, which recomputing every hash would otherwise hide,
//! by whoever can write the database but does not hold the key. Only the public key is
//! needed to verify, so compliance can check the trail without being able to sign it.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Entries between checkpoints in production: a rewrite can hide at most this many entries
/// after the last checkpoint (pin the head with `--expect-head` to cover those too).
pub const CHECKPOINT_EVERY: i64 = 1_000;

/// A signed statement that entry `seq` of the trail has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// The interval the signer was writing checkpoints at (signed with the rest).
    pub every: i64,
    /// Which key signed: the first 16 hex digits of the SHA-256 of its public key.
    pub key_id: String,
    /// Ed25519 over [`message`], base64.
    pub signature: String,
    pub signed_at_ms: i64,
}

/// What is signed: a fixed label, then the entry number, hash and interval, each on a line.
pub fn message(seq: i64, hash: &str, every: i64) -> Vec<u8> {
    format!("sextant-audit-checkpoint\n{seq}\n{hash}\n{every}").into_bytes()
}

/// A public key's id: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key: &[u8]) -> String {
    Sha256::digest(public_key)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Holds the private audit key and signs checkpoints with it.
pub struct CheckpointSigner {
    key: Ed25519KeyPair,
    key_id: String,
    every: i64,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// A new random key: the PKCS#8 document to keep (base64), and the public key (base64).
    pub fn generate() -> (String, String) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .expect("the system's random source works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a fresh key parses");
        (
            BASE64.encode(pkcs8.as_ref()),
            BASE64.encode(pair.public_key().as_ref()),
        )
    }

    /// The signer of a key written by [`CheckpointSigner::generate`], checkpointing every
    /// `every` entries (at least 1).
    pub fn from_base64(pkcs8: &str, every: i64) -> Result<CheckpointSigner, StoreError> {
        let bytes = BASE64
            .decode(pkcs8.trim())
            .map_err(|_| StoreError::Corrupt("the audit key is not base64".into()))?;
        let key = Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| {
            StoreError::Corrupt("the audit key is not an Ed25519 PKCS#8 key".into())
        })?;
        let key_id = key_id(key.public_key().as_ref());
        Ok(CheckpointSigner {
            key,
            key_id,
            every: every.max(1),
        })
    }

    /// The public key, base64: what verification needs.
    pub fn public_key(&self) -> String {
        BASE64.encode(self.key.public_key().as_ref())
    }

    pub fn every(&self) -> i64 {
        self.every
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether entry `seq` is one to checkpoint.
    pub fn due(&self, seq: i64) -> bool {
        seq > 0 && seq % self.every == 0
    }

    pub fn sign(&self, seq: i64, hash: &str, signed_at_ms: i64) -> Checkpoint {
        let signature = self.key.sign(&message(seq, hash, self.every));
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            every: self.every,
            key_id: self.key_id.clone(),
            signature: BASE64.encode(signature.as_ref()),
            signed_at_ms,
        }
    }
}

/// Why a checkpoint does not vouch for the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointBreak {
    /// Signed by none of the keys given.
    UnknownKey { seq: i64 },
    /// The signature does not match what it claims: forged or altered.
    BadSignature { seq: i64 },
    /// A valid checkpoint names a hash the trail's entry does not have: rewritten.
    HashDiffers { seq: i64 },
    /// The checkpoint's entry is not in the trail.
    EntryMissing { seq: i64 },
    /// The trail reaches this entry, a checkpoint is due there, and none is: deleted.
    Missing { seq: i64 },
}

impl std::fmt::Display for CheckpointBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointBreak::UnknownKey { seq } => {
                write!(
                    f,
                    "the checkpoint at entry {seq} is signed by an unknown key"
                )
            }
            CheckpointBreak::BadSignature { seq } => {
                write!(
                    f,
                    "the checkpoint at entry {seq} has a bad signature (forged)"
                )
            }
            CheckpointBreak::HashDiffers { seq } => write!(
                f,
                "entry {seq} differs from its signed checkpoint (the trail was rewritten)"
            ),
            CheckpointBreak::EntryMissing { seq } => {
                write!(f, "entry {seq} is signed for but no longer in the trail")
            }
            CheckpointBreak::Missing { seq } => {
                write!(f, "the checkpoint due at entry {seq} is missing (deleted)")
            }
        }
    }
}

impl CheckpointBreak {
    pub fn seq(&self) -> i64 {
        match self {
            CheckpointBreak::UnknownKey { seq }
            | CheckpointBreak::BadSignature { seq }
            | CheckpointBreak::HashDiffers { seq }
            | CheckpointBreak::EntryMissing { seq }
            | CheckpointBreak::Missing { seq } => *seq,
        }
    }
}

/// Checks checkpoints against public keys and the trail's entries.
pub struct CheckpointVerifier {
    keys: HashMap<String, Vec<u8>>,
}

impl CheckpointVerifier {
    /// From base64 public keys (the current key and any earlier ones still to be honoured).
    pub fn new(public_keys: &[String]) -> Result<CheckpointVerifier, StoreError> {
        let mut keys = HashMap::new();
        for text in public_keys {
            let bytes = BASE64
                .decode(text.trim())
                .map_err(|_| StoreError::Corrupt("an audit public key is not base64".into()))?;
            if bytes.len() != 32 {
                return Err(StoreError::Corrupt(
                    "an audit public key is not 32 bytes of Ed25519".into(),
                ));
            }
            keys.insert(key_id(&bytes), bytes);
        }
        Ok(CheckpointVerifier { keys })
    }

    /// Whether the checkpoint is signed by one of the keys, for what it says.
    pub fn check_signature(&self, c: &Checkpoint) -> Result<(), CheckpointBreak> {
        let seq = c.seq;
        let key = self
            .keys
            .get(&c.key_id)
            .ok_or(CheckpointBreak::UnknownKey { seq })?;
        let signature = BASE64
            .decode(&c.signature)
            .map_err(|_| CheckpointBreak::BadSignature { seq })?;
        UnparsedPublicKey::new(&ED25519, key)
            .verify(&message(seq, &c.hash, c.every), &signature)
            .map_err(|_| CheckpointBreak::BadSignature { seq })
    }

    /// Checks `checkpoints` (in `seq` order) against the trail whose entry hashes `hash_at`
    /// gives, up to its last entry `head`: a checkpoint at every multiple of `every` up to
    /// the head, each signed by a known key and naming its entry's hash. The number of
    /// checkpoints verified.
    pub fn verify(
        &self,
        checkpoints: &[Checkpoint],
        head: i64,
        every: i64,
        mut hash_at: impl FnMut(i64) -> Option<String>,
    ) -> Result<u64, CheckpointBreak> {
        let every = every.max(1);
        let mut signed = checkpoints.iter().peekable();
        let mut verified = 0;
        let mut due = every;
        loop {
            // Checkpoints between the due ones (an operator's) are checked as well.
            let Some(c) = signed.next_if(|c| c.seq <= due.min(head) || c.seq > head) else {
                if due <= head {
                    return Err(CheckpointBreak::Missing { seq: due });
                }
                break;
            };
            self.check_signature(c)?;
            match hash_at(c.seq) {
                None => return Err(CheckpointBreak::EntryMissing { seq: c.seq }),
                Some(hash) if hash != c.hash => {
                    return Err(CheckpointBreak::HashDiffers { seq: c.seq })
                }
                Some(_) => verified += 1,
            }
            if c.seq == due {
                due += every;
            }
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(n: i64) -> HashMap<i64, String> {
        (1..=n).map(|s| (s, format!("{s:064x}"))).collect()
    }

    fn signed(
        signer: &CheckpointSigner,
        entries: &HashMap<i64, String>,
        head: i64,
    ) -> Vec<Checkpoint> {
        (1..=head)
            .filter(|&s| signer.due(s))
            .map(|s| signer.sign(s, &entries[&s], 0))
            .collect()
    }

    #[test]
    fn checkpoints_vouch_for_the_trail_and_show_each_kind_of_tampering() {
        let (private, public) = CheckpointSigner::generate();
        let signer = CheckpointSigner::from_base64(&private, 10).unwrap();
        assert_eq!(signer.public_key(), public);
        let verifier = CheckpointVerifier::new(&[public]).unwrap();
        let entries = trail(47);
        let checkpoints = signed(&signer, &entries, 47);
        assert_eq!(checkpoints.len(), 4);
        let at = |e: &HashMap<i64, String>| {
            let e = e.clone();
            move |s: i64| e.get(&s).cloned()
        };
        assert_eq!(verifier.verify(&checkpoints, 47, 10, at(&entries)), Ok(4));

        // The chain rewritten from entry 15 on (every hash recomputed): entry 20 differs.
        let mut rewritten = entries.clone();
        for s in 15..=47 {
            rewritten.insert(s, format!("{:064x}", s + 1_000));
        }
        assert_eq!(
            verifier.verify(&checkpoints, 47, 10, at(&rewritten)),
            Err(CheckpointBreak::HashDiffers { seq: 20 })
        );
        // The rewriter re-signs with a key of their own: unknown.
        let (other, _) = CheckpointSigner::generate();
        let forger = CheckpointSigner::from_base64(&other, 10).unwrap();
        let forged = signed(&forger, &rewritten, 47);
        assert_eq!(
            verifier.verify(&forged, 47, 10, at(&rewritten)),
            Err(CheckpointBreak::UnknownKey { seq: 10 })
        );
        // Or keeps the key id and changes the hash: the signature no longer matches.
        let mut altered = checkpoints.clone();
        altered[1].hash = rewritten[&20].clone();
        assert_eq!(
            verifier.verify(&altered, 47, 10, at(&rewritten)),
            Err(CheckpointBreak::BadSignature { seq: 20 })
        );
        // Deleting a checkpoint, or the last ones, shows.
        let mut gap = checkpoints.clone();
        gap.remove(2);
        assert_eq!(
            verifier.verify(&gap, 47, 10, at(&entries)),
            Err(CheckpointBreak::Missing { seq: 30 })
        );
        assert_eq!(
            verifier.verify(&checkpoints[..2], 47, 10, at(&entries)),
            Err(CheckpointBreak::Missing { seq: 30 })
        );
        assert_eq!(
            verifier.verify(&[], 47, 10, at(&entries)),
            Err(CheckpointBreak::Missing { seq: 10 })
        );
        // A trail cut short before a checkpoint loses the entry it vouches for.
        assert_eq!(
            verifier.verify(&checkpoints, 35, 10, at(&trail(35))),
            Err(CheckpointBreak::EntryMissing { seq: 40 })
        );
    }

    #[test]
    fn keys_that_are_not_ed25519_are_refused() {
        assert!(CheckpointSigner::from_base64("bm90IGEga2V5", 10).is_err());
        assert!(CheckpointVerifier::new(&["AAAA".into()]).is_err());
    }
}
