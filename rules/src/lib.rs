//! The segment rule language: marketers select customers by their profile fields.
//!
//! ```text
//! age between 25 and 40 and region in ("north", "east")
//!   and not (risk_level < 3 or savings_rate_90d <= 0.05)
//!   and consent_email = true      # comments run to the end of the line
//! ```
//!
//! # Grammar
//!
//! ```text
//! rule       = or
//! or         = and ("or" and)*
//! and        = not ("and" not)*
//! not        = "not" not | "(" or ")" | predicate
//! predicate  = field ("=" | "!=" | "<" | "<=" | ">" | ">=") literal
//!            | field ["not"] "in" "(" literal ("," literal)* ")"
//!            | field "between" number "and" number
//!            | field "is" ["not"] "missing"
//!            | aggregate ("=" | "!=" | "<" | "<=" | ">" | ">=") number
//!            | aggregate "between" number "and" number
//! aggregate  = "count" "(" source "," window ["," or] ")"
//!            | ("sum" | "avg" | "min" | "max" | "distinct") "(" field "," window ["," or] ")"
//! window     = digits ("m" | "h" | "d")
//! literal    = number | string | "true" | "false" | word (a text field's declared value)
//! number     = ["-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]
//! string     = '"' (any character but '"', '\' or a newline | '\"' | '\\')* '"'
//! field      = [a-z_][a-z0-9_.]*
//! ```
//!
//! Keywords are case-insensitive; field names are not. `between`'s bounds are parsed as
//! numbers, so in `age between 25 and 40 and x = 1` the first `and` belongs to `between` and
//! the second one is the boolean `and`.
//!
//! # Aggregates
//!
//! A schema built [`Schema::with_aggregates`] also takes windowed aggregates over events
//! (payments, for transaction monitoring): `count(payments, 1h) > 10 and
//! sum(amount, 24h, direction = out) > 5000`. `count` counts the events of the window;
//! `sum`, `avg`, `min` and `max` read a number field of the events, `distinct` counts the
//! values of a text field. The optional third argument is a filter over the event's fields,
//! in the same language (without aggregates). A window is whole minutes, hours or days, from
//! one minute to the schema's longest. The rule only names its aggregates
//! ([`Rule::aggregates`]); whoever evaluates it keeps the windows and answers
//! [`Row::aggregate`]. An aggregate over no events is 0 for `count`, `sum` and `distinct`
//! and missing (so every comparison is false) for `avg`, `min` and `max`.
//!
//! # Types
//!
//! Each field has a [`FieldType`] in the [`Schema`]. Numbers take every comparison, `in` and
//! `between`; text and booleans take `=`, `!=` and `in` only. A literal must have the
//! field's type (every value of an `in` list too). Violations are `type_mismatch` errors at the
//! offending token. A text field declared with [`Schema::choice`] takes only its values, and
//! takes them unquoted too (`direction = out`); another value is `unknown_value`.
//!
//! # Semantics
//!
//! A comparison, `in`, `not in` or `between` on a missing value is false: `region != "north"`
//! and `region not in ("north")` select only customers whose region is known. `not` negates
//! the boolean result, so `not (region = "north")` does select customers without a region.
//! `is missing` is the one way to ask for missing values on purpose. Text comparison is exact
//! and case-sensitive; number equality is exact (IEEE, so `0 = -0`); `between` is inclusive
//! and selects nobody when its bounds are reversed. A NaN in a row counts as missing.
//!
//! # Pipeline
//!
//! The `lexer` produces tokens on demand, so the first error in reading order is the one
//! reported. The `parser` checks every predicate against the schema as it reads it and
//! builds an `Expr` (field names, literals in source order) that [`Rule`] prints in
//! canonical form. `compile` turns it into a tree of schema indices with sorted `in` lists;
//! evaluating a row walks that tree without string lookups or allocation.
//!
//! # Limits
//!
//! A rule is at most [`MAX_SOURCE_BYTES`] long, nests at most [`MAX_DEPTH`] parentheses and
//! `not`s, and an `in` list holds at most [`MAX_IN_VALUES`] values, so that the work of
//! parsing and evaluating one is bounded whatever a caller sends.

mod aggregate;
mod compile;
mod lexer;
mod parser;
mod print;
#[cfg(test)]
mod tests;

use std::fmt;

pub use aggregate::{Aggregate, AggregateSchema, Function};

/// The longest rule source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 4096;
/// The deepest nesting of parentheses and `not`s accepted.
pub const MAX_DEPTH: usize = 32;
/// The most values one `in` list may hold.
pub const MAX_IN_VALUES: usize = 256;

/// The type of a profile field, which decides the operators and literals it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Number,
    Text,
    Bool,
}

impl FieldType {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Number => "number",
            FieldType::Text => "text",
            FieldType::Bool => "bool",
        }
    }
}

