//! Encryption at rest, by envelope: each customer has a data key of their own (AES-256-GCM),
//! stored only wrapped under a master key (AES-256-GCM again) that never lives with the data
//! (a file or variable given at start). Personal fields and free texts are sealed under the
//! customer's key, bound to the customer and the field (the associated data), so a sealed
//! value copied to another row or field does not open. Destroying a customer's data key
//! makes everything sealed under it unreadable for good, in the database, its log and every
//! backup: erasure by crypto-shredding.
//!
//! Master keys are named by the first 16 hex digits of their SHA-256, recorded beside each
//! wrapped key, so a keyring of the current key and the previous ones opens every wrapped key
//! during a rotation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Bytes of a key (AES-256).
pub const KEY_BYTES: usize = 32;
/// Data keys kept unwrapped in memory; beyond it the cache starts again.
const CACHE_MAX: usize = 200_000;
/// What a sealed value starts with (the format's version).
pub const SEALED_PREFIX: &str = "v1:";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// A master key: wraps and unwraps data keys.
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl MasterKey {
    /// From exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, StoreError> {
        if bytes.len() != KEY_BYTES {
            return Err(StoreError::Unavailable(format!(
                "a master key is {KEY_BYTES} bytes, not {}",
                bytes.len()
            )));
        }
        let id: String = Sha256::digest(bytes)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(MasterKey {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
        })
    }

    /// From the base64 text of 32 bytes (how key files and variables hold it).
    pub fn from_base64(text: &str) -> Result<MasterKey, StoreError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| StoreError::Unavailable("a master key must be base64".into()))?;
        MasterKey::from_bytes(&bytes)
    }

    /// A fresh random key and its base64 text.
    pub fn generate() -> (MasterKey, String) {
        let key = Aes256Gcm::generate_key(OsRng);
        let text = base64::engine::general_purpose::STANDARD.encode(key);
        (
            MasterKey::from_bytes(&key).expect("a generated key has the right length"),
            text,
        )
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A customer's data key, unwrapped.
#[derive(Clone)]
pub struct DataKey(Arc<Aes256Gcm>);

/// The master keys a store may use, and the data keys it has unwrapped.
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
    cache: Mutex<HashMap<String, DataKey>>,
}

impl Keyring {
    /// `current` wraps new data keys; `previous` still unwrap old ones (during a rotation).
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Keyring {
        Keyring {
            current,
            previous,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A random master key held nowhere else: for scratch databases that live as long as
    /// the process (benchmarks, evaluations, tests).
    pub fn ephemeral() -> Keyring {
        Keyring::new(MasterKey::generate().0, Vec::new())
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    fn master(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// A new data key for `customer`, wrapped: (master key id, wrapped text) to store. It
    /// is used once read back from the store, so concurrent writers agree on one key.
    pub fn new_wrapped_key(&self, customer: &str) -> (String, String) {
        let bytes = Aes256Gcm::generate_key(OsRng);
        (
            self.current.id.clone(),
            wrap(&self.current, customer, &bytes),
        )
    }

    /// Opens a stored wrapped key.
    pub fn unwrap_key(
        &self,
        customer: &str,
        master_id: &str,
        wrapped: &str,
    ) -> Result<DataKey, StoreError> {
        let bytes = self.unwrap_bytes(customer, master_id, wrapped)?;
        let key = DataKey(Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(
            &bytes,
        ))));
        self.remember(customer, key.clone());
        Ok(key)
    }

    /// Wraps a stored key again under the current master key (a rotation step).
    pub fn rewrap(
        &self,
        customer: &str,
        master_id: &str,
        wrapped: &str,
    ) -> Result<(String, String), StoreError> {
        let bytes = self.unwrap_bytes(customer, master_id, wrapped)?;
        Ok((
            self.current.id.clone(),
            wrap(&self.current, customer, &bytes),
        ))
    }

    fn unwrap_bytes(
        &self,
        customer: &str,
        master_id: &str,
        wrapped: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let master = self.master(master_id).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "the data key of a customer is wrapped under master key {master_id}, which is \
                 not configured (add it to previous_master_key_files)"
            ))
        })?;
        open_with(&master.cipher, &aad(customer, "data_key"), wrapped)
    }

    /// The cached key of `customer`, if unwrapped before.
    pub fn cached(&self, customer: &str) -> Option<DataKey> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(customer)
            .cloned()
    }

    fn remember(&self, customer: &str, key: DataKey) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(customer.to_owned(), key);
    }

    /// Forgets a customer's key (after erasure).
    pub fn forget(&self, customer: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(customer);
    }
}

fn aad(customer: &str, field: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(customer.len() + field.len() + 1);
    aad.extend_from_slice(customer.as_bytes());
    aad.push(0);
    aad.extend_from_slice(field.as_bytes());
    aad
}

fn wrap(master: &MasterKey, customer: &str, key: &[u8]) -> String {
    seal_with(&master.cipher, &aad(customer, "data_key"), key)
}

