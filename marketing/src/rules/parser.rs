//! Recursive descent over the tokens, checking each predicate against the schema as it is
//! read so that a type error points at the token that causes it.

use super::lexer::{Keyword, Lexer, Tok, Token};
use super::{CmpOp, FieldType, Pos, RuleError, Schema, MAX_DEPTH, MAX_IN_VALUES};

/// A rule as written, with field names and literals in source order: what `Display` prints
/// and what the round-trip tests compare. `And` and `Or` hold at least two operands; the
/// parser folds a chain `a and b and c` into one node.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        field: String,
        op: CmpOp,
        value: Value,
    },
    In {
        field: String,
        negated: bool,
        values: Vec<Value>,
    },
    Between {
        field: String,
        low: f64,
        high: f64,
    },
    Missing {
        field: String,
        negated: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    pub fn field_type(&self) -> FieldType {
        match self {
            Value::Number(_) => FieldType::Number,
            Value::Text(_) => FieldType::Text,
            Value::Bool(_) => FieldType::Bool,
        }
    }
}

impl Expr {
    /// Calls `visit` with every field name, in reading order.
    pub fn visit_fields<'a>(&'a self, visit: &mut impl FnMut(&'a str)) {
        match self {
            Expr::Or(operands) | Expr::And(operands) => {
                for operand in operands {
                    operand.visit_fields(visit);
                }
            }
            Expr::Not(inner) => inner.visit_fields(visit),
            Expr::Compare { field, .. }
            | Expr::In { field, .. }
            | Expr::Between { field, .. }
            | Expr::Missing { field, .. } => visit(field),
        }
    }
}

pub(super) fn parse(source: &str, schema: &Schema) -> Result<Expr, RuleError> {
    let mut lexer = Lexer::new(source);
    let current = lexer.next_token()?;
    if current.tok == Tok::End {
        return Err(RuleError::new(
            Pos::START,
            "empty_rule",
            "the rule is empty; write at least one condition, e.g. `age >= 18`".into(),
        ));
    }
    let mut parser = Parser {
        source,
        schema,
        lexer,
        current,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.current.tok != Tok::End {
        return Err(parser.unexpected("`and`, `or` or the end of the rule"));
    }
    Ok(expr)
}

struct Parser<'a> {
    source: &'a str,
    schema: &'a Schema,
    lexer: Lexer<'a>,
    current: Token,
    /// Parentheses and `not`s open around the current token.
    depth: usize,
}

