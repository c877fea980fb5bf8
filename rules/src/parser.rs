//! Recursive descent over the tokens, checking each predicate against the schema as it is
//! read so that a type error points at the token that causes it.

use super::aggregate::{window_text, AggregateSchema, Function, MIN_WINDOW_MS};
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
    /// A windowed aggregate compared with a number.
    Aggregate {
        call: Call,
        test: Test,
    },
}

/// `function(field, window[, filter])`, as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub function: Function,
    /// The event field aggregated; for `count`, the schema's source (`payments`).
    pub field: String,
    pub window_ms: i64,
    /// Which events count, over the event schema.
    pub filter: Option<Box<Expr>>,
}

/// How an aggregate's value is tested.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    Compare(CmpOp, f64),
    Between(f64, f64),
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
            // An aggregate reads events' fields, not the row's.
            Expr::Aggregate { .. } => {}
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
        in_filter: false,
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
    /// Inside an aggregate's filter.
    in_filter: bool,
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
        if self.current.tok == Tok::LParen {
            return self.aggregate(&field, name_token.pos);
        }
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
        resolve_in(self.schema, field, at)
    }

    /// `function(field, window[, filter])` and its test, the function's name just read.
    fn aggregate(&mut self, name: &str, at: Pos) -> Result<Expr, RuleError> {
        let schema: &Schema = self.schema;
        let Some(aggregates) = schema.aggregates.as_deref() else {
            let message = if self.in_filter {
                "aggregates do not nest: a filter compares the event's own fields".to_owned()
            } else {
                format!("`{name}(...)`: these rules have no functions; compare a field")
            };
            return Err(RuleError::new(at, "unknown_function", message));
        };
        let Some(function) = Function::find(name) else {
            let names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
            return Err(RuleError::new(
                at,
                "unknown_function",
                format!(
                    "unknown function `{name}`; the aggregates are {}",
                    names.join(", ")
                ),
            ));
        };
        self.enter()?;
        let open = self.advance()?;
        let field = self.aggregated(function, aggregates)?;
        if self.current.tok != Tok::Comma {
            return Err(self.unexpected("`,` and a window (such as 10m, 1h or 7d)"));
        }
        self.advance()?;
        let window_ms = match self.current.tok {
            Tok::Duration(ms) => ms,
            _ => return Err(self.unexpected("a window such as 10m, 1h or 7d")),
        };
        if !(MIN_WINDOW_MS..=aggregates.max_window_ms()).contains(&window_ms) {
            return Err(RuleError::new(
                self.current.pos,
                "invalid_window",
                format!(
                    "a window is {} to {} long",
                    window_text(MIN_WINDOW_MS),
                    window_text(aggregates.max_window_ms())
                ),
            ));
        }
        self.advance()?;
        let filter = if self.current.tok == Tok::Comma {
            self.advance()?;
            self.schema = aggregates.events();
            self.in_filter = true;
            let filter = self.or();
            self.in_filter = false;
            self.schema = schema;
            Some(Box::new(filter?))
        } else {
            None
        };
        if self.current.tok != Tok::RParen {
            let wanted = format!(
                "`)` to close the `(` at line {}, column {}",
                open.pos.line, open.pos.column
            );
            return Err(self.unexpected(&wanted));
        }
        self.advance()?;
        self.depth -= 1;
        let call = Call {
            function,
            field,
            window_ms,
            filter,
        };
        let label = format!("{name}(...)");
        let test = match self.current.tok {
            Tok::Cmp(op) => {
                self.advance()?;
                Test::Compare(op, self.number(&label)?)
            }
            Tok::Keyword(Keyword::Between) => {
                self.advance()?;
                let low = self.number(&label)?;
                self.expect_keyword(Keyword::And, "`and` between the bounds of `between`")?;
                Test::Between(low, self.number(&label)?)
            }
            _ => {
                return Err(self.unexpected(&format!(
                    "a comparison with a number after `{name}(...)` (`=`, `!=`, `<`, `<=`, `>`, `>=` or `between`)"
                )))
            }
        };
        Ok(Expr::Aggregate { call, test })
    }

    /// The first argument of an aggregate: the source for `count`, a number field for
    /// `sum`, `avg`, `min` and `max`, a text field for `distinct`.
    fn aggregated(
        &mut self,
        function: Function,
        aggregates: &AggregateSchema,
    ) -> Result<String, RuleError> {
        let source = aggregates.source();
        if self.current.tok != Tok::Ident {
            let wanted = match function {
                Function::Count => format!("`{source}` (as in `count({source}, 1h)`)"),
                _ => "a field of the events".to_owned(),
            };
            return Err(self.unexpected(&wanted));
        }
        let token = self.advance()?;
        let field = self.source[token.span.clone()].to_owned();
        let wanted_type = match function {
            Function::Count => {
                if field != source {
                    return Err(RuleError::new(
                        token.pos,
                        "unknown_field",
                        format!("`count` counts {source}: write `count({source}, 1h)`, with a filter as a third argument"),
                    ));
                }
                return Ok(field);
            }
            Function::Distinct => FieldType::Text,
            Function::Sum | Function::Avg | Function::Min | Function::Max => FieldType::Number,
        };
        let ty = resolve_in(aggregates.events(), &field, token.pos)?;
        if ty != wanted_type {
            return Err(RuleError::new(
                token.pos,
                "type_mismatch",
                format!(
                    "`{}` takes a {} field; `{field}` is {}",
                    function.name(),
                    wanted_type.name(),
                    ty.name()
                ),
            ));
        }
        Ok(field)
    }

    /// A literal of the field's type.
    fn literal(&mut self, field: &str, ty: FieldType) -> Result<Value, RuleError> {
        let choices = self
            .schema
            .index(field)
            .and_then(|index| self.schema.choices(index));
        let value = match &self.current.tok {
            Tok::Number(number) => Value::Number(*number),
            Tok::Text(text) => Value::Text(text.clone()),
            // A field with a closed set of values takes them as bare words (a keyword too:
            // `direction = in`).
            Tok::Ident | Tok::Keyword(_)
                if choices.is_some_and(|c| {
                    matches!(self.current.tok, Tok::Ident)
                        || c.iter()
                            .any(|v| *v == self.source[self.current.span.clone()])
                }) =>
            {
                Value::Text(self.source[self.current.span.clone()].to_owned())
            }
            Tok::Keyword(Keyword::True) => Value::Bool(true),
            Tok::Keyword(Keyword::False) => Value::Bool(false),
            _ => return Err(self.unexpected("a value (a number, a \"string\", true or false)")),
        };
        if let (Value::Text(text), Some(choices)) = (&value, choices) {
            if !choices.iter().any(|c| c == text) {
                let close = closest(text, choices.iter().map(String::as_str))
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                return Err(RuleError::new(
                    self.current.pos,
                    "unknown_value",
                    format!(
                        "`{field}` is one of {}; not {}{close}",
                        choices.join(", "),
                        self.describe(&self.current)
                    ),
                ));
            }
        }
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

/// The field's type in `schema`, or `unknown_field` with the closest name when one is close.
fn resolve_in(schema: &Schema, field: &str, at: Pos) -> Result<FieldType, RuleError> {
    if let Some(index) = schema.index(field) {
        return Ok(schema.field_type(index));
    }
    let message = match suggest(field, schema) {
        Some(close) => format!("unknown field `{field}`; did you mean `{close}`?"),
        None => format!("unknown field `{field}`"),
    };
    Err(RuleError::new(at, "unknown_field", message))
}

/// Of `candidates`, the closest to `typed` by edit distance, when within a third of its length.
fn closest<'c>(typed: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let typed = typed.to_ascii_lowercase();
    let limit = typed.chars().count().div_ceil(3).max(1);
    candidates
        .map(|c| (edit_distance(&typed, c), c))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

/// The schema field a mistyped `name` most likely meant: the closest by edit distance when
/// it is close (a third of the name's length, at least one edit), else the shortest field
/// that `name` begins (`savings` for `savings_rate_90d`).
fn suggest<'s>(name: &str, schema: &'s Schema) -> Option<&'s str> {
    if let Some(field) = closest(name, schema.fields().map(|(field, _)| field)) {
        return Some(field);
    }
    let typed = name.to_ascii_lowercase();
    let typed_chars = typed.chars().count();
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