/// Bytes of a nonce, and of a tag, in a sealed value (`nonce || ciphertext || tag`).
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

fn seal_with(cipher: &Aes256Gcm, aad: &[u8], plain: &[u8]) -> String {
    // A random 96-bit nonce per value, from the thread's CSPRNG (ChaCha, seeded and reseeded
    // from the operating system): a system call per value cost more than the encryption.
    // Two allocations per value (this runs three times per ingested payment).
    let mut bytes = Vec::with_capacity(NONCE_BYTES + plain.len() + TAG_BYTES);
    bytes.resize(NONCE_BYTES, 0);
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.extend_from_slice(plain);
    let (nonce, body) = bytes.split_at_mut(NONCE_BYTES);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, body)
        .expect("AES-GCM encrypts any message below 64 GiB");
    bytes.extend_from_slice(&tag);
    let mut out = String::with_capacity(SEALED_PREFIX.len() + bytes.len().div_ceil(3) * 4);
    out.push_str(SEALED_PREFIX);
    B64.encode_string(&bytes, &mut out);
    out
}

fn open_with(cipher: &Aes256Gcm, aad: &[u8], sealed: &str) -> Result<Vec<u8>, StoreError> {
    let broken = || StoreError::Corrupt("a sealed value does not open".into());
    let body = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(broken)?;
    let bytes = B64.decode(body).map_err(|_| broken())?;
    if bytes.len() < 12 {
        return Err(broken());
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| broken())
}

/// Seals `plain` under the customer's key, bound to the customer and the field.
pub fn seal(key: &DataKey, customer: &str, field: &str, plain: &str) -> String {
    with_aad(customer, field, |aad| {
        seal_with(&key.0, aad, plain.as_bytes())
    })
}

/// Runs `f` on the associated data of (customer, field), built on the stack when it fits.
fn with_aad<T>(customer: &str, field: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    const ON_STACK: usize = 128;
    let len = customer.len() + 1 + field.len();
    if len > ON_STACK {
        return f(&aad(customer, field));
    }
    let mut buf = [0u8; ON_STACK];
    buf[..customer.len()].copy_from_slice(customer.as_bytes());
    buf[customer.len() + 1..len].copy_from_slice(field.as_bytes());
    f(&buf[..len])
}

/// Opens what [`seal`] sealed for this customer and field.
pub fn open(
    key: &DataKey,
    customer: &str,
    field: &str,
    sealed: &str,
) -> Result<String, StoreError> {
    let bytes = with_aad(customer, field, |aad| open_with(&key.0, aad, sealed))?;
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt("a sealed text is not UTF-8".into()))
}

/// Whether a stored text is sealed (rather than written before encryption existed).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_customer_and_field() {
        let ring = Keyring::ephemeral();
        let (master, wrapped) = ring.new_wrapped_key("c1");
        let key = ring.unwrap_key("c1", &master, &wrapped).unwrap();
        let sealed = seal(&key, "c1", "region", "prague");
        assert!(is_sealed(&sealed) && !sealed.contains("prague"));
        assert_eq!(open(&key, "c1", "region", &sealed).unwrap(), "prague");
        assert!(open(&key, "c2", "region", &sealed).is_err());
        assert!(open(&key, "c1", "occupation", &sealed).is_err());
        assert_ne!(sealed, seal(&key, "c1", "region", "prague"), "fresh nonces");
        let again = ring.unwrap_key("c1", &master, &wrapped).unwrap();
        assert_eq!(open(&again, "c1", "region", &sealed).unwrap(), "prague");
        assert!(
            ring.unwrap_key("c2", &master, &wrapped).is_err(),
            "bound to its customer"
        );
    }

    #[test]
    fn a_rotation_rewraps_under_the_new_master_key() {
        let master = |b: u8| MasterKey::from_bytes(&[b; 32]).unwrap();
        let old = Keyring::new(master(1), Vec::new());
        let (old_id, wrapped) = old.new_wrapped_key("c1");
        let key = old.unwrap_key("c1", &old_id, &wrapped).unwrap();
        let sealed = seal(&key, "c1", "query", "holiday");
        let stranger = Keyring::new(master(9), Vec::new());
        assert!(
            stranger.unwrap_key("c1", &old_id, &wrapped).is_err(),
            "a master key that is not configured is named, not guessed"
        );
        let rotating = Keyring::new(master(7), vec![master(1)]);
        assert!(rotating.unwrap_key("c1", &old_id, &wrapped).is_ok());
        let (id, rewrapped) = rotating.rewrap("c1", &old_id, &wrapped).unwrap();
        assert_eq!(id, rotating.current_id());
        let after = Keyring::new(master(7), Vec::new());
        let key = after.unwrap_key("c1", &id, &rewrapped).unwrap();
        assert_eq!(open(&key, "c1", "query", &sealed).unwrap(), "holiday");
    }
}
