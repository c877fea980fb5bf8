//! Primary account numbers (PANs): the card numbers Sextant must never store or echo (PCI DSS
//! 3.4). One scanner, two rules:
//!
//! - **free text** (names, search queries, rule texts, regions): any 13..=19 digits that pass
//!   the Luhn check are a card number;
//! - **identifiers** (customer, event, merchant and product ids, idempotency keys): they follow
//!   a declared format, and a digit span in them is a card number only when it also carries a
//!   card scheme's issuer prefix with a length that scheme issues. A millisecond timestamp
//!   (`1733480000000`, 13 digits starting with 1) is then never mistaken for a card, while
//!   every real Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro or Mir number
//!   still is.
//!
//! Digits may be written in one group or in groups joined by up to [`SEPARATOR_RUN_MAX`]
//! separators: any Unicode space (including no-break and zero-width ones), any dash, any dot,
//! `_`, `:` or `/`, so `4111 1111 1111 1111`, `6011.0000.0000.0004`, `5500–0000–0000–0004`
//! (en dash) and `4111\u{a0}1111…` are all found. Fullwidth and Arabic-Indic digits count
//! as digits. Two exceptions keep ordinary numbers apart: a single group longer than 19
//! digits is a reference, and a run of exactly two groups joined by one dot is a decimal
//! number, whose fraction is not scanned (its integer part is).

/// Most separator characters between two digit groups of one written number ("two spaces").
pub const SEPARATOR_RUN_MAX: usize = 3;

/// The shortest and longest card numbers any scheme issues.
const PAN_DIGITS_MIN: usize = 13;
const PAN_DIGITS_MAX: usize = 19;

/// Which texts a span is judged as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanRule {
    /// Any Luhn-valid 13..=19 digits.
    FreeText,
    /// Luhn-valid and issued by a card scheme (prefix and length).
    Identifier,
}

/// True when free `text` holds a card number; see [`find_card_number`].
pub fn contains_card_number(text: &str) -> bool {
    find_card_number(text).is_some()
}

/// Byte offset where a card number starts in free `text`.
pub fn find_card_number(text: &str) -> Option<usize> {
    find_pan(text, PanRule::FreeText)
}

/// Whether `text` may hold a card number at all, by either rule: a conservative test over
/// the raw text, with no allocation (it runs on every line an import or a request reads).
/// `false` only when no run of [`PAN_DIGITS_MIN`] ASCII digits joined by at most
/// [`SEPARATOR_RUN_MAX`] separators is there, counting no group of more than
/// [`PAN_DIGITS_MAX`] digits (no card number spans one); text that is not plain ASCII, or
/// that holds a backslash (a JSON escape may spell a digit), may always.
///
/// It classifies the bytes 64 at a time into a bit mask of digits (16 at a time with SSE2 on
/// x86-64) and then walks the digit runs, not the bytes: a JSON event line of 330 bytes holds
/// about a dozen runs, and only the one to three bytes between two runs are looked at one
/// by one.
pub fn may_hold_pan(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 64 {
        return may_hold_pan_bytewise(bytes);
    }
    let mut number = Number::default();
    let mut blocks = bytes.chunks_exact(64);
    let mut base = 0;
    for block in &mut blocks {
        let block: &[u8; 64] = block.try_into().expect("chunks of 64");
        if number.add_block(bytes, base, block, 0) {
            return true;
        }
        base += 64;
    }
    let rest = blocks.remainder().len();
    if rest > 0 {
        // The last 64 bytes, of which only the `rest` not read yet count.
        let last: &[u8; 64] = bytes[bytes.len() - 64..].try_into().expect("64 bytes");
        if number.add_block(bytes, base, last, 64 - rest) {
            return true;
        }
    }
    number.end_group()
}

