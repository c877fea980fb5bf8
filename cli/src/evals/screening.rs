//! `sextant monitoring eval-screening --list FILE`: how well name screening finds listed
//! parties written differently, and how often an ordinary name is a hit.
//!
//! A seeded sample of the list's entries with at least two words is written seven ways:
//! as listed (lower case), with its words in another order, with the first given name as
//! an initial (individuals), with one letter of its longest word changed, in Cyrillic
//! script, with accents on its vowels, and with the middle names left out (individuals:
//! the first given name and the family name, as payment orders often name people). Each variant is screened against the whole list;
//! it is found when its entry is among the hits at the threshold. Ordinary names (common
//! first names and surnames of several languages, combined at random) measure the hit rate
//! on people who are not listed, though a few may share a listed person's name: a reviewer
//! clears those with the date of birth and address the list gives.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sextant_monitoring::screening::{Entry, Watchlist};

const FIRST_NAMES: [&str; 40] = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "David",
    "Linda",
    "Thomas",
    "Sarah",
    "Jan",
    "Petra",
    "Tomas",
    "Lucie",
    "Jakub",
    "Tereza",
    "Lukas",
    "Anna",
    "Martin",
    "Eva",
    "Pierre",
    "Claire",
    "Luca",
    "Giulia",
    "Carlos",
    "Lucia",
    "Pablo",
    "Elena",
    "Hans",
    "Greta",
    "Piotr",
    "Agnieszka",
    "Sven",
    "Ingrid",
    "Mateo",
    "Sofia",
    "Daniel",
    "Laura",
    "Oliver",
    "Emma",
];

const SURNAMES: [&str; 40] = [
    "Novak",
    "Svoboda",
    "Dvorak",
    "Cerny",
    "Prochazka",
    "Kucera",
    "Vesely",
    "Horak",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Taylor",
    "Wilson",
    "Martin",
    "Bernard",
    "Dubois",
    "Rossi",
    "Bianchi",
    "Esposito",
    "Garcia",
    "Fernandez",
    "Lopez",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Kowalski",
    "Nowak",
    "Wisniewski",
    "Jensen",
    "Nielsen",
    "Andersson",
    "Virtanen",
    "Silva",
    "Santos",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
];

#[derive(Debug, Serialize)]
pub struct VariantRecall {
    pub variant: &'static str,
    pub screened: u64,
    /// Its entry among the hits.
    pub found: u64,
    pub recall: f64,
    /// Its entry the best hit.
    pub top_hit: u64,
    pub example: String,
}

#[derive(Debug, Serialize)]
pub struct ScreeningEval {
    pub list: String,
    pub entries: u64,
    pub names: u64,
    pub load_seconds: f64,
    pub threshold: f64,
    pub seed: u64,
    pub sampled_entries: u64,
    pub by_variant: Vec<VariantRecall>,
    pub ordinary_names: u64,
    /// Ordinary names with at least one hit.
    pub ordinary_with_a_hit: u64,
    pub ordinary_hit_rate: f64,
    pub example_ordinary_hit: Option<String>,
    pub screens: u64,
    pub screens_per_second: f64,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
}

/// The name's words in reading order: `LAST, First Middle` becomes `First Middle LAST`.
fn reading_order(name: &str) -> String {
    match name.split_once(',') {
        Some((last, given)) if !given.trim().is_empty() => {
            format!("{} {}", given.trim(), last.trim())
        }
        _ => name.to_owned(),
    }
}

fn words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Latin letters in Cyrillic script, digraphs first.
fn to_cyrillic(text: &str) -> String {
    const DIGRAPHS: [(&str, &str); 6] = [
        ("shch", "щ"),
        ("sh", "ш"),
        ("ch", "ч"),
        ("zh", "ж"),
        ("kh", "х"),
        ("ts", "ц"),
    ];
    let lower = text.to_lowercase();
    let mut out = String::new();
    let mut rest = lower.as_str();
    'outer: while let Some(c) = rest.chars().next() {
        for (latin, cyr) in DIGRAPHS {
            if rest.starts_with(latin) {
                out.push_str(cyr);
                rest = &rest[latin.len()..];
                continue 'outer;
            }
        }
        let mapped = match c {
            'a' => "а",
            'b' => "б",
            'c' => "к",
            'd' => "д",
            'e' => "е",
            'f' => "ф",
            'g' => "г",
            'h' => "х",
            'i' => "и",
            'j' => "дж",
            'k' => "к",
            'l' => "л",
            'm' => "м",
            'n' => "н",
            'o' => "о",
            'p' => "п",
            'q' => "к",
            'r' => "р",
            's' => "с",
            't' => "т",
            'u' => "у",
            'v' => "в",
            'w' => "в",
            'x' => "кс",
            'y' => "й",
            'z' => "з",
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        out.push_str(mapped);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn with_accents(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a' => 'á',
            'A' => 'Á',
            'e' => 'é',
            'E' => 'É',
            'i' => 'í',
            'I' => 'Í',
            'o' => 'ö',
            'O' => 'Ö',
            'u' => 'ü',
            'U' => 'Ü',
            other => other,
        })
        .collect()
}

