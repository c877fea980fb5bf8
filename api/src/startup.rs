//! From a configuration to a running context: the database (SQLite in the data directory
//! unless a URL is configured), the vector store (qdrant-edge in the data directory unless a
//! Qdrant server is configured), the pipeline and its embedding model.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sextant_services::Context;
use sextant_store::audit::CheckpointSigner;
use sextant_store::crypto::{Keyring, MasterKey};
use sextant_store::{SeaStore, Store};

use crate::config::{Config, Secret};

/// The master key file used when none is configured: beside the data directory, never in
/// it, so a copy of the data folder does not carry its key.
pub fn default_master_key_file(config: &Config) -> PathBuf {
    beside_data_dir(config, ".master-key")
}

/// `DATA_DIR<suffix>`: a file next to the data directory, not in it.
fn beside_data_dir(config: &Config, suffix: &str) -> PathBuf {
    let mut name = config
        .data_dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "sextant-data".into());
    name.push(suffix);
    config.data_dir.with_file_name(name)
}

/// The keyring the configuration names: the master key from `master_key` (base64, usually
/// `SEXTANT_MASTER_KEY`) or `master_key_file`, and the previous keys still accepted during
/// a rotation. With none configured, [`default_master_key_file`], created on first use.
pub fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    let current = match (&config.master_key, &config.master_key_file) {
        (Some(key), _) => {
            MasterKey::from_base64(key.expose()).map_err(|e| anyhow::anyhow!("master_key: {e}"))?
        }
        (None, Some(path)) => read_master_key(path)?,
        (None, None) => return file_keyring_with(&default_master_key_file(config), config),
    };
    Ok(Keyring::new(current, previous_keys(config)?))
}

fn previous_keys(config: &Config) -> anyhow::Result<Vec<MasterKey>> {
    config
        .previous_master_key_files
        .iter()
        .map(|p| read_master_key(p))
        .collect()
}

fn read_master_key(path: &Path) -> anyhow::Result<MasterKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the master key file {}: {e}", path.display()))?;
    MasterKey::from_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A keyring whose master key lives in `path`, created there (mode 0600) when missing.
pub fn file_keyring(path: &Path) -> anyhow::Result<Keyring> {
    file_keyring_with(path, &Config::default())
}

fn file_keyring_with(path: &Path, config: &Config) -> anyhow::Result<Keyring> {
    if !path.exists() {
        let (_, text) = MasterKey::generate();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = create_private(path)?;
        writeln!(file, "{text}")?;
        tracing::warn!(
            path = %path.display(),
            "created a master key file beside the data directory; configure master_key_file \
             (on another volume, or from a key manager) for anything but development"
        );
    }
    Ok(Keyring::new(read_master_key(path)?, previous_keys(config)?))
}

/// From now on, files and folders this process creates (the database and its log, the
/// vector store, models, key files) are readable by their owner only (umask 077).
pub fn restrict_new_files() {
    // SAFETY: umask only sets the process's file-creation mask.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates a file only its owner can read and write.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The audit key file used when none is configured: beside the data directory, like the
/// development master key.
pub fn default_audit_key_file(config: &Config) -> PathBuf {
    beside_data_dir(config, ".audit-key")
}

/// The audit key file the configuration names, or the default one.
pub fn audit_key_file(config: &Config) -> PathBuf {
    config
        .audit_key_file
        .clone()
        .unwrap_or_else(|| default_audit_key_file(config))
}

/// The public key file beside an audit key file (`KEY.pub`).
pub fn audit_public_key_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

/// The signer of the audit trail's checkpoints, from [`audit_key_file`]; a missing key
/// file is created (mode 0600) with its public key beside it.
pub fn audit_signer(config: &Config) -> anyhow::Result<CheckpointSigner> {
    let path = audit_key_file(config);
    if !path.exists() {
        let (private, public) = CheckpointSigner::generate();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        writeln!(create_private(&path)?, "{private}")?;
        std::fs::write(audit_public_key_file(&path), format!("{public}\n"))?;
        if config.audit_key_file.is_none() {
            tracing::warn!(
                path = %path.display(),
                "created an audit key file beside the data directory; configure \
                 audit_key_file (kept apart from the database) for anything but development"
            );
        }
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read the audit key file {}: {e}", path.display()))?;
    anyhow::ensure!(
        config.audit_checkpoint_every >= 1,
        "audit_checkpoint_every must be at least 1"
    );
    CheckpointSigner::from_base64(&text, config.audit_checkpoint_every)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The store the configuration names, its schema brought up to date, its audit trail
/// checkpointed with the audit key.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    open_store_with(config, Some(Arc::new(audit_signer(config)?))).await
}

/// [`open_store`] with the given checkpoint signer: `None` only for work that appends
/// nothing to the audit trail (`sextant audit verify` needs the public key alone, and must
/// not create a private one).
pub async fn open_store_with(
    config: &Config,
    signer: Option<Arc<CheckpointSigner>>,
) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.as_ref().map(|s| s.expose().to_owned());
    let keyring = Arc::new(keyring(config)?);
    let store = SeaStore::open_signed(url.as_deref(), &config.data_dir, keyring, signer)
        .await
        .map_err(|e| match &url {
            Some(_) => anyhow::anyhow!("cannot open the database at SEXTANT_DATABASE_URL: {e}"),
            None => anyhow::anyhow!(
                "cannot open the SQLite database in {}: {e}",
                config.data_dir.display()
            ),
        })?;
    Ok(Arc::new(store))
}

/// Store, vector store and pipeline from the configuration.
pub async fn open_context(config: &Config) -> anyhow::Result<Context> {
    let store = open_store(config).await?;
    let vectors = sextant_vectors::open(
        sextant_vectors::Location {
            server_url: config.qdrant_url.as_deref(),
            api_key: config.qdrant_api_key.as_ref().map(Secret::expose),
        },
        &config.data_dir.join("vectors"),
        config.embedding_dim,
    )
    .await?;
    let ctx = Context::open(store, vectors, &config.data_dir.join("models")).await?;
    if let Some(path) = &config.sanctions_list_file {
        let list = ctx
            .screening()
            .load_file(path)
            .map_err(anyhow::Error::msg)?;
        tracing::info!(
            source = %list.source,
            entries = list.watchlist.entries().len(),
            names = list.watchlist.names(),
            "sanctions list loaded"
        );
    }
    Ok(ctx)
}
