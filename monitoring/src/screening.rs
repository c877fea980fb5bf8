//! Screening names against a sanctions list the bank loads (the OFAC SDN CSV layout: no
//! header; entity number, name, type, programme, title, call sign, vessel type, tonnage,
//! GRT, flag, owner, remarks; `-0-` for empty), with fuzzy matching and a score.
//!
//! A name is normalised before it is compared: accents are dropped and Cyrillic and Greek
//! transliterated (Unicode decomposition, then a letter table), case and punctuation go,
//! legal forms (`LTD`, `S.A.`, `LLC`, ...) and a few filler words are left out, and each
//! word is folded for the usual transliteration variants (`c`, `q`/`k`, `ph`/`f`, `w`/`v`,
//! `y`/`i`, `kh`/`h`, `dzh`/`j`, doubled letters). The score of a name against a listed name is
//! order-free: words are paired greedily by similarity (Jaro-Winkler on the folded words;
//! a screened initial pairs with a listed word it begins at 0.9; a pair under 0.8 does not count), and the
//! score is the paired share of both names' letters, weighted by the pair's similarity. So
//! `SMITH, John` and `John Smith` score 1, `J. Smith` 0.97, `Jon Smiht` about 0.93. Each
//! entry's best name (its own or an alias from the remarks' `a.k.a.`) is its score.
//!
//! Candidates are found by the first three folded letters of their words of three letters
//! or more (a name of shorter words only, by its first three letters joined), so a typo in
//! the first three letters of every word is not found. Arabic script is
//! not transliterated (names given in it are matched only against the same script).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The score at or above which a name is a hit, by default.
pub const DEFAULT_THRESHOLD: f64 = 0.9;

/// Words that say nothing about who a party is.
const FILLER: [&str; 27] = [
    "the",
    "and",
    "of",
    "ltd",
    "limited",
    "co",
    "company",
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "llc",
    "plc",
    "sa",
    "sas",
    "srl",
    "spa",
    "gmbh",
    "ag",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "jsc",
    "ojsc",
    "pjsc",
];

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The list's own number for the entry.
    pub ent_num: u64,
    pub name: String,
    /// `individual`, `vessel`, `aircraft`, or `entity` when the list leaves it empty.
    pub kind: String,
    /// The sanctions programme(s), e.g. `SDGT` or `CUBA`.
    pub programme: String,
    /// Other names it is known by (`a.k.a.`, `f.k.a.`, `n.k.a.` in the remarks).
    pub aliases: Vec<String>,
}

/// Why a list could not be read, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ListError {
    /// 1-based line of the file.
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ListError {}

/// A listed name that a screened name matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub ent_num: u64,
    /// The entry's name.
    pub listed_name: String,
    /// The name that matched: the entry's own or one of its aliases.
    pub matched_name: String,
    pub kind: String,
    pub programme: String,
    /// 0..=1 (1: the same words, in any order).
    pub score: f64,
}

/// A name prepared for comparison: its folded words, as letters, and how many letters.
#[derive(Debug, Clone)]
struct Prepared {
    words: Vec<Vec<char>>,
    letters: f64,
    /// `longest[k]`: the letters of its `k` longest words.
    longest: Vec<f64>,
    /// How many of its first words are the family name, for a listed name written `FAMILY,
    /// Given` (0 otherwise, and for screened names).
    family: usize,
}

fn prepare(name: &str) -> Prepared {
    let words: Vec<Vec<char>> = words(name).iter().map(|w| w.chars().collect()).collect();
    let letters = words.iter().map(|w| weight(w)).sum();
    let mut lengths: Vec<f64> = words.iter().map(|w| weight(w)).collect();
    lengths.sort_by(|a, b| b.total_cmp(a));
    let longest = std::iter::once(0.0)
        .chain(lengths.iter().scan(0.0, |sum, l| {
            *sum += l;
            Some(*sum)
        }))
        .collect();
    Prepared {
        words,
        letters,
        longest,
        family: 0,
    }
}