/// One letter of the longest word (after its first two) changed.
fn with_typo(name: &str, rng: &mut ChaCha8Rng) -> Option<String> {
    let mut ws = words(name);
    let (i, longest) = ws
        .iter()
        .enumerate()
        .max_by_key(|(_, w)| w.chars().count())?;
    let chars: Vec<char> = longest.chars().collect();
    if chars.len() < 4 {
        return None;
    }
    let at = rng.gen_range(2..chars.len());
    let mut changed = chars.clone();
    let replacement = loop {
        let c = (b'a' + rng.gen_range(0..26u8)) as char;
        if !c.eq_ignore_ascii_case(&chars[at]) {
            break c;
        }
    };
    changed[at] = replacement;
    ws[i] = changed.into_iter().collect();
    Some(ws.join(" "))
}

type Variant = (&'static str, fn(&Entry, &mut ChaCha8Rng) -> Option<String>);

const VARIANTS: [Variant; 7] = [
    ("as listed", |e, _| Some(e.name.to_lowercase())),
    ("words reordered", |e, _| {
        let mut ws = words(&e.name);
        ws.reverse();
        Some(ws.join(" "))
    }),
    ("first name as initial", |e, _| {
        if e.kind != "individual" {
            return None;
        }
        let mut ws = words(&reading_order(&e.name));
        let first = ws.first()?.chars().next()?;
        ws[0] = format!("{first}.");
        Some(ws.join(" "))
    }),
    ("one letter wrong", |e, rng| {
        with_typo(&reading_order(&e.name), rng)
    }),
    ("cyrillic script", |e, _| {
        Some(to_cyrillic(&reading_order(&e.name)))
    }),
    ("accents", |e, _| {
        Some(with_accents(&reading_order(&e.name)))
    }),
    // How payment orders often name a person: the first given name and the family name.
    ("middle names left out", |e, _| {
        if e.kind != "individual" {
            return None;
        }
        let (family, given) = e.name.split_once(',')?;
        let given = words(given);
        (given.len() >= 2).then(|| format!("{} {}", given[0], family.trim()))
    }),
];

pub fn eval(
    list_path: &std::path::Path,
    sample: usize,
    threshold: f64,
    seed: u64,
) -> anyhow::Result<ScreeningEval> {
    let started = Instant::now();
    let text = std::fs::read_to_string(list_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", list_path.display()))?;
    let list = Watchlist::from_sdn_csv(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", list_path.display()))?;
    let load_seconds = started.elapsed().as_secs_f64();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pool: Vec<&Entry> = list
        .entries()
        .iter()
        .filter(|e| sextant_monitoring::screening::words(&e.name).len() >= 2)
        .collect();
    pool.shuffle(&mut rng);
    pool.truncate(sample);

    let mut latencies: Vec<f64> = Vec::new();
    let mut screen = |name: &str| {
        let t = Instant::now();
        let hits = list.screen(name, threshold);
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
        hits
    };
    let mut by_variant = Vec::new();
    for (variant, write) in VARIANTS {
        let (mut screened, mut found, mut top_hit) = (0u64, 0u64, 0u64);
        let mut example = String::new();
        for entry in &pool {
            let Some(name) = write(entry, &mut rng) else {
                continue;
            };
            screened += 1;
            let hits = screen(&name);
            if hits.iter().any(|m| m.ent_num == entry.ent_num) {
                found += 1;
            }
            if hits.first().is_some_and(|m| m.ent_num == entry.ent_num) {
                top_hit += 1;
            }
            if example.is_empty() {
                example = format!("{name} (listed: {})", entry.name);
            }
        }
        by_variant.push(VariantRecall {
            variant,
            screened,
            found,
            recall: found as f64 / screened.max(1) as f64,
            top_hit,
            example,
        });
    }
    let ordinary_names = 2_000u64;
    let (mut with_hit, mut example_hit) = (0u64, None);
    for _ in 0..ordinary_names {
        let name = format!(
            "{} {}",
            FIRST_NAMES.choose(&mut rng).expect("names"),
            SURNAMES.choose(&mut rng).expect("names")
        );
        let hits = screen(&name);
        if let Some(hit) = hits.first() {
            with_hit += 1;
            example_hit.get_or_insert(format!("{name} ~ {} ({:.2})", hit.matched_name, hit.score));
        }
    }
    let screens = latencies.len() as u64;
    let total: f64 = latencies.iter().sum();
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(ScreeningEval {
        list: list_path.display().to_string(),
        entries: list.entries().len() as u64,
        names: list.names() as u64,
        load_seconds,
        threshold,
        seed,
        sampled_entries: pool.len() as u64,
        by_variant,
        ordinary_names,
        ordinary_with_a_hit: with_hit,
        ordinary_hit_rate: with_hit as f64 / ordinary_names as f64,
        example_ordinary_hit: example_hit,
        screens,
        screens_per_second: screens as f64 / (total / 1e6).max(1e-9),
        latency_p50_us: quantile(0.5),
        latency_p99_us: quantile(0.99),
    })
}
