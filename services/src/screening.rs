//! Name screening against the sanctions list the bank configured (`sanctions_list_file`,
//! the OFAC SDN CSV layout), read at start and kept in memory: `POST /v1/screening/check`
//! answers the listed parties a name may be, each with its score. Fuzzy matching is
//! `sextant_monitoring::screening`'s.
//!
//! The counterparties of payments are screened against the same list as they land (a match
//! raises a `sanctions` alert, see [`crate::monitoring::live`]) and before they are
//! authorised (a match blocks, see [`crate::monitoring::assess`]). A name screened once is
//! remembered with its matches until the list is replaced, so a salary's employer or a
//! friend paid every month costs one look-up.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_monitoring::screening::{Match, Watchlist, DEFAULT_THRESHOLD};
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
    /// Names screened at the default threshold, by their 64-bit hash, with what they matched.
    seen: Mutex<HashMap<u64, Arc<Vec<Match>>>>,
}

/// Names whose screening is remembered; past it the memory starts again (a payment stream
/// names far fewer distinct counterparties than this between list updates).
const REMEMBERED_NAMES: usize = 200_000;

impl LoadedList {
    pub fn new(watchlist: Watchlist, source: String, sha256: String) -> LoadedList {
        LoadedList {
            watchlist,
            source,
            sha256,
            loaded_at: Utc::now(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The listed names a payment's counterparty `name` matches at the default threshold,
    /// best first (remembered per name).
    pub fn screen_counterparty(&self, name: &str) -> Arc<Vec<Match>> {
        let key = sextant_hash::fnv1a64(name.as_bytes());
        if let Some(found) = self.seen.lock().expect("never poisoned").get(&key) {
            return found.clone();
        }
        let found = Arc::new(self.watchlist.screen(name, DEFAULT_THRESHOLD));
        let mut seen = self.seen.lock().expect("never poisoned");
        if seen.len() >= REMEMBERED_NAMES {
            seen.clear();
        }
        seen.insert(key, found.clone());
        found
    }

    /// The first 12 hex digits of the file's SHA-256: how an alert names the list.
    pub fn short_sha(&self) -> &str {
        &self.sha256[..self.sha256.len().min(12)]
    }
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
        let loaded = Arc::new(LoadedList::new(
            watchlist,
            path.display().to_string(),
            sextant_hash::sha256_hex(&bytes),
        ));
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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

pub fn match_view(m: &Match) -> SanctionsMatchView {
    SanctionsMatchView {
        ent_num: m.ent_num,
        listed_name: m.listed_name.clone(),
        matched_name: m.matched_name.clone(),
        kind: m.kind.clone(),
        programme: m.programme.clone(),
        score: m.score,
    }
}

/// A match in words, for alerts and an assessment's reasons.
pub fn match_sentence(m: &Match) -> String {
    format!(
        "the counterparty's name matches {} on the sanctions list (entry {}, {}, score {:.2})",
        m.listed_name, m.ent_num, m.programme, m.score
    )
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
        .iter()
        .map(match_view)
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