impl Parser<'_> {
    fn advance(&mut self) -> Result<Token, RuleError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.current, next))
    }

    fn at_keyword(&self, keyword: Keyword) -> bool {
        self.current.tok == Tok::Keyword(keyword)
    }

    fn expect_keyword(&mut self, keyword: Keyword, wanted: &str) -> Result<(), RuleError> {
        if !self.at_keyword(keyword) {
            return Err(self.unexpected(wanted));
        }
        self.advance()?;
        Ok(())
    }

    /// Counts one more level of nesting at the current token.
    fn enter(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                self.current.pos,
                "too_deep",
                format!("the rule nests more than {MAX_DEPTH} parentheses and `not`s"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        let first = self.and()?;
        if !self.at_keyword(Keyword::Or) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.at_keyword(Keyword::Or) {
            self.advance()?;
            operands.push(self.and()?);
        }
        Ok(Expr::Or(operands))
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let first = self.not()?;
        if !self.at_keyword(Keyword::And) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.at_keyword(Keyword::And) {
            self.advance()?;
            operands.push(self.not()?);
        }
        Ok(Expr::And(operands))
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        match self.current.tok {
            Tok::Keyword(Keyword::Not) => {
                self.enter()?;
                self.advance()?;
                let inner = self.not()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.enter()?;
                let open = self.advance()?;
                let inner = self.or()?;
                if self.current.tok != Tok::RParen {
                    let wanted = format!(
                        "`)` to close the `(` at line {}, column {}",
                        open.pos.line, open.pos.column
                    );
                    return Err(self.unexpected(&wanted));
                }
                self.advance()?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Ident => self.predicate(),
            _ => Err(self.unexpected("a field name, `not` or `(`")),
        }
    }

    fn predicate(&mut self) -> Result<Expr, RuleError> {
        let name_token = self.advance()?;
        let field = self.source[name_token.span.clone()].to_owned();
        let ty = self.resolve(&field, name_token.pos)?;
        match self.current.tok {
            Tok::Cmp(op) => {
                if op.is_ordering() && ty != FieldType::Number {
                    return Err(RuleError::new(
                        self.current.pos,
                        "type_mismatch",
                        format!(
                            "`{field}` is a {} field; `{}` compares numbers only (use `=`, `!=` or `in`)",
                            ty.name(),
                            op.symbol()
                        ),
                    ));
                }
                self.advance()?;
                let value = self.literal(&field, ty)?;
                Ok(Expr::Compare { field, op, value })
            }
            Tok::Keyword(Keyword::In) => {
                self.advance()?;
                let values = self.list(&field, ty)?;
                Ok(Expr::In {
                    field,
                    negated: false,
                    values,
                })
            }
            Tok::Keyword(Keyword::Not) => {
                self.advance()?;
                self.expect_keyword(Keyword::In, "`in` after `not` (as in `not in (...)`)")?;
                let values = self.list(&field, ty)?;
                Ok(Expr::In {
                    field,
                    negated: true,
                    values,
                })
            }
            Tok::Keyword(Keyword::Between) => {
                if ty != FieldType::Number {
                    return Err(RuleError::new(
                        self.current.pos,
                        "type_mismatch",
                        format!(
                            "`{field}` is a {} field; `between` takes numbers only",
                            ty.name()
                        ),
                    ));
                }
                self.advance()?;
                let low = self.number(&field)?;
                self.expect_keyword(Keyword::And, "`and` between the bounds of `between`")?;
                let high = self.number(&field)?;
                Ok(Expr::Between { field, low, high })
            }
            Tok::Keyword(Keyword::Is) => {
                self.advance()?;
                let negated = self.at_keyword(Keyword::Not);
                if negated {
                    self.advance()?;
                }
                self.expect_keyword(Keyword::Missing, "`missing` (as in `is missing`)")?;
                Ok(Expr::Missing { field, negated })
            }
            _ => {
                let wanted = format!(
                    "a comparison after `{field}` (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `between` or `is missing`)"
                );
                Err(self.unexpected(&wanted))
            }
        }
    }

    /// The field's type, or `unknown_field` with the closest name when one is close.
    fn resolve(&self, field: &str, at: Pos) -> Result<FieldType, RuleError> {
        if let Some(index) = self.schema.index(field) {
            return Ok(self.schema.field_type(index));
        }
        let message = match suggest(field, self.schema) {
            Some(close) => format!("unknown field `{field}`; did you mean `{close}`?"),
            None => format!("unknown field `{field}`"),
        };
        Err(RuleError::new(at, "unknown_field", message))
    }

    /// A literal of the field's type.
    fn literal(&mut self, field: &str, ty: FieldType) -> Result<Value, RuleError> {
        let value = match &self.current.tok {
            Tok::Number(number) => Value::Number(*number),
            Tok::Text(text) => Value::Text(text.clone()),
            Tok::Keyword(Keyword::True) => Value::Bool(true),
            Tok::Keyword(Keyword::False) => Value::Bool(false),
            _ => return Err(self.unexpected("a value (a number, a \"string\", true or false)")),
        };
        if value.field_type() != ty {
            return Err(RuleError::new(
                self.current.pos,
                "type_mismatch",
                format!(
                    "`{field}` is a {} field but {} is {}",
                    ty.name(),
                    self.describe(&self.current),
                    value.field_type().name()
                ),
            ));
        }
        self.advance()?;
        Ok(value)
    }

    fn number(&mut self, field: &str) -> Result<f64, RuleError> {
        match self.literal(field, FieldType::Number)? {
            Value::Number(number) => Ok(number),
            _ => unreachable!("literal() checked the type"),
        }
    }

    /// `( literal (, literal)* )`, every value of the field's type.
    fn list(&mut self, field: &str, ty: FieldType) -> Result<Vec<Value>, RuleError> {
        if self.current.tok != Tok::LParen {
            return Err(self.unexpected("`(` to open the list of values"));
        }
        self.advance()?;
        let mut values = Vec::new();
        loop {
            if values.len() == MAX_IN_VALUES {
                return Err(RuleError::new(
                    self.current.pos,
                    "too_many_values",
                    format!("an `in` list holds at most {MAX_IN_VALUES} values"),
                ));
            }
            values.push(self.literal(field, ty)?);
            match self.current.tok {
                Tok::Comma => {
                    self.advance()?;
                }
                Tok::RParen => {
                    self.advance()?;
                    return Ok(values);
                }
                _ => return Err(self.unexpected("`,` or `)` in the list of values")),
            }
        }
    }

    /// `unexpected_end` at the end of the rule, `unexpected_token` anywhere else.
    fn unexpected(&self, wanted: &str) -> RuleError {
        let code = if self.current.tok == Tok::End {
            "unexpected_end"
        } else {
            "unexpected_token"
        };
        RuleError::new(
            self.current.pos,
            code,
            format!("expected {wanted}, found {}", self.describe(&self.current)),
        )
    }

    fn describe(&self, token: &Token) -> String {
        let text = &self.source[token.span.clone()];
        let mut shown: String = text.chars().take(40).collect();
        if shown.len() < text.len() {
            shown.push_str("...");
        }
        match token.tok {
            Tok::End => "the end of the rule".into(),
            Tok::Text(_) => format!("the string {shown}"),
            Tok::Number(_) => format!("the number {shown}"),
            _ => format!("`{shown}`"),
        }
    }
}

/// The schema field a mistyped `name` most likely meant: the closest by edit distance when
/// it is close (a third of the name's length, at least one edit), else the shortest field
/// that `name` begins (`savings` for `savings_rate_90d`).
fn suggest<'s>(name: &str, schema: &'s Schema) -> Option<&'s str> {
    let typed = name.to_ascii_lowercase();
    let typed_chars = typed.chars().count();
    let limit = typed_chars.div_ceil(3).max(1);
    let closest = schema
        .fields()
        .map(|(field, _)| (edit_distance(&typed, field), field))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance);
    if let Some((_, field)) = closest {
        return Some(field);
    }
    if typed_chars < 3 {
        return None;
    }
    schema
        .fields()
        .map(|(field, _)| field)
        .filter(|field| field.starts_with(&typed))
        .min_by_key(|field| field.len())
}

/// Levenshtein distance in characters, with one row of memory.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("regoin", "region"), 2);
        assert_eq!(edit_distance("age", "age"), 0);
    }

    #[test]
    fn suggestions() {
        let schema = Schema::new()
            .field("age", FieldType::Number)
            .field("region", FieldType::Text)
            .field("savings_rate_90d", FieldType::Number)
            .field("savings_rate_30d_change", FieldType::Number);
        assert_eq!(suggest("agee", &schema), Some("age"));
        assert_eq!(suggest("AGE", &schema), Some("age"));
        assert_eq!(suggest("regoin", &schema), Some("region"));
        assert_eq!(suggest("savings", &schema), Some("savings_rate_90d"));
        assert_eq!(suggest("income", &schema), None);
        assert_eq!(suggest("x", &schema), None);
    }
}
