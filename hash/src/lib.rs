//! Sextant's hashes, in one place, each fixed by its published definition.
//!
//! Stored data depends on every output here: event content hashes tell a re-sent event from
//! a reused id, vector point ids address stored embeddings, holdout buckets keep a customer
//! in the same arm of a running campaign, and SHA-256 digests name model versions and data
//! sets. None of them may change between releases, which is why they are written out here
//! rather than taken from `std` (whose `DefaultHasher` may change) and why each is pinned by
//! published test vectors below.
//!
//! - [`Fnv64`] / [`fnv1a64`]: 64-bit FNV-1a (not cryptographic: fast, stable fingerprints).
//! - [`splitmix64_finalise`]: the output function of splitmix64, which spreads FNV's weak
//!   low bits over the whole word before a value is reduced to a bucket.
//! - [`Fnv128`]: 128-bit FNV-1a, for content names of training sets and weights.
//! - [`sha256_hex`]: SHA-256 (FIPS 180-4, the `sha2` crate), lower-case hex.

use sha2::{Digest, Sha256};

const FNV64_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;
const FNV128_OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// 64-bit FNV-1a over a stream of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::new()
    }
}

impl Fnv64 {
    pub const fn new() -> Self {
        Fnv64(FNV64_OFFSET_BASIS)
    }

    /// Feeds `bytes` as they are (no length or separator: callers that hash several fields
    /// add their own, so that `("ab", "c")` and `("a", "bc")` differ).
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u8(byte);
        }
    }

    pub fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV64_PRIME);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = Fnv64::new();
    hash.write(bytes);
    hash.finish()
}

/// The output function of splitmix64 (Steele, Lea and Flood 2014; the constants of
/// Stafford's "Mix13"). A bijection: it adds no collisions.
pub fn splitmix64_finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 128-bit FNV-1a over a stream of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128::new()
    }
}

impl Fnv128 {
    pub const fn new() -> Self {
        Fnv128(FNV128_OFFSET_BASIS)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u128::from(byte)).wrapping_mul(FNV128_PRIME);
        }
    }

    pub fn finish(&self) -> u128 {
        self.0
    }

    /// 32 lower-case hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Lower-case hex SHA-256 of `bytes`: data fingerprints and model versions.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        // Test vectors of the FNV reference (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let mut streamed = Fnv64::new();
        streamed.write(b"foo");
        streamed.write(b"bar");
        assert_eq!(streamed.finish(), fnv1a64(b"foobar"));
    }

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // splitmix64 seeded with 0 yields 0xe220a8397b1dcdaf first: the finaliser of
        // 0 + 0x9e3779b97f4a7c15.
        assert_eq!(
            splitmix64_finalise(0x9e37_79b9_7f4a_7c15),
            0xe220_a839_7b1d_cdaf
        );
    }

    #[test]
    fn fnv1a128_matches_the_published_vectors() {
        let empty = Fnv128::new();
        assert_eq!(empty.hex(), "6c62272e07bb014262b821756295c58d");
        let mut a = Fnv128::new();
        a.write(b"a");
        assert_eq!(a.hex(), "d228cb696f1a8caf78912b704e4a8964");
    }

    #[test]
    fn sha256_of_known_messages() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // Two blocks of padding, and a message of exactly one block.
        assert_eq!(
            sha256_hex(&[b'a'; 64]),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
        );
    }
}