/// A listed name prepared, knowing its family name when it is written `FAMILY, Given`.
fn prepare_listed(name: &str) -> Prepared {
    let mut prepared = prepare(name);
    if let Some((family, _)) = name.split_once(',') {
        prepared.family = words(family).len().min(prepared.words.len());
    }
    prepared
}

/// What a name whose every word pairs with a word of the other, longer name scores at most
/// (a middle name or a patronymic left out on one side, as payment orders often do): a
/// match of the words both have, discounted by this.
pub const PARTIAL_FACTOR: f64 = 0.95;

/// In a partial match every pair of words but an initial is at least this alike (a typo):
/// two loosely alike words (`Williams` and `Villa`, 0.90) do not make a person.
const PARTIAL_WORD_MIN: f64 = 0.94;

/// Whether a screened name (`a`) is compared as the listed name (`b`) with words left out:
/// two words or more, fewer than the listed name, which is a person's name written `FAMILY,
/// Given` (its family name must be among the words paired). Not the other way round: a
/// screened name with words the listed one lacks names someone else more often than not
/// (`Vladimir Ivanovich Sidorov` is not `IVANOV, Vladimir`).
fn partial_possible(a: &Prepared, b: &Prepared) -> bool {
    a.words.len() >= 2 && a.words.len() < b.words.len() && b.family > 0
}

/// The most two names can score: every pair (at most as many as the shorter name has
/// words) pairing their longest words perfectly, or a perfect partial match.
fn best_possible(a: &Prepared, b: &Prepared) -> f64 {
    let pairs = a.words.len().min(b.words.len());
    let full = (a.longest[pairs] + b.longest[pairs]) / (a.letters + b.letters);
    if partial_possible(a, b) {
        full.max(PARTIAL_FACTOR)
    } else {
        full
    }
}

/// How much a word weighs: its letters (an initial counts one).
fn weight(word: &[char]) -> f64 {
    word.len() as f64
}

/// A loaded list, indexed for screening.
#[derive(Debug, Clone, Default)]
pub struct Watchlist {
    entries: Vec<Entry>,
    /// Every name of every entry: (entry index, the name as listed, prepared).
    names: Vec<(usize, String, Prepared)>,
    /// The names that have a word beginning with these three folded letters.
    by_prefix: HashMap<[char; 3], Vec<usize>>,
}