/// [`may_hold_pan`] one byte at a time, for texts shorter than a block (identifiers, most
/// values).
fn may_hold_pan_bytewise(bytes: &[u8]) -> bool {
    let mut number = Number::default();
    let mut special = false;
    for (at, &b) in bytes.iter().enumerate() {
        match ASCII_CLASS[usize::from(b)] {
            DIGIT if number.group > 0 => {
                number.group += 1;
                number.end = at + 1;
            }
            DIGIT => number.start_group(bytes, at, 1),
            class => {
                if number.end_group() {
                    return true;
                }
                special |= class == SPECIAL;
            }
        }
    }
    number.end_group() || special
}

/// The written number [`may_hold_pan`] is reading: digit groups joined by one to
/// [`SEPARATOR_RUN_MAX`] separators.
#[derive(Default)]
struct Number {
    /// Digits of the number's finished groups (0: no number under way).
    digits: usize,
    /// Digits of the group being read (0: none).
    group: usize,
    /// Where the last digit read ends.
    end: usize,
}

impl Number {
    /// Reads the 64 bytes of `block`, the first of them at `base - skip` in `bytes`, leaving
    /// out those `skip` bytes (read before); true when the text may hold a card number (a long
    /// enough number, or a byte that is not plain ASCII).
    fn add_block(&mut self, bytes: &[u8], base: usize, block: &[u8; 64], skip: usize) -> bool {
        let (mask, special) = classify(block);
        if special {
            return true;
        }
        let mut mask = mask >> skip;
        while mask != 0 {
            let start = base + mask.trailing_zeros() as usize;
            let len = (!(mask >> (start - base))).trailing_zeros() as usize;
            mask &= u64::MAX
                .checked_shl((start - base + len) as u32)
                .unwrap_or(0);
            if self.group > 0 && start == self.end {
                // The group goes on across the blocks' border.
                self.group += len;
                self.end += len;
                continue;
            }
            if self.end_group() {
                return true;
            }
            self.start_group(bytes, start, len);
        }
        // A group may go on into the next block: it ends at the next non-digit.
        if self.group > 0 && self.end < base + 64 - skip {
            return self.end_group();
        }
        false
    }

    /// A group of `len` digits starts at `start`: it joins the number when only separators,
    /// one to [`SEPARATOR_RUN_MAX`] of them, stand between it and the number's last group.
    fn start_group(&mut self, bytes: &[u8], start: usize, len: usize) {
        let gap = &bytes[self.end.min(start)..start];
        let joined = self.digits > 0
            && (1..=SEPARATOR_RUN_MAX).contains(&gap.len())
            && gap
                .iter()
                .all(|&b| ASCII_CLASS[usize::from(b)] == SEPARATOR);
        if !joined {
            self.digits = 0;
        }
        self.group = len;
        self.end = start + len;
    }

    /// The group being read has ended; true when the number may now hold a card number. A
    /// group of more than [`PAN_DIGITS_MAX`] digits is a reference (an IBAN, say): no card
    /// number can span it, so the number stops there.
    fn end_group(&mut self) -> bool {
        if self.group == 0 {
            return false;
        }
        self.digits = if self.group > PAN_DIGITS_MAX {
            0
        } else {
            self.digits + self.group
        };
        self.group = 0;
        self.digits >= PAN_DIGITS_MIN
    }
}

/// Classifies 64 bytes: bit `i` of the mask is set when byte `i` is an ASCII digit; the flag
/// says whether any byte is not ASCII or is a backslash.
#[cfg(target_arch = "x86_64")]
fn classify(block: &[u8; 64]) -> (u64, bool) {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let (mut digits, mut special) = (0u64, 0);
    for (i, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of every x86-64 processor, and `sixteen` is 16 readable bytes
        // (the unaligned load needs no alignment).
        let (digit, other) = unsafe {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>());
            // Signed compares: bytes of 0x80 and above are negative, so never digits.
            let digit = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
            );
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            (
                _mm_movemask_epi8(digit),
                _mm_movemask_epi8(_mm_or_si128(v, backslash)),
            )
        };
        digits |= u64::from(digit as u16) << (16 * i);
        special |= other;
    }
    (digits, special != 0)
}

