//! The canonical form of a rule: lowercase keywords, single spaces, and parentheses only
//! where the structure needs them, so that parsing the printed text gives the same `Expr`.

use std::fmt::{self, Display, Formatter, Write};

use super::aggregate::window_text;
use super::parser::{Call, Expr, Test, Value};

/// Binding strength; an operand needs parentheses when it binds no tighter than its parent.
/// `And` inside `And` gets them too: the parser folds an unparenthesised chain into one node,
/// so a nested node can only have come from parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Top,
    Or,
    And,
    Not,
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, Precedence::Top)
    }
}

fn write_expr(f: &mut Formatter<'_>, expr: &Expr, parent: Precedence) -> fmt::Result {
    let (operands, own, keyword) = match expr {
        Expr::Or(operands) => (operands, Precedence::Or, " or "),
        Expr::And(operands) => (operands, Precedence::And, " and "),
        Expr::Not(inner) => {
            f.write_str("not ")?;
            return write_expr(f, inner, Precedence::Not);
        }
        predicate => return write_predicate(f, predicate),
    };
    let parenthesised = own <= parent;
    if parenthesised {
        f.write_char('(')?;
    }
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(keyword)?;
        }
        write_expr(f, operand, own)?;
    }
    if parenthesised {
        f.write_char(')')?;
    }
    Ok(())
}

fn write_predicate(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Compare { field, op, value } => {
            write!(f, "{field} {} {}", op.symbol(), ValueText(value))
        }
        Expr::In {
            field,
            negated,
            values,
        } => {
            let not = if *negated { "not " } else { "" };
            write!(f, "{field} {not}in (")?;
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", ValueText(value))?;
            }
            f.write_char(')')
        }
        Expr::Between { field, low, high } => {
            write!(f, "{field} between {} and {}", Number(*low), Number(*high))
        }
        Expr::Missing { field, negated } => {
            let not = if *negated { "not " } else { "" };
            write!(f, "{field} is {not}missing")
        }
        Expr::Aggregate { call, test } => match test {
            Test::Compare(op, value) => write!(f, "{call} {} {}", op.symbol(), Number(*value)),
            Test::Between(low, high) => {
                write!(f, "{call} between {} and {}", Number(*low), Number(*high))
            }
        },
        Expr::Or(_) | Expr::And(_) | Expr::Not(_) => unreachable!("not a predicate"),
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({}, {}",
            self.function.name(),
            self.field,
            window_text(self.window_ms)
        )?;
        if let Some(filter) = &self.filter {
            f.write_str(", ")?;
            write_expr(f, filter, Precedence::Top)?;
        }
        f.write_char(')')
    }
}

struct ValueText<'a>(&'a Value);

impl Display for ValueText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Number(number) => write!(f, "{}", Number(*number)),
            Value::Bool(value) => write!(f, "{value}"),
            Value::Text(text) => {
                f.write_char('"')?;
                for c in text.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_char('"')
            }
        }
    }
}

/// The shortest text that reads back as the same `f64`. Very large and very small magnitudes
/// use an exponent, so that `1e300` does not print as 301 digits.
struct Number(f64);

impl Display for Number {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.abs();
        if magnitude != 0.0 && !(1e-4..1e15).contains(&magnitude) {
            write!(f, "{:e}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}