impl Watchlist {
    /// Reads a list in the SDN CSV layout. A line that is not one is refused with its number.
    pub fn from_sdn_csv(text: &str) -> Result<Watchlist, ListError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut entries = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| ListError {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            // A blank line, or the end-of-file mark (Ctrl-Z) the published file ends with.
            if record.iter().all(|f| {
                f.trim_matches(|c: char| c.is_whitespace() || c.is_control())
                    .is_empty()
            }) {
                continue;
            }
            let field = |i: usize| {
                let value = record.get(i).unwrap_or("").trim();
                if value == "-0-" {
                    ""
                } else {
                    value
                }
            };
            let ent_num = field(0).parse::<u64>().map_err(|_| ListError {
                line,
                message: format!("the first field is the entry's number, not `{}`", field(0)),
            })?;
            let name = field(1);
            if name.is_empty() {
                return Err(ListError {
                    line,
                    message: "the second field, the name, is empty".into(),
                });
            }
            let kind = match field(2) {
                "" => "entity".to_owned(),
                other => other.to_ascii_lowercase(),
            };
            entries.push(Entry {
                ent_num,
                name: name.to_owned(),
                kind,
                programme: field(3).to_owned(),
                aliases: aliases(field(11)),
            });
        }
        Ok(Watchlist::new(entries))
    }

    pub fn new(entries: Vec<Entry>) -> Watchlist {
        let mut names = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            for name in std::iter::once(&entry.name).chain(&entry.aliases) {
                let prepared = prepare_listed(name);
                if !prepared.words.is_empty() {
                    names.push((i, name.clone(), prepared));
                }
            }
        }
        let mut by_prefix: HashMap<[char; 3], Vec<usize>> = HashMap::new();
        for (n, (_, _, prepared)) in names.iter().enumerate() {
            let mut keys = keys(prepared);
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                by_prefix.entry(key).or_default().push(n);
            }
        }
        Watchlist {
            entries,
            names,
            by_prefix,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many names (entries' own and aliases) are screened against.
    pub fn names(&self) -> usize {
        self.names.len()
    }

    /// The entries whose best name scores at least `threshold` against `name`, best first.
    pub fn screen(&self, name: &str, threshold: f64) -> Vec<Match> {
        let query = prepare(name);
        if query.words.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<usize> = keys(&query)
            .into_iter()
            .filter_map(|key| self.by_prefix.get(&key))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: HashMap<usize, (f64, usize)> = HashMap::new();
        for n in candidates {
            let (entry, _, listed) = &self.names[n];
            // A name with far more or far fewer words cannot reach the threshold.
            if best_possible(&query, listed) < threshold {
                continue;
            }
            let score = similarity(&query, listed);
            if score < threshold {
                continue;
            }
            let slot = best.entry(*entry).or_insert((score, n));
            if score > slot.0 {
                *slot = (score, n);
            }
        }
        let mut matches: Vec<Match> = best
            .into_iter()
            .map(|(i, (score, n))| {
                let entry = &self.entries[i];
                Match {
                    ent_num: entry.ent_num,
                    listed_name: entry.name.clone(),
                    matched_name: self.names[n].1.clone(),
                    kind: entry.kind.clone(),
                    programme: entry.programme.clone(),
                    score: (score * 1e4).round() / 1e4,
                }
            })
            .collect();
        matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ent_num.cmp(&b.ent_num)));
        matches
    }
}

/// The aliases a remark gives: every `a.k.a. '...'`, `f.k.a. '...'` and `n.k.a. '...'`.
fn aliases(remarks: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = remarks.to_ascii_lowercase();
    for marker in ["a.k.a. '", "f.k.a. '", "n.k.a. '"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(marker) {
            let start = from + at + marker.len();
            let Some(len) = remarks[start..].find('\'') else {
                break;
            };
            let alias = remarks[start..start + len].trim();
            if !alias.is_empty() {
                found.push(alias.to_owned());
            }
            from = start + len + 1;
        }
    }
    found
}

/// The keys a name is found by: the first three letters of each of its words of three
/// letters or more; a name with no such word (`B R C S.A.`) by the first three of its
/// letters joined.
fn keys(name: &Prepared) -> Vec<[char; 3]> {
    let keys: Vec<[char; 3]> = name.words.iter().filter_map(|w| prefix(w)).collect();
    if !keys.is_empty() {
        return keys;
    }
    let joined: Vec<char> = name.words.iter().flatten().copied().collect();
    prefix(&joined).into_iter().collect()
}

/// The three folded letters a word is found by; none for words under three letters.
fn prefix(word: &[char]) -> Option<[char; 3]> {
    match word {
        [a, b, c, ..] => Some([*a, *b, *c]),
        _ => None,
    }
}