#[cfg(not(target_arch = "x86_64"))]
fn classify(block: &[u8; 64]) -> (u64, bool) {
    classify_words(block)
}

/// [`classify`] eight bytes at a time in plain integer arithmetic, where SSE2 is not there.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn classify_words(block: &[u8; 64]) -> (u64, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (mut digits, mut special) = (0u64, false);
    for (i, eight) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(eight.try_into().expect("chunks of 8"));
        if word & HIGH != 0 || eight.contains(&b'\\') {
            special = true;
        }
        let low = word & !HIGH;
        // Below 0x80 these sums never carry into the next byte: the high bit of each says
        // "at least '0'" and "at least ':'" (the byte after '9').
        let at_least_zero = low + ONES * (0x80 - u64::from(b'0'));
        let past_nine = low + ONES * (0x80 - u64::from(b'9') - 1);
        let digit = (at_least_zero & !past_nine & !word & HIGH) >> 7;
        // Gathers the low bit of each byte into one byte (byte k lands on bit k).
        digits |= (digit.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (i * 8);
    }
    (digits, special)
}

const OTHER: u8 = 0;
const DIGIT: u8 = 1;
const SEPARATOR: u8 = 2;
/// Not plain ASCII, or a backslash: the text may always hold a card number.
const SPECIAL: u8 = 3;