/// The fields rules may use, each with its type. A field's index is its position in the
/// order of declaration; [`Row`] values are looked up by that index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<(String, FieldType)>,
    /// For text fields with a closed set of values, those values (by field index).
    choices: Vec<Option<Vec<String>>>,
    /// The windowed aggregates rules may use, if any.
    aggregates: Option<Box<AggregateSchema>>,
}

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Adds a field.
    ///
    /// # Panics
    ///
    /// On a duplicate name, or a name the language cannot refer to (not
    /// `[a-z_][a-z0-9_.]*`, or a keyword): both are mistakes in the calling code.
    pub fn field(mut self, name: &str, ty: FieldType) -> Schema {
        assert!(
            lexer::is_field_name(name),
            "schema field `{name}` is not a valid rule identifier ([a-z_][a-z0-9_.]*, no keyword)"
        );
        assert!(
            self.index(name).is_none(),
            "schema field `{name}` is declared twice"
        );
        self.fields.push((name.to_owned(), ty));
        self.choices.push(None);
        self
    }

    /// Adds a text field that takes one of `values` only: a rule comparing it with anything
    /// else is refused (`unknown_value`), and a value may be written without quotes
    /// (`direction = out`).
    ///
    /// # Panics
    ///
    /// As [`Schema::field`], and when a value is not a valid bare word (`[a-z_][a-z0-9_.]*`;
    /// a keyword such as `in` is one too, in a value's place).
    pub fn choice(self, name: &str, values: &[&str]) -> Schema {
        for value in values {
            assert!(
                lexer::is_word(value),
                "choice `{value}` of `{name}` cannot be written as a bare word"
            );
        }
        let mut schema = self.field(name, FieldType::Text);
        *schema.choices.last_mut().expect("just added") =
            Some(values.iter().map(|v| (*v).to_owned()).collect());
        schema
    }

    /// Lets rules use windowed aggregates (`count(payments, 1h) > 10`) over events of
    /// `aggregates`' schema.
    pub fn with_aggregates(mut self, aggregates: AggregateSchema) -> Schema {
        self.aggregates = Some(Box::new(aggregates));
        self
    }

    /// The values a text field is limited to, if it is.
    pub fn choices(&self, index: usize) -> Option<&[String]> {
        self.choices.get(index)?.as_deref()
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The index of a field, which [`Row`] lookups use.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(field, _)| field == name)
    }

    /// Every field with its type, in order of declaration (index order).
    pub fn fields(&self) -> impl Iterator<Item = (&str, FieldType)> {
        self.fields.iter().map(|(name, ty)| (name.as_str(), *ty))
    }

    fn field_type(&self, index: usize) -> FieldType {
        self.fields[index].1
    }
}

/// A customer's values, looked up by the schema index. `None` = missing (e.g. no profile).
///
/// A rule only asks a field for values of its schema type: `number` for number fields, and so
/// on. A NaN from `number` is treated as missing.
pub trait Row {
    fn number(&self, field: usize) -> Option<f64>;
    fn text(&self, field: usize) -> Option<&str>;
    fn boolean(&self, field: usize) -> Option<bool>;
    /// The value of the rule's aggregate `index` (see [`Rule::aggregates`]) for this row;
    /// `None` when it has none (an average over no events). Rows of schemas without
    /// aggregates never need it.
    fn aggregate(&self, index: usize) -> Option<f64> {
        let _ = index;
        None
    }
}

/// A parsed, type-checked rule, ready to evaluate on rows of the schema it was parsed with.
///
/// `Display` prints it in canonical form (lowercase keywords, single spaces, the fewest
/// parentheses that keep its structure); parsing that text gives the same rule back.
#[derive(Debug, Clone)]
pub struct Rule {
    source: String,
    expr: parser::Expr,
    node: compile::Node,
    fields: Vec<String>,
    aggregates: Vec<Aggregate>,
}

impl Rule {
    /// Parses and type-checks `source` against `schema`.
    pub fn parse(source: &str, schema: &Schema) -> Result<Rule, RuleError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(RuleError::too_long(source));
        }
        let expr = parser::parse(source, schema)?;
        let mut aggregates = Vec::new();
        let node = compile::compile(&expr, schema, &mut aggregates);
        let mut fields: Vec<String> = Vec::new();
        expr.visit_fields(&mut |name| {
            if !fields.iter().any(|seen| seen == name) {
                fields.push(name.to_owned());
            }
        });
        Ok(Rule {
            source: source.to_owned(),
            expr,
            node,
            fields,
            aggregates,
        })
    }

    /// The distinct windowed aggregates the rule reads, in order of first use: a row's
    /// [`Row::aggregate`] answers by index into this list.
    pub fn aggregates(&self) -> &[Aggregate] {
        &self.aggregates
    }

    /// Whether the row is selected. The row must follow the schema the rule was parsed with.
    pub fn matches(&self, row: &dyn Row) -> bool {
        self.node.eval(row)
    }

    /// The text the rule was parsed from, as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The distinct field names the rule uses, in order of first use.
    pub fn fields(&self) -> Vec<String> {
        self.fields.clone()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

/// Why a rule was refused, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Stable snake_case code: `unexpected_token`, `unexpected_end`, `unknown_field`,
    /// `type_mismatch`, `invalid_number`, `unterminated_string`, `too_long`, `too_deep`,
    /// `too_many_values`, `empty_rule`, `unknown_value` (a text field limited to some values),
    /// `unknown_function` or `invalid_window` (aggregates).
    pub code: &'static str,
    pub message: String,
}

impl RuleError {
    fn new(at: Pos, code: &'static str, message: String) -> RuleError {
        RuleError {
            line: at.line,
            column: at.column,
            code,
            message,
        }
    }

    /// Points at the character that crosses the limit.
    fn too_long(source: &str) -> RuleError {
        let mut at = Pos::START;
        for (offset, c) in source.char_indices() {
            if offset + c.len_utf8() > MAX_SOURCE_BYTES {
                break;
            }
            at = at.after(c);
        }
        RuleError::new(
            at,
            "too_long",
            format!(
                "the rule is {} bytes long; at most {MAX_SOURCE_BYTES} are allowed",
                source.len()
            ),
        )
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// A position in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    const START: Pos = Pos { line: 1, column: 1 };

    /// The position after reading `c` here.
    fn after(self, c: char) -> Pos {
        if c == '\n' {
            Pos {
                line: self.line + 1,
                column: 1,
            }
        } else {
            Pos {
                line: self.line,
                column: self.column + 1,
            }
        }
    }
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether the operator needs an order, which only numbers have.
    fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}
