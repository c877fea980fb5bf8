//! `sextant serve`: the HTTP API on the configured address, over the configured storage.

use std::net::SocketAddr;
use std::path::PathBuf;

use sextant_api::auth::Authenticator;
use sextant_api::config::Config;
use sextant_api::startup::open_context;
use sextant_api::{AppState, Application};
use sextant_services::Context;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: ServeArgs, mut config: Config) -> anyhow::Result<i32> {
    config.addr = args.addr.unwrap_or(config.addr);
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let ctx = open_context(&config).await?;
    let app = build(&config, ctx).await?;
    println!("Sextant listening on http://{}", app.local_addr());
    app.run_until_stopped().await?;
    Ok(0)
}

/// The application bound to the configured address, its token keys from the configuration
/// (and a loud warning when there are none).
pub async fn build(config: &Config, ctx: Context) -> anyhow::Result<Application> {
    let auth = Authenticator::new(
        config.jwt_hs256_secret.as_ref(),
        config.jwt_rs256_public_key.as_deref(),
    )?;
    if auth.dev_secret {
        for line in [
            "==================================================================",
            "NO TOKEN KEY CONFIGURED: accepting tokens signed with the PUBLIC",
            "local development secret. Anyone can mint any role. Set",
            "SEXTANT_JWT_HS256_SECRET or SEXTANT_JWT_RS256_PUBLIC_KEY in production.",
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
    Application::build(config.addr, AppState::new(ctx, auth)).await
}