/// What each byte is to [`may_hold_pan`]: the digits, the ASCII characters [`is_separator`]
/// accepts, and the special bytes (a table: one load per byte of every short text read).
static ASCII_CLASS: [u8; 256] = {
    let mut class = [SPECIAL; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        class[b] = if c.is_ascii_digit() {
            DIGIT
        } else if matches!(
            c,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'-' | b'.' | b'_' | b':' | b'/'
        ) {
            SEPARATOR
        } else if c == b'\\' {
            SPECIAL
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// Like [`find_pan`] for one whole value, which may also be an RFC 3339 timestamp: its
/// clock digits (`22:30:00.1234567890`) are a time, never a card number.
pub fn find_pan_in_value(value: &str, rule: PanRule) -> Option<usize> {
    if !may_hold_pan(value) {
        return None;
    }
    if value.len() <= 40 && chrono::DateTime::parse_from_rfc3339(value).is_ok() {
        return None;
    }
    find_pan(value, rule)
}

/// Byte offset where a card number starts in `text`, judged by `rule`.
pub fn find_pan(text: &str, rule: PanRule) -> Option<usize> {
    if !may_hold_pan(text) {
        return None;
    }
    let mut run = Run::default();
    for (at, c) in text.char_indices() {
        if let Some(digit) = digit_value(c) {
            run.digit(at, digit);
        } else if is_separator(c) && run.may_continue() {
            run.separator(is_dot(c));
        } else if let Some(found) = run.finish(rule) {
            return Some(found);
        }
    }
    run.finish(rule)
}

/// The digit groups of one written number being read.
#[derive(Default)]
struct Run {
    /// Digit values of the whole run.
    digits: Vec<u8>,
    /// (byte offset in the text, index into `digits`) of each group's first digit.
    groups: Vec<(usize, usize)>,
    /// Separators since the last digit (0 while inside a group).
    separators: usize,
    /// Separator runs in this number, and whether each was a single dot.
    joins: usize,
    single_dot_joins: usize,
    pending_dot_only: bool,
}

impl Run {
    fn digit(&mut self, at: usize, digit: u8) {
        if self.groups.is_empty() || self.separators > 0 {
            if self.separators > 0 {
                self.joins += 1;
                if self.separators == 1 && self.pending_dot_only {
                    self.single_dot_joins += 1;
                }
            }
            self.groups.push((at, self.digits.len()));
            self.separators = 0;
        }
        self.digits.push(digit);
    }

    fn may_continue(&self) -> bool {
        !self.groups.is_empty() && self.separators < SEPARATOR_RUN_MAX
    }

    fn separator(&mut self, dot: bool) {
        self.pending_dot_only = if self.separators == 0 {
            dot
        } else {
            self.pending_dot_only && dot
        };
        self.separators += 1;
    }

    /// Ends the run: where a card number starts in it, if one does.
    fn finish(&mut self, rule: PanRule) -> Option<usize> {
        let found = self.judge(rule);
        self.digits.clear();
        self.groups.clear();
        self.separators = 0;
        self.joins = 0;
        self.single_dot_joins = 0;
        found
    }

    fn judge(&self, rule: PanRule) -> Option<usize> {
        if self.digits.len() < PAN_DIGITS_MIN {
            return None;
        }
        // `12.345`: a decimal number; only its integer part can be a card number.
        let decimal = self.groups.len() == 2 && self.joins == 1 && self.single_dot_joins == 1;
        let count = if decimal { 1 } else { self.groups.len() };
        let end_of = |k: usize| self.groups.get(k + 1).map_or(self.digits.len(), |g| g.1);
        for (i, &(offset, first)) in self.groups[..count].iter().enumerate() {
            for k in i..count {
                let end = end_of(k);
                if end - first > PAN_DIGITS_MAX {
                    break;
                }
                if self.judge_span(rule, first, end) {
                    return Some(offset);
                }
            }
        }
        None
    }

    fn judge_span(&self, rule: PanRule, from: usize, to: usize) -> bool {
        let span = &self.digits[from..to];
        (PAN_DIGITS_MIN..=PAN_DIGITS_MAX).contains(&span.len())
            && luhn_valid(span)
            && (rule == PanRule::FreeText || issued_by_a_scheme(span))
    }
}

fn digit_value(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}', // fullwidth
        '\u{0660}'..='\u{0669}' => '\u{0660}', // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}', // Extended Arabic-Indic
        '\u{0966}'..='\u{096F}' => '\u{0966}', // Devanagari
        _ => return None,
    };
    Some((c as u32 - zero as u32) as u8)
}

fn is_dot(c: char) -> bool {
    matches!(
        c,
        '.' | '\u{00B7}'
            | '\u{2022}'
            | '\u{2024}'
            | '\u{2027}'
            | '\u{2219}'
            | '\u{22C5}'
            | '\u{3002}'
            | '\u{30FB}'
            | '\u{FF0E}'
            | '\u{FF61}'
    )
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{00AD}' | '\u{2010}'
            ..='\u{2015}'
                | '\u{2212}'
                | '\u{2E3A}'
                | '\u{2E3B}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
    )
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || is_dash(c)
        || is_dot(c)
        || matches!(
            c,
            '_' | ':' | '/' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
        )
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match (i % 2 == 1, d * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether a card scheme issues numbers with this prefix and length (ISO/IEC 7812 ranges
/// of the schemes PCI DSS covers, plus Maestro, UnionPay and Mir).
fn issued_by_a_scheme(digits: &[u8]) -> bool {
    let prefix = |n: usize| {
        digits[..n]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
    };
    let len = digits.len();
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let visa = p1 == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16;
    let amex = matches!(p2, 34 | 37) && len == 15;
    let diners = ((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) || p4 == 3095)
        && (14..=19).contains(&len);
    let jcb = (3528..=3589).contains(&p4) && (16..=19).contains(&len);
    let mir = (2200..=2204).contains(&p4) && (16..=19).contains(&len);
    // Discover, UnionPay, Maestro and the national schemes share the 6 range; Maestro also
    // issues from 50 and 56-58.
    let six = p1 == 6;
    let maestro = p2 == 50 || (56..=58).contains(&p2);
    visa || mastercard || amex || diners || jcb || mir || six || maestro
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn luhn_complete(prefix: &[u8]) -> Vec<u8> {
        // The check digit that makes `prefix + d` Luhn-valid.
        (0..10u8)
            .map(|d| [prefix, &[d]].concat())
            .find(|digits| luhn_valid(digits))
            .expect("one check digit always fits")
    }

    /// The plain reading [`may_hold_pan`] must agree with.
    fn may_hold_pan_plainly(text: &str) -> bool {
        let bytes = text.as_bytes();
        if !text.is_ascii() || bytes.contains(&b'\\') {
            return true;
        }
        let mut groups = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at].is_ascii_digit() {
                let start = at;
                while at < bytes.len() && bytes[at].is_ascii_digit() {
                    at += 1;
                }
                groups.push(start..at);
            } else {
                at += 1;
            }
        }
        let (mut digits, mut previous_end) = (0, 0);
        for group in groups {
            let gap = &bytes[previous_end..group.start];
            let joined = digits > 0
                && (1..=SEPARATOR_RUN_MAX).contains(&gap.len())
                && gap.iter().all(|&b| is_separator(char::from(b)));
            if !joined {
                digits = 0;
            }
            digits = if group.len() > PAN_DIGITS_MAX {
                0
            } else {
                digits + group.len()
            };
            if digits >= PAN_DIGITS_MIN {
                return true;
            }
            previous_end = group.end;
        }
        false
    }

    proptest! {
        #[test]
        fn the_run_walk_agrees_with_the_bytewise_reading(
            text in "([a\"]{0,6}([0-9]{0,7}|[0-9]{18,24})[ .:/_\\-]{0,5}[é\\\\]?){0,30}",
        ) {
            prop_assert_eq!(may_hold_pan(&text), may_hold_pan_plainly(&text), "{}", text);
        }

        #[test]
        fn blocks_are_classified_byte_for_byte(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let block: [u8; 64] = bytes.clone().try_into().unwrap();
            let digits = bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_digit())
                .fold(0u64, |m, (i, _)| m | 1 << i);
            let special = bytes.iter().any(|&b| b >= 0x80 || b == b'\\');
            prop_assert_eq!(classify(&block), (digits, special));
            prop_assert_eq!(classify_words(&block), (digits, special));
        }

        #[test]
        fn every_luhn_valid_pan_is_caught(
            body in proptest::collection::vec(0u8..10, 12..=18),
            pad in "[a-z]{0,5}",
            separator in prop::sample::select(vec!["", " ", "  ", "-", ".", "\u{a0}", "\u{2013}", "\u{2009}"]),
        ) {
            let pan = luhn_complete(&body);
            let written: Vec<String> = pan
                .chunks(4)
                .map(|group| group.iter().map(|d| char::from(b'0' + d)).collect())
                .collect();
            let text = format!("{pad} {} {pad}", written.join(separator));
            prop_assert!(contains_card_number(&text), "{}", text);
        }

        #[test]
        fn the_quick_test_never_clears_text_that_holds_a_card_number(
            text in "([0-9]{0,24}[ .:/_a-z\\-]{0,4}){0,6}",
            body in proptest::collection::vec(0u8..10, 12..=18),
        ) {
            for candidate in [text.clone(), format!("{text}{}", luhn_complete(&body).iter().map(|d| char::from(b'0' + d)).collect::<String>())] {
                for rule in [PanRule::FreeText, PanRule::Identifier] {
                    if find_pan(&candidate, rule).is_some() {
                        prop_assert!(may_hold_pan(&candidate), "{}", candidate);
                    }
                }
            }
        }
    }

    #[test]
    fn the_byte_table_agrees_with_the_separators() {
        for b in 0u8..=255 {
            let c = char::from(b);
            let expected = if !c.is_ascii() || c == '\\' {
                SPECIAL
            } else if c.is_ascii_digit() {
                DIGIT
            } else if is_separator(c) {
                SEPARATOR
            } else {
                OTHER
            };
            assert_eq!(ASCII_CLASS[usize::from(b)], expected, "{b:#x}");
        }
    }

    #[test]
    fn a_reference_longer_than_any_card_stops_the_quick_test_but_not_a_card_beside_it() {
        let iban = r#"{"counterparty":{"name":"Petra Novotna","account":"CZ7208000000002497933531"},"amount_minor":45800,"occurred_at":"2025-11-04T07:50:45Z"}"#;
        assert!(!may_hold_pan(iban), "an IBAN alone is no card number");
        assert!(!may_hold_pan("CZ7208000000002497933531"));
        for text in [
            "CZ7208000000002497933531 4111 1111 1111 1111",
            "4111 1111 1111 1111 72080000000024979335310",
            &format!("{iban} 4111111111111111"),
        ] {
            assert!(contains_card_number(text), "{text}");
            assert!(may_hold_pan(text), "{text}");
        }
    }

    #[test]
    fn card_numbers_are_found_however_written() {
        for text in [
            "4111111111111111",
            "card 4111 1111 1111 1111 used",
            "5500-0000-0000-0004",
            "4111_1111_1111_1111",
            "4111:1111:1111:1111",
            "6011.0000.0000.0004",
            "4111  1111  1111  1111",
            "4111\u{a0}1111\u{a0}1111\u{a0}1111",
            "4111\u{202f}1111\u{202f}1111\u{202f}1111",
            "4111\u{2013}1111\u{2013}1111\u{2013}1111",
            "4111\u{200b}1111\u{200b}1111\u{200b}1111",
            "４１１１１１１１１１１１１１１１",
            "pay 4111 1111 1111 1111 0327",
            "4111111111111111.00",
        ] {
            assert!(contains_card_number(text), "{text:?} holds a card number");
        }
        assert_eq!(find_card_number("x 4111111111111111"), Some(2));
    }

    #[test]
    fn ordinary_numbers_are_not_cards() {
        for text in [
            "4111111111111112",
            "411111",
            "order 2026-11-26",
            "0.4111111111111111",
            "4.111111111111111e15",
            "41111111111111110000000",
            "4111, 1111, 1111, 1111",
            "4111    1111    1111    1111",
        ] {
            assert!(!contains_card_number(text), "{text:?} is not a card number");
        }
    }

    #[test]
    fn identifiers_need_a_scheme_prefix() {
        assert!(find_pan("c-4111111111111111", PanRule::Identifier).is_some());
        assert!(find_pan("378282246310005", PanRule::Identifier).is_some());
        assert!(find_pan("5555-5555-5555-4444", PanRule::Identifier).is_some());
        // 13 digits starting with 1 (a millisecond timestamp), Luhn-valid: not issued.
        let stamp = "1733480000004";
        assert!(luhn_valid(
            &stamp.bytes().map(|b| b - b'0').collect::<Vec<_>>()
        ));
        assert!(contains_card_number(stamp), "free text is judged strictly");
        assert!(find_pan(&format!("evt-{stamp}-42"), PanRule::Identifier).is_none());
        let time = "2026-12-06T04:52:43.1234567899Z";
        assert!(contains_card_number(time), "the clock digits pass Luhn");
        assert!(find_pan_in_value(time, PanRule::FreeText).is_none());
        assert!(find_pan_in_value("4111111111111111", PanRule::FreeText).is_some());
    }

    #[test]
    fn generated_event_ids_are_never_cards() {
        // Ids as payment apps mint them: a millisecond clock and a sequence number.
        let start_ms: u64 = 1_700_000_000_000;
        for i in 0..10_000u64 {
            let ms = start_ms + i * 7_919_173;
            for id in [
                format!("evt-{ms}-{i}"),
                format!("{ms}{:04}", i % 10_000),
                format!("pay:{ms}:{i:06}"),
            ] {
                assert_eq!(find_pan(&id, PanRule::Identifier), None, "{id}");
            }
        }
    }
}
