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
    /// `tracing` filter, e.g. `info` or `sextant_api=debug`.
    pub log: String,
    /// gRPC URL of a Qdrant server (e.g. `http://qdrant:6334`); unset for the in-process
    /// qdrant-edge store in `data_dir/vectors`.
    pub qdrant_url: Option<String>,
    /// Dimension of customer embeddings (and of the vector store).
    pub embedding_dim: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("sextant-data"),
            database_url: None,
            jwt_hs256_secret: None,
            jwt_rs256_public_key: None,
            log: "info".into(),
            qdrant_url: None,
            embedding_dim: 32,
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
        let config: Config = figment.merge(Env::prefixed("SEXTANT_")).extract()?;
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
