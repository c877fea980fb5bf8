//! `sextant token`: a bearer token signed with the local development secret.

use sextant_api::auth::{mint_dev_token, Role};

#[derive(clap::Args)]
pub struct TokenArgs {
    /// customer, service, marketer, wealth_manager or admin
    #[arg(long)]
    role: String,
    /// The subject: a customer id for the customer role, any name otherwise.
    #[arg(long)]
    sub: String,
    #[arg(long, default_value_t = 12)]
    ttl_hours: u64,
}

pub fn run(args: &TokenArgs) -> anyhow::Result<i32> {
    let role = Role::parse(&args.role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
    println!("{}", mint_dev_token(role, &args.sub, args.ttl_hours * 3600));
    eprintln!("(signed with the local development secret: accepted only by servers with no key configured)");
    Ok(0)
}
