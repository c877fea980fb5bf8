//! `sextant token`: a bearer token for the configured issuer and audience, signed with the
//! configured HS256 secret, or with the public development secret when none is configured
//! (accepted only by a server in development mode).

use sextant_api::auth::{claims, sign_hs256, Role, TokenPolicy, DEV_SECRET};
use sextant_api::config::Config;

#[derive(clap::Args)]
pub struct TokenArgs {
    /// customer, service, marketer, wealth_manager or admin
    #[arg(long)]
    role: String,
    /// The subject: a customer id for the customer role, any name otherwise.
    #[arg(long)]
    sub: String,
    /// Lifetime; capped at the configured jwt_max_lifetime_secs.
    #[arg(long, default_value_t = 12)]
    ttl_hours: u64,
}

pub fn run(args: &TokenArgs, config: &Config) -> anyhow::Result<i32> {
    let role = Role::parse(&args.role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
    let policy = TokenPolicy::from_config(config);
    let claims = claims(&policy, role, &args.sub, args.ttl_hours * 3600);
    match &config.jwt_hs256_secret {
        Some(secret) => {
            println!("{}", sign_hs256(secret.expose(), &claims, None));
        }
        None => {
            println!("{}", sign_hs256(DEV_SECRET, &claims, None));
            eprintln!("(signed with the public development secret: accepted only by `sextant serve --dev` and the demo, on loopback)");
        }
    }
    Ok(0)
}
