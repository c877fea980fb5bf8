//! Segments in words: each segment is named by the features on which its mean stands
//! furthest from the population's, in population standard deviations.

use crate::catalogue::{catalogue, PHRASES};
use crate::Features;

/// Phrases in a description.
const TOP_FEATURES: usize = 3;
/// A difference smaller than this many standard deviations does not distinguish a segment.
const MIN_DISTINCTION_SD: f64 = 0.1;

/// Mean and standard deviation of each feature over all rows.
fn population_stats(features: &[Features], dims: usize) -> Vec<(f64, f64)> {
    let n = features.len().max(1) as f64;
    (0..dims)
        .map(|d| {
            let value = |f: &Features| f.values.get(d).copied().unwrap_or(0.0);
            let mean = features.iter().map(value).sum::<f64>() / n;
            let variance = features
                .iter()
                .map(|f| (value(f) - mean).powi(2))
                .sum::<f64>()
                / n;
            (mean, variance.sqrt())
        })
        .collect()
}

/// Features that say the same thing in different windows or units: a description names a
/// family once rather than spending its three phrases on one fact.
const FAMILIES: [(&str, &str); 8] = [
    ("spend_30d", "spend"),
    ("spend_90d", "spend"),
    ("spend_365d", "spend"),
    ("spend_per_month", "spend"),
    ("cash_share", "cash"),
    ("spend_share_cash", "cash"),
    ("bnpl_", "bnpl"),
    ("failed_", "failed"),
];

/// The family of a feature: from [`FAMILIES`], else the name without its window.
fn family(name: &str) -> String {
    if let Some((_, family)) = FAMILIES.iter().find(|(prefix, _)| name.starts_with(prefix)) {
        return (*family).to_owned();
    }
    ["_30d", "_90d", "_365d"]
        .iter()
        .fold(name.to_owned(), |n, w| n.replace(w, ""))
}

/// Feature indices ranked by how strongly the segment stands out (|z| descending), one per
/// family, with the standardised difference.
fn distinctions(members: &[&Features], stats: &[(f64, f64)]) -> Vec<(usize, f64)> {
    let n = members.len() as f64;
    let mut z: Vec<(usize, f64)> = stats
        .iter()
        .enumerate()
        .filter(|(_, (_, sd))| *sd > 1e-12)
        .map(|(d, (mean, sd))| {
            let segment_mean = members
                .iter()
                .map(|f| f.values.get(d).copied().unwrap_or(0.0))
                .sum::<f64>()
                / n;
            (d, (segment_mean - mean) / sd)
        })
        .filter(|(_, z)| z.abs() >= MIN_DISTINCTION_SD)
        .collect();
    z.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let mut seen: Vec<String> = Vec::new();
    z.retain(|(d, _)| {
        let name = catalogue()
            .get(*d)
            .map_or_else(|| d.to_string(), |s| family(s.name));
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        true
    });
    z
}

fn phrase(feature: usize, z: f64) -> &'static str {
    PHRASES.get(feature).map_or(
        "distinctive",
        |(high, low)| if z > 0.0 { high } else { low },
    )
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A short name (2-4 words): the strongest phrase, with "customers" after a single word.
fn name_for(phrase: &str) -> String {
    if phrase.split_whitespace().count() < 2 {
        capitalised(&format!("{phrase} customers"))
    } else {
        capitalised(phrase)
    }
}

/// Describes each segment in words from its most distinguishing features: segment means of
/// `features` (rows aligned with `assignments`) against the population, in standard
/// deviations; the top three make the description, the strongest one not already used by
/// another segment makes the name. Returns one (name, description) per segment `0..k`.
///
/// # Panics
/// When `features` and `assignments` differ in length: a caller bug.
pub fn describe(features: &[Features], assignments: &[usize], k: usize) -> Vec<(String, String)> {
    assert_eq!(features.len(), assignments.len(), "one assignment per row");
    let dims = features.iter().map(|f| f.values.len()).max().unwrap_or(0);
    let stats = population_stats(features, dims);
    let mut used_names: Vec<String> = Vec::with_capacity(k);
    (0..k)
        .map(|segment| {
            let members: Vec<&Features> = features
                .iter()
                .zip(assignments)
                .filter(|(_, &a)| a == segment)
                .map(|(f, _)| f)
                .collect();
            if members.is_empty() {
                return (
                    "Empty segment".to_owned(),
                    "No customers in this segment.".to_owned(),
                );
            }
            let ranked = distinctions(&members, &stats);
            if ranked.is_empty() {
                let typical = std::iter::once("Typical customers".to_owned());
                let name = unique_name(&mut used_names, typical, segment);
                return (
                    name,
                    "Close to the population average on every feature.".to_owned(),
                );
            }
            let phrases: Vec<&str> = ranked
                .iter()
                .take(TOP_FEATURES)
                .map(|&(d, z)| phrase(d, z))
                .collect();
            let description = format!("{}.", capitalised(&phrases.join(", ")));
            let candidates = ranked.iter().map(|&(d, z)| name_for(phrase(d, z)));
            (
                unique_name(&mut used_names, candidates, segment),
                description,
            )
        })
        .collect()
}

fn unique_name(
    used: &mut Vec<String>,
    candidates: impl Iterator<Item = String>,
    segment: usize,
) -> String {
    let name = candidates
        .take(8)
        .find(|c| !used.contains(c))
        .unwrap_or_else(|| format!("Segment {}", segment + 1));
    used.push(name.clone());
    name
}
