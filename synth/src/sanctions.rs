//! A sanctions list of invented parties, in the OFAC SDN CSV layout, that the generator
//! writes beside the population: a few customers pay one of them (the sanctioned-payee
//! scheme), under the name written another way (word order, an initial, Cyrillic letters,
//! upper case), so screening is measured on the spellings a real payment order carries.
//! Like many entries of the real list, each person is also listed without their patronymic.
//! Every name is invented; none is meant to be a real person's or company's.

use rand::Rng;

/// (entry number, name as listed, type, programme, aliases).
const ENTRIES: &[(u64, &str, &str, &str, &[&str])] = &[
    (
        90001,
        "DRAVENKO, Viktor Arkadyevich",
        "individual",
        "RUSSIA-EO14024",
        &["DRAVENKO, Vitya", "DRAVENKO, Viktor"],
    ),
    (
        90002,
        "OSTRILOV, Gennady Pavlovich",
        "individual",
        "RUSSIA-EO14024",
        &["OSTRILOV, Gennady"],
    ),
    (
        90003,
        "MALQUEZ ARBOLEDA, Ramiro",
        "individual",
        "SDNTK",
        &["MALQUEZ, Ramiro"],
    ),
    (90004, "KHAZRANI, Feridun", "individual", "IRAN", &[]),
    (
        90005,
        "TALVORIAN, Sergei Ruslanovich",
        "individual",
        "CYBER2",
        &["TALVORIAN, Serge", "TALVORIAN, Sergei"],
    ),
    (
        90006,
        "BRESCOVA, Larisa Igorevna",
        "individual",
        "UKRAINE-EO13662",
        &["BRESCOVA, Larisa"],
    ),
    (
        90007,
        "NORTHGATE PETROCHEMICAL TRADING LLC",
        "",
        "IRAN",
        &["NORTHGATE PETROCHEM"],
    ),
    (90008, "BLUE MERIDIAN SHIPPING CO", "", "DPRK3", &[]),
    (
        90009,
        "AL-SAFRANI, Yusuf Kamal",
        "individual",
        "SDGT",
        &["SAFRANI, Yusuf", "AL-SAFRANI, Yusuf"],
    ),
    (
        90010,
        "ZELVANOV, Arkady Borisovich",
        "individual",
        "RUSSIA-EO14024",
        &["ZELVANOV, Arkady"],
    ),
    (90011, "KORVELA HOLDINGS LIMITED", "", "RUSSIA-EO14024", &[]),
    (90012, "MERVANI, Dariush", "individual", "IRAN", &[]),
    (
        90013,
        "PELTRAVA, Oksana Vladimirovna",
        "individual",
        "BELARUS",
        &["PELTRAVA, Oksana"],
    ),
    (
        90014,
        "GOLDEN TERRACE EXCHANGE",
        "",
        "SDGT",
        &["GOLDEN TERRACE MONEY EXCHANGE"],
    ),
    (
        90015,
        "RUDNEVSKY, Maksim Olegovich",
        "individual",
        "CYBER2",
        &["RUDNEVSKY, Maksim"],
    ),
    (
        90016,
        "VASHTENKO, Ilya Petrovich",
        "individual",
        "RUSSIA-EO14024",
        &["VASHTENKO, Ilya"],
    ),
];

/// The list as a CSV file in the SDN layout (twelve fields, `-0-` for empty ones, aliases in
/// the remarks).
pub fn sdn_csv() -> String {
    let mut out = String::new();
    for (ent_num, name, kind, programme, aliases) in ENTRIES {
        let kind = if kind.is_empty() { "-0-" } else { kind };
        let remarks = if aliases.is_empty() {
            "-0-".to_owned()
        } else {
            aliases
                .iter()
                .map(|a| format!("a.k.a. '{a}'"))
                .collect::<Vec<_>>()
                .join("; ")
                + "."
        };
        out.push_str(&format!(
            "{ent_num},\"{name}\",\"{kind}\",\"{programme}\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"{remarks}\"\n"
        ));
    }
    out
}

/// Latin to Cyrillic, letter by letter, the way a name is written back from a Russian or
/// Ukrainian document.
fn cyrillic(latin: &str) -> String {
    let mut out = String::new();
    let lower = latin.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let pair: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let two = match pair.as_str() {
            "kh" => Some('х'),
            "zh" => Some('ж'),
            "ch" => Some('ч'),
            "sh" => Some('ш'),
            "yu" => Some('ю'),
            "ya" => Some('я'),
            _ => None,
        };
        if let Some(c) = two {
            out.push(c);
            i += 2;
            continue;
        }
        out.push(match chars[i] {
            'a' => 'а',
            'b' => 'б',
            'v' | 'w' => 'в',
            'g' => 'г',
            'd' => 'д',
            'e' => 'е',
            'z' => 'з',
            'i' => 'и',
            'y' => 'й',
            'k' | 'q' => 'к',
            'l' => 'л',
            'm' => 'м',
            'n' => 'н',
            'o' => 'о',
            'p' => 'п',
            'r' => 'р',
            's' => 'с',
            't' => 'т',
            'u' => 'у',
            'f' => 'ф',
            'c' => 'ц',
            'h' => 'х',
            other => other,
        });
        i += 1;
    }
    out
}

/// A listed person's or company's name as a payment order might carry it.
pub fn payee_name<R: Rng>(rng: &mut R) -> String {
    let (_, name, kind, _, _) = ENTRIES[rng.gen_range(0..ENTRIES.len())];
    if kind.is_empty() {
        // Companies: as listed, or in title case.
        return if rng.gen_bool(0.5) {
            name.to_owned()
        } else {
            name.split_whitespace()
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_string() + &c.as_str().to_lowercase()
                    })
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
    }
    let (family, given) = name
        .split_once(", ")
        .expect("people are listed FAMILY, Given");
    let given: Vec<&str> = given.split_whitespace().collect();
    let family = {
        let mut c = family.chars();
        c.next().map_or(String::new(), |f| {
            f.to_string() + &c.as_str().to_lowercase()
        })
    };
    match rng.gen_range(0..4) {
        // Given names first.
        0 => format!("{} {family}", given.join(" ")),
        // The first given name and an initial.
        1 if given.len() > 1 => format!(
            "{} {}. {family}",
            given[0],
            given[1].chars().next().expect("a name has letters")
        ),
        // Written in Cyrillic.
        2 => format!("{} {}", cyrillic(given[0]), cyrillic(&family)),
        // As listed, family name first.
        _ => format!("{family} {}", given[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_one_line_per_entry_in_the_sdn_layout() {
        let csv = sdn_csv();
        assert_eq!(csv.lines().count(), ENTRIES.len());
        assert!(csv.lines().all(|l| l.starts_with("900")));
        assert_eq!(cyrillic("Khazrani"), "хазрани");
    }
}
