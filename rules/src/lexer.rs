//! Tokens, read one at a time so that the first error in reading order is the one reported.

use std::ops::Range;

use super::{CmpOp, Pos, RuleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    And,
    Or,
    Not,
    In,
    Between,
    Is,
    Missing,
    True,
    False,
}

impl Keyword {
    const ALL: [(&'static str, Keyword); 9] = [
        ("and", Keyword::And),
        ("or", Keyword::Or),
        ("not", Keyword::Not),
        ("in", Keyword::In),
        ("between", Keyword::Between),
        ("is", Keyword::Is),
        ("missing", Keyword::Missing),
        ("true", Keyword::True),
        ("false", Keyword::False),
    ];

    /// Keywords are case-insensitive.
    fn find(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .iter()
            .find(|(text, _)| word.eq_ignore_ascii_case(text))
            .map(|&(_, keyword)| keyword)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A word that is no keyword: a field name, as written.
    Ident,
    Keyword(Keyword),
    Number(f64),
    /// A duration such as `10m`, `1h` or `30d`, in milliseconds: an aggregate's window.
    Duration(i64),
    /// A string literal, escapes resolved.
    Text(String),
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    /// Where the token starts (for `End`: just after the last token).
    pub pos: Pos,
    /// Byte range in the source.
    pub span: Range<usize>,
}

/// Whether `name` is an identifier the lexer reads as a field name.
pub(super) fn is_field_name(name: &str) -> bool {
    is_word(name) && Keyword::find(name).is_none()
}

/// Whether `text` is read as one word (an identifier or a keyword): `[a-z_][a-z0-9_.]*`.
pub(super) fn is_word(text: &str) -> bool {
    let mut chars = text.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    starts_well
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

pub(super) struct Lexer<'a> {
    source: &'a str,
    offset: usize,
    pos: Pos,
    /// Just after the last token read, where `End` points.
    last_end: Pos,
}

impl<'a> Lexer<'a> {
    pub fn new(source: &'a str) -> Lexer<'a> {
        Lexer {
            source,
            offset: 0,
            pos: Pos::START,
            last_end: Pos::START,
        }
    }

    pub fn next_token(&mut self) -> Result<Token, RuleError> {
        self.skip_trivia();
        let start = self.pos;
        let start_offset = self.offset;
        let Some(c) = self.peek() else {
            return Ok(Token {
                tok: Tok::End,
                pos: self.last_end,
                span: self.offset..self.offset,
            });
        };
        let tok = match c {
            '(' | ')' | ',' | '=' => {
                self.bump();
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => Tok::Cmp(CmpOp::Eq),
                }
            }
            '!' => {
                self.bump();
                if !self.eat('=') {
                    return Err(RuleError::new(
                        start,
                        "unexpected_token",
                        "unexpected `!`; write `!=` for \"not equal\" or `not` to negate".into(),
                    ));
                }
                Tok::Cmp(CmpOp::Ne)
            }
            '<' | '>' => {
                self.bump();
                let or_equal = self.eat('=');
                Tok::Cmp(match (c, or_equal) {
                    ('<', false) => CmpOp::Lt,
                    ('<', true) => CmpOp::Le,
                    (_, false) => CmpOp::Gt,
                    (_, true) => CmpOp::Ge,
                })
            }
            '"' => self.string(start)?,
            '-' | '0'..='9' => self.number(start)?,
            c if c.is_ascii_alphabetic() || c == '_' => {
                self.bump_while(is_word_char);
                match Keyword::find(&self.source[start_offset..self.offset]) {
                    Some(keyword) => Tok::Keyword(keyword),
                    None => Tok::Ident,
                }
            }
            other => {
                return Err(RuleError::new(
                    start,
                    "unexpected_token",
                    format!("unexpected character `{other}`"),
                ))
            }
        };
        self.last_end = self.pos;
        Ok(Token {
            tok,
            pos: start,
            span: start_offset..self.offset,
        })
    }

    fn peek(&self) -> Option<char> {
        self.source[self.offset..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        self.pos = self.pos.after(c);
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.bump();
        }
        found
    }

    fn bump_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
    }

    /// Whitespace and `#` comments.
    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => self.bump_while(|c| c != '\n'),
                _ => return,
            }
        }
    }

    /// A double-quoted string on one line, with `\"` and `\\` escapes.
    fn string(&mut self, start: Pos) -> Result<Tok, RuleError> {
        let unterminated = || {
            RuleError::new(
                start,
                "unterminated_string",
                "this string is never closed (a string ends with `\"` on the same line)".into(),
            )
        };
        self.bump();
        let mut text = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None | Some('\n') => return Err(unterminated()),
                Some('"') => return Ok(Tok::Text(text)),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => text.push(c),
                    None | Some('\n') => return Err(unterminated()),
                    Some(other) => {
                        return Err(RuleError::new(
                            at,
                            "unexpected_token",
                            format!(
                                "unknown escape `\\{other}` in a string; only `\\\"` and `\\\\` are allowed"
                            ),
                        ))
                    }
                },
                Some(c) => text.push(c),
            }
        }
    }

    /// Reads the whole run of number-like characters, so that `12abc` or `1.2.3` is one
    /// invalid number rather than a number followed by something else.
    fn number(&mut self, start: Pos) -> Result<Tok, RuleError> {
        let start_offset = self.offset;
        self.eat('-');
        let mut previous = None;
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '+' | '-') && matches!(previous, Some('e' | 'E'));
            if !(is_word_char(c) || exponent_sign) {
                break;
            }
            previous = Some(c);
            self.bump();
        }
        let text = &self.source[start_offset..self.offset];
        let shown: String = text.chars().take(40).collect();
        if let Some(ms) = duration_ms(text) {
            return ms.map(Tok::Duration).ok_or_else(|| {
                RuleError::new(
                    start,
                    "invalid_number",
                    format!("`{shown}` is out of range"),
                )
            });
        }
        if !is_number_syntax(text) {
            return Err(RuleError::new(
                start,
                "invalid_number",
                format!(
                    "`{shown}` is not a number (examples: 42, -3, 0.05, 1e3) or a duration (10m, 1h, 7d)"
                ),
            ));
        }
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Tok::Number(value)),
            _ => Err(RuleError::new(
                start,
                "invalid_number",
                format!("`{shown}` is out of range"),
            )),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// `digits ("m" | "h" | "d")`: minutes, hours or days. `None` when `text` is no duration;