/// A name's folded words: transliterated, lower-case, without punctuation or filler.
pub fn words(name: &str) -> Vec<String> {
    let mut text = String::with_capacity(name.len());
    for c in name.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match transliterate(c) {
            Some(latin) => text.push_str(latin),
            None if c.is_alphanumeric() => text.extend(c.to_lowercase()),
            // A period or an apostrophe joins (`S.A.`, `O'Brien`); anything else separates.
            None if matches!(c, '.' | '\'' | '\u{2019}') => {}
            None => text.push(' '),
        }
    }
    text.split_whitespace()
        .filter(|w| !FILLER.contains(w))
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Transliteration variants folded together: `ph` as `f`, `dzh` as `j`, `kh` as `h`, `dh`
/// as `d`, `gh` as `g`, `ck`, `c` (but not `ch`) and `q` as `k`, `x` as `ks`, `ou` as `u`,
/// `w` as `v`, `y` as `i`, doubled letters as one.
fn fold(word: &str) -> String {
    let mut out = word
        .replace("ph", "f")
        .replace("dzh", "j")
        .replace("kh", "h")
        .replace("dh", "d")
        .replace("gh", "g")
        .replace("ck", "k")
        .replace("ch", "\u{1}")
        .replace('c', "k")
        .replace('\u{1}', "ch")
        .replace('x', "ks")
        .replace("ou", "u")
        .replace('q', "k")
        .replace('w', "v")
        .replace('y', "i");
    // Doubled letters as one.
    let mut last = None;
    out.retain(|c| {
        let keep = Some(c) != last;
        last = Some(c);
        keep
    });
    out
}

/// Latin for the Cyrillic and Greek letters and the Latin letters that do not decompose.
fn transliterate(c: char) -> Option<&'static str> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    Some(match lower {
        // Latin without a decomposition.
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        // Cyrillic (Russian, Ukrainian, Belarusian, Serbian), after BGN/PCGN.
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ґ' => "g",
        'д' => "d",
        'е' | 'э' | 'є' => "e",
        'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ы' => "i",
        'ї' => "i",
        'й' | 'ј' => "y",
        'к' => "k",
        'л' => "l",
        'љ' => "lj",
        'м' => "m",
        'н' => "n",
        'њ' => "nj",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'ћ' => "c",
        'ђ' => "dj",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'џ' => "dz",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        // Greek.
        'α' => "a",
        'β' => "v",
        'γ' => "g",
        'δ' => "d",
        'ε' => "e",
        'ζ' => "z",
        'η' => "i",
        'θ' => "th",
        'ι' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "m",
        'ν' => "n",
        'ξ' => "x",
        'ο' => "o",
        'π' => "p",
        'ρ' => "r",
        'σ' | 'ς' => "s",
        'τ' => "t",
        'υ' => "y",
        'φ' => "f",
        'χ' => "ch",
        'ψ' => "ps",
        'ω' => "o",
        _ => return None,
    })
}

