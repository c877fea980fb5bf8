//! `sextant serve`: the HTTP API on the configured address, over the configured storage.

use std::net::SocketAddr;
use std::path::PathBuf;

use sextant_api::auth::Authenticator;
use sextant_api::config::Config;
use sextant_api::startup::open_context;
use sextant_api::tls::TlsFiles;
use sextant_api::{AppState, Application};
use sextant_services::Context;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Development mode: with no token key configured, accept tokens signed with the public
    /// development secret (`sextant token`). Only on a loopback address.
    #[arg(long)]
    dev: bool,
}

pub async fn run(args: ServeArgs, mut config: Config) -> anyhow::Result<i32> {
    config.addr = args.addr.unwrap_or(config.addr);
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    anyhow::ensure!(
        args.dev || config.master_key.is_some() || config.master_key_file.is_some(),
        "no master key is configured: set master_key_file (or SEXTANT_MASTER_KEY) so that \
         personal data is encrypted under a key kept apart from the data, or run \
         `sextant serve --dev` on a loopback address for local development"
    );
    anyhow::ensure!(
        args.dev || config.audit_key_file.is_some(),
        "no audit key is configured: set audit_key_file (a file kept apart from the \
         database) so that the audit trail's checkpoints are signed with a key its writers \
         do not hold, or run `sextant serve --dev` on a loopback address"
    );
    let ctx = open_context(&config).await?;
    let app = build(&config, ctx, args.dev).await?;
    println!(
        "Sextant listening on {}://{}",
        app.scheme(),
        app.local_addr()
    );
    app.run_until_stopped().await?;
    Ok(0)
}

/// The application bound to the configured address, its token keys from the configuration.
/// Without a key it refuses to start, unless in development mode on a loopback address.
pub async fn build(
    config: &Config,
    ctx: Context,
    development: bool,
) -> anyhow::Result<Application> {
    anyhow::ensure!(
        !development || config.addr.ip().is_loopback(),
        "development mode serves only on a loopback address (127.0.0.1 or ::1), not {}",
        config.addr
    );
    let auth = Authenticator::from_config(config, development)?;
    if auth.dev_secret {
        for line in [
            "==================================================================",
            "DEVELOPMENT MODE on loopback: accepting tokens signed with the",
            "PUBLIC development secret. Configure jwt_jwks_file,",
            "jwt_rs256_public_key or jwt_hs256_secret for anything else.",
            "==================================================================",
        ] {
            tracing::warn!("{line}");
        }
    }
    tracing::info!(
        database = ctx.store.backend_name(),
        vectors = ctx.vectors.kind(),
        "storage ready"
    );
    let tls = match (&config.tls.cert_file, &config.tls.key_file) {
        (Some(cert), Some(key)) => Some(TlsFiles::load(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("tls needs both cert_file and key_file"),
    };
    let state = AppState::with_limits(ctx, auth, config.limits.clone());
    Application::build_with_tls(config.addr, state, tls).await
}