/// `Some(None)` when it is one too long to count in milliseconds.
fn duration_ms(text: &str) -> Option<Option<i64>> {
    let unit_ms: i64 = match text.as_bytes().last()? {
        b'm' => 60_000,
        b'h' => 3_600_000,
        b'd' => 86_400_000,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_ms)),
    )
}

/// `-? digits (. digits)? ([eE] [+-]? digits)?`, checked here because `f64::from_str`
/// also accepts `inf`, `nan`, `.5` and `1.`.
fn is_number_syntax(text: &str) -> bool {
    fn digits(bytes: &[u8], at: &mut usize) -> bool {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > start
    }
    let bytes = text.as_bytes();
    let mut at = usize::from(bytes.first() == Some(&b'-'));
    if !digits(bytes, &mut at) {
        return false;
    }
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if !digits(bytes, &mut at) {
            return false;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(bytes, &mut at) {
            return false;
        }
    }
    at == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(source: &str) -> Vec<Tok> {
        let mut lexer = Lexer::new(source);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token().expect("valid tokens");
            if token.tok == Tok::End {
                return out;
            }
            out.push(token.tok);
        }
    }

    #[test]
    fn reads_every_token_kind() {
        assert_eq!(
            tokens("a.b_1 AND Or not in between is missing TRUE false ( ) , = != < <= > >="),
            vec![
                Tok::Ident,
                Tok::Keyword(Keyword::And),
                Tok::Keyword(Keyword::Or),
                Tok::Keyword(Keyword::Not),
                Tok::Keyword(Keyword::In),
                Tok::Keyword(Keyword::Between),
                Tok::Keyword(Keyword::Is),
                Tok::Keyword(Keyword::Missing),
                Tok::Keyword(Keyword::True),
                Tok::Keyword(Keyword::False),
                Tok::LParen,
                Tok::RParen,
                Tok::Comma,
                Tok::Cmp(CmpOp::Eq),
                Tok::Cmp(CmpOp::Ne),
                Tok::Cmp(CmpOp::Lt),
                Tok::Cmp(CmpOp::Le),
                Tok::Cmp(CmpOp::Gt),
                Tok::Cmp(CmpOp::Ge),
            ]
        );
    }

    #[test]
    fn reads_numbers() {
        let cases = [
            ("42", 42.0),
            ("-3", -3.0),
            ("0.05", 0.05),
            ("1e3", 1000.0),
            ("2.5E-1", 0.25),
            ("-1e+2", -100.0),
            ("007", 7.0),
        ];
        for (text, value) in cases {
            assert_eq!(tokens(text), vec![Tok::Number(value)], "{text}");
        }
        // No space is needed before an operator or parenthesis.
        assert_eq!(
            tokens("1<=2)"),
            vec![
                Tok::Number(1.0),
                Tok::Cmp(CmpOp::Le),
                Tok::Number(2.0),
                Tok::RParen
            ]
        );
    }

    #[test]
    fn reads_durations() {
        assert_eq!(
            tokens("10m 1h 30d 007h"),
            vec![
                Tok::Duration(600_000),
                Tok::Duration(3_600_000),
                Tok::Duration(30 * 86_400_000),
                Tok::Duration(7 * 3_600_000),
            ]
        );
        for text in ["1.5h", "-1h", "1w", "h1", "99999999999999999d"] {
            let mut lexer = Lexer::new(text);
            if let Ok(token) = lexer.next_token() {
                assert_eq!(token.tok, Tok::Ident, "{text}");
            }
        }
    }

    #[test]
    fn refuses_malformed_numbers() {
        for text in [
            "12abc", "1.", "1.2.3", "1e", "1e+", "-", "-x", "1e999", "- 1", "nan1",
        ] {
            let mut lexer = Lexer::new(text);
            match lexer.next_token() {
                Err(error) => assert_eq!(error.code, "invalid_number", "{text}"),
                // `nan1` is a word: the parser refuses it as an unknown field.
                Ok(token) => assert_eq!(token.tok, Tok::Ident, "{text}"),
            }
        }
    }

    #[test]
    fn reads_strings_with_escapes() {
        assert_eq!(
            tokens(r#""a \"quoted\" \\ word" "é""#),
            vec![
                Tok::Text(r#"a "quoted" \ word"#.into()),
                Tok::Text("é".into())
            ]
        );
    }

    #[test]
    fn skips_comments_and_tracks_positions() {
        let mut lexer = Lexer::new("# heading\n  age # trailing\n\t>= 3");
        let age = lexer.next_token().unwrap();
        assert_eq!((age.pos.line, age.pos.column), (2, 3));
        let ge = lexer.next_token().unwrap();
        assert_eq!((ge.pos.line, ge.pos.column), (3, 2));
        let three = lexer.next_token().unwrap();
        assert_eq!((three.pos.line, three.pos.column), (3, 5));
        let end = lexer.next_token().unwrap();
        assert_eq!(end.tok, Tok::End);
        assert_eq!((end.pos.line, end.pos.column), (3, 6));
    }

    #[test]
    fn field_names() {
        for good in ["age", "_x", "consent.email", "savings_rate_90d"] {
            assert!(is_field_name(good), "{good}");
        }
        for bad in ["", "Age", "9lives", "a-b", "and", "missing", "é"] {
            assert!(!is_field_name(bad), "{bad}");
        }
    }
}