/// How alike a screened name and a listed name are, 0..=1, whatever the order of their words:
/// the paired share of both names' letters, or, when every word of a shorter screened name
/// pairs with one of the listed name's, [`PARTIAL_FACTOR`] times the paired words' likeness (`Viktor
/// Dravenko` against `DRAVENKO, Viktor Arkadyevich`: 0.95).
fn similarity(a: &Prepared, b: &Prepared) -> f64 {
    if a.letters + b.letters <= 0.0 {
        return 0.0;
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(a.words.len() * b.words.len());
    for (i, x) in a.words.iter().enumerate() {
        for (j, y) in b.words.iter().enumerate() {
            let s = word_similarity(x, y);
            if s > 0.0 {
                pairs.push((s, i, j));
            }
        }
    }
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then((p.1, p.2).cmp(&(q.1, q.2))));
    let (mut used_a, mut used_b) = (vec![false; a.words.len()], vec![false; b.words.len()]);
    let (mut matched, mut paired, mut weakest) = (0.0, 0.0, 1.0_f64);
    for (s, i, j) in pairs {
        if used_a[i] || used_b[j] {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        let letters = weight(&a.words[i]) + weight(&b.words[j]);
        matched += s * letters;
        paired += letters;
        if a.words[i].len() > 1 {
            weakest = weakest.min(s);
        }
    }
    let full = matched / (a.letters + b.letters);
    // Every word of the screened name paired: the listed one's other words were left out.
    if partial_possible(a, b)
        && used_a.iter().all(|u| *u)
        && used_b[..b.family].iter().any(|u| *u)
        && weakest >= PARTIAL_WORD_MIN
        && paired > 0.0
    {
        full.max(PARTIAL_FACTOR * matched / paired)
    } else {
        full
    }
}

/// How alike a screened word and a listed word are: 1 for the same word, 0.9 for a screened
/// initial and a listed word it begins (a single letter of a listed name is a word of its
/// own, `JAK-A`, not an initial), Jaro-Winkler otherwise (0 under 0.8).
fn word_similarity(screened: &[char], listed: &[char]) -> f64 {
    if screened == listed {
        return 1.0;
    }
    let (ls, ll) = (screened.len(), listed.len());
    if ls == 1 || ll == 1 {
        return if ls == 1 && listed.starts_with(screened) {
            0.9
        } else {
            0.0
        };
    }
    let (a, b) = (screened, listed);
    let s = jaro_winkler(a, b);
    if s < 0.8 {
        0.0
    } else {
        s
    }
}

/// Jaro-Winkler similarity of two words (prefix scale 0.1, up to four letters).
pub fn jaro_winkler_str(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    jaro_winkler(&a, &b)
}

/// Jaro-Winkler similarity (prefix scale 0.1, up to four letters).
pub fn jaro_winkler(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() && b.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    // Names' words are short: the bookkeeping stays on the stack up to 64 letters.
    let mut b_used_stack = [false; 64];
    let mut b_used_heap;
    let b_used: &mut [bool] = if b.len() <= 64 {
        &mut b_used_stack[..b.len()]
    } else {
        b_used_heap = vec![false; b.len()];
        &mut b_used_heap
    };
    let mut a_matches: Vec<char> = Vec::with_capacity(a.len().min(b.len()));
    for (i, ca) in a.iter().enumerate() {
        let from = i.saturating_sub(window);
        let to = (i + window + 1).min(b.len());
        for j in from..to {
            if !b_used[j] && b[j] == *ca {
                b_used[j] = true;
                a_matches.push(*ca);
                break;
            }
        }
    }
    let m = a_matches.len();
    if m == 0 {
        return 0.0;
    }
    let b_matches = b
        .iter()
        .zip(b_used.iter())
        .filter(|(_, used)| **used)
        .map(|(c, _)| c);
    let transpositions = a_matches
        .iter()
        .zip(b_matches)
        .filter(|(x, y)| x != y)
        .count() as f64
        / 2.0;
    let m = m as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- 
306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. 'BNC'."
7001,"PETROV, Vladimir Ivanovich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 01 Jan 1960; a.k.a. 'PETROFF, Wladimir'; f.k.a. 'IVANOV, Vladimir'."
7002,"AL-RASHID TRADING COMPANY","entity","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- 
7003,"SMITH, John","individual","SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- 
"#;

    fn list() -> Watchlist {
        Watchlist::from_sdn_csv(LIST).unwrap()
    }

    fn best(name: &str) -> Option<(u64, f64)> {
        list()
            .screen(name, DEFAULT_THRESHOLD)
            .first()
            .map(|m| (m.ent_num, m.score))
    }

    #[test]
    fn reads_the_sdn_layout_with_aliases() {
        let list = list();
        assert_eq!(list.entries().len(), 5);
        let petrov = &list.entries()[2];
        assert_eq!(petrov.kind, "individual");
        assert_eq!(petrov.programme, "RUSSIA-EO14024");
        assert_eq!(
            petrov.aliases,
            vec!["PETROFF, Wladimir", "IVANOV, Vladimir"]
        );
        assert_eq!(list.entries()[0].kind, "entity");
        assert_eq!(list.names(), 8);
    }

    #[test]
    fn a_name_of_short_words_is_found() {
        let list = Watchlist::from_sdn_csv("10795,\"B R C S.A.\",-0- ,\"CUBA\"\n").unwrap();
        let hits = list.screen("b r c s.a.", DEFAULT_THRESHOLD);
        assert_eq!(hits.first().map(|m| m.ent_num), Some(10795));
    }

    #[test]
    fn the_published_end_of_file_mark_is_no_entry() {
        let list = Watchlist::from_sdn_csv(&format!("{LIST}\r\n\u{1a}")).unwrap();
        assert_eq!(list.entries().len(), 5);
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = Watchlist::from_sdn_csv("1,\"A\"\nx,\"B\"\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        let error = Watchlist::from_sdn_csv("1,\"A\"\n2,\"\"\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn word_order_case_and_punctuation_do_not_matter() {
        assert_eq!(best("John Smith"), Some((7003, 1.0)));
        assert_eq!(best("smith john"), Some((7003, 1.0)));
        assert_eq!(best("Banco Nacional de Cuba S.A."), Some((306, 1.0)));
        assert_eq!(best("Al Rashid Trading Co. Ltd"), Some((7002, 1.0)));
    }

    #[test]
    fn initials_typos_and_transliterations_match() {
        let (id, score) = best("J. Smith").unwrap();
        assert_eq!(id, 7003);
        assert!(score > 0.95, "{score}");
        let (id, score) = best("Jon Smiht").unwrap();
        assert_eq!(id, 7003);
        assert!(score > 0.9, "{score}");
        // Cyrillic, and the alias's German spelling.
        assert_eq!(best("Владимир Иванович Петров").map(|b| b.0), Some(7001));
        assert_eq!(best("Wladimir Petroff").map(|b| b.0), Some(7001));
        assert_eq!(best("Vladimir Petrov").map(|b| b.0), Some(7001));
        // Accents.
        assert_eq!(best("Bañco Nacionál de Cúba").map(|b| b.0), Some(306));
    }

    #[test]
    fn a_name_without_its_middle_names_matches_a_little_lower() {
        let list = Watchlist::from_sdn_csv(
            "90001,\"DRAVENKO, Viktor Arkadyevich\",\"individual\",\"RUSSIA-EO14024\"\n",
        )
        .unwrap();
        let score = |name: &str| {
            list.screen(name, DEFAULT_THRESHOLD)
                .first()
                .map(|m| m.score)
        };
        assert_eq!(score("Viktor Dravenko"), Some(PARTIAL_FACTOR));
        assert_eq!(score("Viktor Arkadyevich Dravenko"), Some(1.0));
        assert!(score("V. Dravenko").is_some_and(|s| s >= 0.9));
        assert!(score("Viktor Dravenko").unwrap() < score("Viktor A. Dravenko").unwrap());
        // One word is no partial match; nor is a patronymic the list does not give.
        assert_eq!(score("Dravenko"), None);
        assert_eq!(score("Viktor Petrovich Dravenko"), None);
        assert_eq!(score("Viktor Drozdov"), None);
        // The family name must be among the words: given names alone are someone else.
        let list =
            Watchlist::from_sdn_csv("6916,\"ALI, Ahmed Mohammed Hamed\",\"individual\",\"SDGT\"\n")
                .unwrap();
        assert!(list.screen("Mohammed Ahmed", DEFAULT_THRESHOLD).is_empty());
        assert!(!list.screen("Ahmed Ali", DEFAULT_THRESHOLD).is_empty());
    }

    #[test]
    fn near_misses_do_not_match() {
        assert_eq!(best("Jane Smythe-Jones"), None);
        assert_eq!(best("Maria Garcia"), None);
        assert_eq!(best("Banco Nacional de Chile"), None);
        assert_eq!(best("Vladimir Ivanovich Sidorov"), None);
        assert_eq!(best(""), None);
        assert_eq!(best("Ltd."), None);
        // A listed entity's single letter is no initial of a screened name.
        let list = Watchlist::from_sdn_csv("1,\"JAK-A\",-0- ,\"SDGT\"\n").unwrap();
        assert!(list.screen("Jakub Andersson", DEFAULT_THRESHOLD).is_empty());
    }

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler_str("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler_str("dwayne", "duane") - 0.84).abs() < 1e-2);
        assert_eq!(jaro_winkler_str("abc", "abc"), 1.0);
        assert_eq!(jaro_winkler_str("abc", "xyz"), 0.0);
    }
}
