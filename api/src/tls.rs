//! The server's TLS: a certificate chain and a private key from PEM files (rustls, TLS 1.2
//! and 1.3 with its safe defaults, ring as the provider), read again when either file
//! changes, so a renewed certificate takes effect without a restart. A renewal that does
//! not load keeps the previous certificate and says so in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// How often the files' modification times are looked at.
const RECHECK: Duration = Duration::from_secs(2);

pub struct TlsFiles {
    cert_file: PathBuf,
    key_file: PathBuf,
    state: RwLock<Loaded>,
}

struct Loaded {
    acceptor: TlsAcceptor,
    modified: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

impl TlsFiles {
    /// Loads both files; an error names the file that does not load.
    pub fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsFiles> {
        let acceptor = acceptor(cert_file, key_file)?;
        Ok(TlsFiles {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            state: RwLock::new(Loaded {
                acceptor,
                modified: (modified(cert_file), modified(key_file)),
                checked: Instant::now(),
            }),
        })
    }

    /// The acceptor for a new connection, after reloading changed files.
    pub fn acceptor(&self) -> TlsAcceptor {
        let stale = self
            .state
            .read()
            .map(|s| s.checked.elapsed() >= RECHECK)
            .unwrap_or(true);
        if stale {
            if let Ok(mut state) = self.state.write() {
                state.checked = Instant::now();
                let now = (modified(&self.cert_file), modified(&self.key_file));
                if now != state.modified {
                    match acceptor(&self.cert_file, &self.key_file) {
                        Ok(fresh) => {
                            tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
                            state.acceptor = fresh;
                            state.modified = now;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "TLS certificate not reloaded; keeping the previous one");
                        }
                    }
                }
            }
        }
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.acceptor.clone()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn acceptor(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| anyhow::anyhow!("tls.cert_file {}: {e}", cert_file.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "tls.cert_file {} holds no certificate",
        cert_file.display()
    );
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("tls.key_file {}: {e}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| anyhow::anyhow!("the TLS certificate and key do not fit: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
