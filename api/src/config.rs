//! Layered configuration: built-in defaults, then a TOML file (`sextant.toml` in the working
//! directory, or `--config FILE`), then `SEXTANT_`-prefixed environment variables, then
//! command-line flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// A value that never prints (database URLs with passwords, signing secrets).
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Config {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// Holds the SQLite database and generated data.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; unset for SQLite in `data_dir`.
    pub database_url: Option<Secret>,
    /// HS256 signing secret of bearer tokens.
    pub jwt_hs256_secret: Option<Secret>,
    /// RS256 public key (PEM text) of bearer tokens; wins over the HS256 secret.
    pub jwt_rs256_public_key: Option<String>,
    /// A JWKS file of verification keys by `kid` (read again when it changes, for
    /// rotation); wins over the two above.
    pub jwt_jwks_file: Option<PathBuf>,
    /// The `iss` every token must carry.
    pub jwt_issuer: String,
    /// The `aud` every token must carry.
    pub jwt_audience: String,
    /// Longest `exp - iat` accepted, in seconds.
    pub jwt_max_lifetime_secs: u64,
    /// `tracing` filter, e.g. `info` or `sextant_api=debug`.
    pub log: String,
    /// gRPC URL of a Qdrant server (e.g. `http://qdrant:6334`, `https://` for TLS); unset
    /// for the in-process qdrant-edge store in `data_dir/vectors`.
    pub qdrant_url: Option<String>,
    /// The Qdrant server's API key, when it requires one (`SEXTANT_QDRANT_API_KEY`).
    pub qdrant_api_key: Option<Secret>,
    /// Dimension of customer embeddings (and of the vector store).
    pub embedding_dim: usize,
    /// Master key (base64 of 32 bytes) that wraps customers' data keys; usually given as
    /// `SEXTANT_MASTER_KEY`. Wins over `master_key_file`.
    pub master_key: Option<Secret>,
    /// File holding the master key (base64); never inside `data_dir`.
    pub master_key_file: Option<PathBuf>,
    /// Master keys of before a rotation, still accepted until `sextant keys rotate` is done.
    pub previous_master_key_files: Vec<PathBuf>,
    /// File holding the audit key (Ed25519, PKCS#8 base64) that signs the audit trail's
    /// checkpoints; never inside `data_dir`, and best not beside the master key. Its public
    /// key is written beside it (`.pub`) when it is created.
    pub audit_key_file: Option<PathBuf>,
    /// Audit entries between signed checkpoints (default 1,000): a rewrite of the trail by
    /// someone without the audit key can hide at most this many entries after the last one.
    pub audit_checkpoint_every: i64,
    /// A sanctions list in the OFAC SDN CSV layout, read at start, that
    /// `POST /v1/screening/check` screens names against; unset, screening answers 503.
    pub sanctions_list_file: Option<PathBuf>,
    /// Timeouts, connection cap and rate limits (`[limits]` in `sextant.toml`).
    pub limits: Limits,
    /// HTTPS (`[tls]`): with both files set the server speaks only TLS.
    pub tls: Tls,
}

/// Limits on what one client can hold or ask (`[limits]`; environment
/// `SEXTANT_LIMITS__<NAME>`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Limits {
    /// Time to send a request's headers, counted from the end of the previous answer, so
    /// it is also how long an idle keep-alive connection stays open.
    pub header_read_timeout_secs: u64,
    /// Time to send a request's body once its headers arrived (answers 408).
    pub body_read_timeout_secs: u64,
    /// Time a request may take once read; the work is cancelled, optimisation included
    /// (answers 503 `deadline_exceeded`).
    pub request_timeout_secs: u64,
    /// Open connections at most; further ones are closed at once. Lowered at start to fit
    /// the process's open-file limit.
    pub max_connections: usize,
    /// Sustained requests per second per bearer token, and the burst above it (0: no limit).
    pub per_token_per_sec: f64,
    pub per_token_burst: f64,
    /// Sustained requests per second per client address, and the burst above it (0: no
    /// limit).
    pub per_address_per_sec: f64,
    pub per_address_burst: f64,
    /// Failed authentications per minute per client address before it is refused (429).
    pub auth_failures_per_address_per_min: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            request_timeout_secs: 30,
            max_connections: 1_024,
            per_token_per_sec: 1_000.0,
            per_token_burst: 2_000.0,
            per_address_per_sec: 2_000.0,
            per_address_burst: 4_000.0,
            auth_failures_per_address_per_min: 60.0,
        }
    }
}

impl Limits {
    /// No rate limits, for load generators that measure the server itself.
    pub fn unthrottled() -> Self {
        Limits {
            per_token_per_sec: 0.0,
            per_address_per_sec: 0.0,
            auth_failures_per_address_per_min: 0.0,
            ..Limits::default()
        }
    }
}

/// The server's certificate chain and private key, PEM files read again when they change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Tls {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("sextant-data"),
            database_url: None,
            jwt_hs256_secret: None,
            jwt_rs256_public_key: None,
            jwt_jwks_file: None,
            jwt_issuer: "sextant".into(),
            jwt_audience: "sextant-api".into(),
            jwt_max_lifetime_secs: 24 * 3600,
            log: "info".into(),
            qdrant_url: None,
            qdrant_api_key: None,
            embedding_dim: 32,
            master_key: None,
            master_key_file: None,
            previous_master_key_files: Vec::new(),
            audit_key_file: None,
            audit_checkpoint_every: sextant_store::audit::CHECKPOINT_EVERY,
            sanctions_list_file: None,
            limits: Limits::default(),
            tls: Tls::default(),
        }
    }
}

impl Config {
    /// Loads the layers below the command line.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "configuration file {} does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("sextant.toml")),
        }
        let config: Config = figment
            .merge(Env::prefixed("SEXTANT_").split("__"))
            .extract()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let config = Config {
            database_url: Some(Secret::new("postgres://u:pw@h/db".into())),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("pw"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("sextant.toml", "addr = \"127.0.0.1:9000\"\nlog = \"debug\"")?;
            jail.set_env("SEXTANT_LOG", "warn");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.addr.port(), 9000);
            assert_eq!(config.log, "warn");
            Ok(())
        });
    }
}
