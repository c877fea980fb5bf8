//! The raw JSON text of a record, before it is parsed: the card-number scan that must run
//! first (so no parser message can echo a number), and whole numbers written as floats.

use sextant_domain::{find_pan, find_pan_in_value, may_hold_pan, PanRule};

use super::RecordError;

/// Refuses a JSON text that holds a card number anywhere (any key or value, known field or
/// not), before anything is parsed, so no error message can echo it. Strings are judged
/// after their escapes are decoded (`\u0034` is a `4`). Values of identifier fields (`id`,
/// `*_id`, `*_ids`, `*_key`) and integers follow the identifier rule of
/// [`sextant_domain::PanRule`]: a timestamp in an event id is not a card number, a
/// scheme-issued number anywhere is. The error names the field, never the value.
pub fn refuse_card_numbers(text: &str) -> Result<(), RecordError> {
    // Most records hold no long run of digits anywhere: done without reading them.
    if !may_hold_pan(text) {
        return Ok(());
    }
    let bytes = text.as_bytes();
    let mut key: Option<&str> = None;
    let mut decoded = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                let (end, escaped) = string_end(bytes, start);
                let raw = &text[start..end];
                let value = if escaped {
                    decoded.clear();
                    unescape_into(raw, &mut decoded);
                    decoded.as_str()
                } else {
                    raw
                };
                let is_key = bytes[end.min(bytes.len())..]
                    .iter()
                    .skip(1)
                    .find(|b| !b.is_ascii_whitespace())
                    == Some(&b':');
                let rule = match key {
                    Some(k) if !is_key && is_identifier_field(k) => PanRule::Identifier,
                    _ => PanRule::FreeText,
                };
                if let Some(at) = find_pan_in_value(value, rule) {
                    let column = start + if escaped { 0 } else { at };
                    return Err(card_found(if is_key { None } else { key }, column));
                }
                if is_key {
                    key = Some(raw);
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let integer = text[start..i].split(['.', 'e', 'E']).next().unwrap_or("");
                if find_pan(integer, PanRule::Identifier).is_some() {
                    return Err(card_found(key, start));
                }
            }
            b'}' => {
                key = None;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn card_found(field: Option<&str>, offset: usize) -> RecordError {
    RecordError {
        field: field.map(str::to_owned),
        code: "full_card_number".into(),
        message: "a full card number is never accepted; send only card.bin and card.last4".into(),
        line: Some(1),
        column: Some(offset + 1),
    }
}

/// Fields whose values are identifiers with a declared format rather than free text.
fn is_identifier_field(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key.ends_with("_ids") || key.ends_with("_key")
}

/// The index of the closing quote of the string starting at `start` (or the end of the
/// text), and whether it holds escapes.
fn string_end(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut escaped = false;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'"' => return (i, escaped),
            _ => i += 1,
        }
    }
    (bytes.len(), escaped)
}

/// JSON string escapes decoded; an invalid escape is kept as written (the parser refuses it
/// later with its position).
fn unescape_into(raw: &str, out: &mut String) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u32::from_str_radix(&hex, 16).ok();
                // A surrogate pair's halves are not characters alone; neither is a digit or
                // a separator, so a replacement character judges the same.
                out.push(unit.and_then(char::from_u32).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
}

/// The JSON text with integral numbers written as floats (`300.0`, `12.000`) written as
/// integers, or `None` when it has none. JSON Schema counts `300.0` as an integer and some
/// clients' serialisers write whole numbers that way; serde refuses them for integer fields.
/// A float field reads `300` exactly as `300.0`, so the rewrite changes no value.
pub fn integral_floats_as_integers(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string, escapes included.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'-') {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'.') {
                    let dot = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] == b'0' {
                        i += 1;
                    }
                    let ends = !bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'e' | b'E'));
                    if ends && i > dot + 1 && dot > start {
                        out.push_str(&text[copied..dot]);
                        copied = i;
                        changed = true;
                    }
                }
            }
            _ => i += 1,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied.min(text.len())..]);
    Some(out)
}
