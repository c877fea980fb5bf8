//! `sextant staff`: the console's staff accounts. Passwords are read from the terminal
//! without echo (twice, to catch a typo), or from one line of standard input when it is not
//! a terminal (`--password-stdin` is implied), never from the command line, where other
//! users of the machine could read them.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::Utc;
use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_services::staff;
use sextant_store::Actor;

use crate::output::{emit, Report};

#[derive(clap::Subcommand)]
pub enum StaffCommand {
    /// Create an account; the password is asked for.
    Add {
        username: String,
        /// marketer, wealth_manager, compliance or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Set a new password (unlocks the account and ends its sessions).
    Passwd {
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Disable an account and end its sessions.
    Disable {
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Enable a disabled account.
    Enable {
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// List the accounts (never their hashes).
    List {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct Account {
    username: String,
    role: String,
    disabled: bool,
    locked_until: Option<String>,
    failed_attempts: u32,
    created_at: String,
}

#[derive(serde::Serialize)]
struct Accounts {
    accounts: Vec<Account>,
}

impl Report for Accounts {
    fn print_table(&self) {
        println!("| username | role | state | failed sign-ins | created |");
        println!("|---|---|---|---|---|");
        for a in &self.accounts {
            let state = match (&a.locked_until, a.disabled) {
                (_, true) => "disabled".to_owned(),
                (Some(until), false) => format!("locked until {until}"),
                (None, false) => "active".to_owned(),
            };
            println!(
                "| {} | {} | {state} | {} | {} |",
                a.username, a.role, a.failed_attempts, a.created_at
            );
        }
    }
}

/// The new password: asked twice on a terminal, one line of standard input otherwise.
fn read_new_password(username: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("new password for {username}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ; nothing changed");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

pub async fn run(command: StaffCommand, mut config: Config) -> anyhow::Result<i32> {
    let by = Actor::operator();
    let data_dir = match &command {
        StaffCommand::Add { data_dir, .. }
        | StaffCommand::Passwd { data_dir, .. }
        | StaffCommand::Disable { data_dir, .. }
        | StaffCommand::Enable { data_dir, .. }
        | StaffCommand::List { data_dir, .. } => data_dir.clone(),
    };
    config.data_dir = data_dir.unwrap_or(config.data_dir);
    let store = open_store(&config).await?;
    let store = store.as_ref();
    let now = Utc::now();
    match command {
        StaffCommand::Add { username, role, .. } => {
            // Checked before the password is asked for.
            staff::username(&username)?;
            staff::role(&role)?;
            let password = read_new_password(&username)?;
            staff::add(store, &username, &role, &password, &by, now).await?;
            println!("added {username} ({role})");
        }
        StaffCommand::Passwd { username, .. } => {
            anyhow::ensure!(
                store.staff(&username).await?.is_some(),
                "no staff account named {username}"
            );
            let password = read_new_password(&username)?;
            staff::set_password(store, &username, &password, &by, now).await?;
            println!("password of {username} changed; its sessions ended");
        }
        StaffCommand::Disable { username, .. } => {
            staff::set_disabled(store, &username, true, &by, now)
                .await
                .map_err(|_| anyhow::anyhow!("no staff account named {username}"))?;
            println!("disabled {username}; its sessions ended");
        }
        StaffCommand::Enable { username, .. } => {
            staff::set_disabled(store, &username, false, &by, now)
                .await
                .map_err(|_| anyhow::anyhow!("no staff account named {username}"))?;
            println!("enabled {username}");
        }
        StaffCommand::List { json, .. } => {
            let accounts = store
                .list_staff()
                .await?
                .into_iter()
                .map(|a| Account {
                    locked_until: a
                        .locked_until
                        .filter(|until| *until > now)
                        .map(|t| t.to_rfc3339()),
                    username: a.username,
                    role: a.role,
                    disabled: a.disabled,
                    failed_attempts: a.failed_attempts,
                    created_at: a.created_at.to_rfc3339(),
                })
                .collect();
            emit(&Accounts { accounts }, json)?;
        }
    }
    Ok(0)
}
