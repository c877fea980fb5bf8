//! Name screening against the sanctions list the bank configured (`sanctions_list_file`,
//! the OFAC SDN CSV layout), read at start and kept in memory: `POST /v1/screening/check`
//! answers the listed parties a name may be, each with its score. Fuzzy matching is
//! `sextant_monitoring::screening`'s.
//!
//! Not yet here: screening the counterparties of payments as they land and before they are
//! authorised (payments carry no counterparty name yet).

use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_monitoring::screening::{Watchlist, DEFAULT_THRESHOLD};
use sextant_store::Actor;
use utoipa::ToSchema;

use crate::records::format_timestamp;
use crate::{Context, Result, ServiceError};

/// The longest name screened, in characters.
pub const NAME_MAX: usize = 300;

/// The list in force, with where it came from.
pub struct LoadedList {
    pub watchlist: Watchlist,
    pub source: String,
    /// SHA-256 of the file, hex: which list a result was screened against.
    pub sha256: String,
    pub loaded_at: DateTime<Utc>,
}

/// The list in force, if one was loaded.
#[derive(Default)]
pub struct Screening {
    list: RwLock<Option<Arc<LoadedList>>>,
}

impl Screening {
    /// Reads and indexes a list file; it is in force once read whole (a bad file leaves the
    /// list in force as it was, and names its line).
    pub fn load_file(&self, path: &Path) -> std::result::Result<Arc<LoadedList>, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("sanctions list {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let watchlist = Watchlist::from_sdn_csv(&text)
            .map_err(|e| format!("sanctions list {}: {e}", path.display()))?;
        let loaded = Arc::new(LoadedList {
            watchlist,
            source: path.display().to_string(),
            sha256: sextant_hash::sha256_hex(&bytes),
            loaded_at: Utc::now(),
        });
        *self.list.write().expect("the list lock is never poisoned") = Some(loaded.clone());
        Ok(loaded)
    }

    pub fn current(&self) -> Option<Arc<LoadedList>> {
        self.list
            .read()
            .expect("the list lock is never poisoned")
            .clone()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// A person's or an organisation's name, in any order and script (Latin, Cyrillic,
    /// Greek); 1 to 300 characters.
    pub name: String,
    /// 0.5..=1: the score at or above which a listed name is returned (default 0.9).
    #[serde(default)]
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SanctionsListView {
    /// Where it was read from.
    pub source: String,
    pub sha256: String,
    pub entries: u64,
    /// Entries' own names and their aliases.
    pub names: u64,
    pub loaded_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SanctionsMatchView {
    /// The list's number for the entry.
    pub ent_num: u64,
    pub listed_name: String,
    /// The entry's name or alias that matched.
    pub matched_name: String,
    /// individual, entity, vessel or aircraft.
    pub kind: String,
    pub programme: String,
    /// 0..=1: 1 is the same words in any order.
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScreenView {
    pub name: String,
    pub threshold: f64,
    pub list: SanctionsListView,
    /// Best first; empty when the name matches nobody on the list.
    pub matches: Vec<SanctionsMatchView>,
}

/// The list in force, described.
pub fn list_view(list: &LoadedList) -> SanctionsListView {
    SanctionsListView {
        source: list.source.clone(),
        sha256: list.sha256.clone(),
        entries: list.watchlist.entries().len() as u64,
        names: list.watchlist.names() as u64,
        loaded_at: format_timestamp(list.loaded_at),
    }
}

/// Screens a name against the list in force. Staff's checks are recorded in the audit trail
/// (the name's SHA-256 and how many matched, not the name).
pub async fn screen(ctx: &Context, request: &ScreenRequest, by: &Actor) -> Result<ScreenView> {
    let name = request.name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "invalid_length",
            format!("1 to {NAME_MAX} characters, without control characters"),
        ));
    }
    let threshold = request.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(0.5..=1.0).contains(&threshold) {
        return Err(ServiceError::invalid(
            "threshold",
            "out_of_range",
            "a number from 0.5 to 1",
        ));
    }
    let list = ctx.screening().current().ok_or_else(|| {
        ServiceError::Unavailable("no sanctions list is configured (sanctions_list_file)".into())
    })?;
    let matches = list
        .watchlist
        .screen(name, threshold)
        .into_iter()
        .map(|m| SanctionsMatchView {
            ent_num: m.ent_num,
            listed_name: m.listed_name,
            matched_name: m.matched_name,
            kind: m.kind,
            programme: m.programme,
            score: m.score,
        })
        .collect::<Vec<_>>();
    if by.role == "compliance" || by.role == "admin" {
        let detail = serde_json::json!({
            "name_sha256": sextant_hash::sha256_hex(name.as_bytes()),
            "matches": matches.len(), "list_sha256": list.sha256,
        });
        ctx.store
            .record_audit(
                &by.entry("screening.check", "sanctions_list", detail),
                Utc::now(),
            )
            .await?;
    }
    Ok(ScreenView {
        name: name.to_owned(),
        threshold,
        list: list_view(&list),
        matches,
    })
}
