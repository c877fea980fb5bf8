//! The evaluable form of a rule: schema indices instead of names, `in` lists sorted for
//! binary search, `!=` on booleans folded into `=`. Evaluating a row allocates nothing.

use std::cmp::Ordering;

use super::aggregate::Aggregate;
use super::parser::{Call, Expr, Test, Value};
use super::{CmpOp, FieldType, Row, Schema};

#[derive(Debug, Clone)]
pub(super) enum Node {
    Or(Box<[Node]>),
    And(Box<[Node]>),
    Not(Box<Node>),
    Number {
        field: usize,
        op: CmpOp,
        value: f64,
    },
    Between {
        field: usize,
        low: f64,
        high: f64,
    },
    NumberIn {
        field: usize,
        negated: bool,
        /// Sorted, without duplicates or NaN.
        sorted: Box<[f64]>,
    },
    Text {
        field: usize,
        equal: bool,
        value: Box<str>,
    },
    TextIn {
        field: usize,
        negated: bool,
        /// Sorted, without duplicates.
        sorted: Box<[Box<str>]>,
    },
    /// True when the field is present and equals `value`.
    Bool {
        field: usize,
        value: bool,
    },
    BoolIn {
        field: usize,
        accept_true: bool,
        accept_false: bool,
    },
    Missing {
        field: usize,
        ty: FieldType,
        negated: bool,
    },
    /// The row's value of the rule's aggregate `index`, compared.
    Aggregate {
        index: usize,
        op: CmpOp,
        value: f64,
    },
    AggregateBetween {
        index: usize,
        low: f64,
        high: f64,
    },
}

/// Compiles a parsed rule. The parser has resolved every field and checked every type against
/// this schema, so nothing here can fail. The rule's distinct aggregates are collected in
/// `aggregates`, which the compiled nodes index.
pub(super) fn compile(expr: &Expr, schema: &Schema, aggregates: &mut Vec<Aggregate>) -> Node {
    let index = |field: &str| {
        schema
            .index(field)
            .expect("the parser resolved every field against this schema")
    };
    match expr {
        Expr::Or(operands) => Node::Or(
            operands
                .iter()
                .map(|e| compile(e, schema, aggregates))
                .collect(),
        ),
        Expr::And(operands) => Node::And(
            operands
                .iter()
                .map(|e| compile(e, schema, aggregates))
                .collect(),
        ),
        Expr::Not(inner) => Node::Not(Box::new(compile(inner, schema, aggregates))),
        Expr::Aggregate { call, test } => {
            let index = aggregate_index(call, schema, aggregates);
            match *test {
                Test::Compare(op, value) => Node::Aggregate { index, op, value },
                Test::Between(low, high) => Node::AggregateBetween { index, low, high },
            }
        }
        Expr::Compare { field, op, value } => {
            let field = index(field);
            match value {
                Value::Number(value) => Node::Number {
                    field,
                    op: *op,
                    value: *value,
                },
                Value::Text(value) => Node::Text {
                    field,
                    equal: *op == CmpOp::Eq,
                    value: value.as_str().into(),
                },
                Value::Bool(value) => Node::Bool {
                    field,
                    // A present boolean that is not `v` is `!v`.
                    value: *value == (*op == CmpOp::Eq),
                },
            }
        }
        Expr::In {
            field,
            negated,
            values,
        } => compile_in(index(field), *negated, values),
        Expr::Between { field, low, high } => Node::Between {
            field: index(field),
            low: *low,
            high: *high,
        },
        Expr::Missing { field, negated } => {
            let field = index(field);
            Node::Missing {
                field,
                ty: schema.field_type(field),
                negated: *negated,
            }
        }
    }
}

/// The index of `call` among the rule's aggregates, added when it is new.
fn aggregate_index(call: &Call, schema: &Schema, aggregates: &mut Vec<Aggregate>) -> usize {
    let text = call.to_string();
    if let Some(index) = aggregates.iter().position(|a| a.text == text) {
        return index;
    }
    let events = schema
        .aggregates
        .as_deref()
        .expect("the parser read an aggregate, so the schema has them")
        .events();
    let field = (call.function != super::Function::Count).then(|| {
        events
            .index(&call.field)
            .expect("the parser resolved the field against the event schema")
    });
    let filter = call
        .filter
        .as_deref()
        .map(|filter| compile(filter, events, &mut Vec::new()));
    aggregates.push(Aggregate {
        function: call.function,
        field,
        window_ms: call.window_ms,
        filter,
        text,
    });
    aggregates.len() - 1
}

fn compile_in(field: usize, negated: bool, values: &[Value]) -> Node {
    match values.first().map(Value::field_type) {
        Some(FieldType::Number) => {
            let mut sorted: Vec<f64> = values
                .iter()
                .filter_map(|v| match v {
                    Value::Number(n) => Some(*n),
                    _ => None,
                })
                .collect();
            sorted.sort_by(compare_numbers);
            // `==`, not bit equality, so 0 and -0 are one value.
            sorted.dedup_by(|a, b| a == b);
            Node::NumberIn {
                field,
                negated,
                sorted: sorted.into(),
            }
        }
        Some(FieldType::Text) => {
            let mut sorted: Vec<Box<str>> = values
                .iter()
                .filter_map(|v| match v {
                    Value::Text(t) => Some(t.as_str().into()),
                    _ => None,
                })
                .collect();
            sorted.sort();
            sorted.dedup();
            Node::TextIn {
                field,
                negated,
                sorted: sorted.into(),
            }
        }
        Some(FieldType::Bool) | None => {
            let has = |wanted: bool| values.contains(&Value::Bool(wanted));
            Node::BoolIn {
                field,
                accept_true: has(true) != negated,
                accept_false: has(false) != negated,
            }
        }
    }
}

/// Total on the values a rule holds (the lexer refuses anything that is not finite).
fn compare_numbers(a: &f64, b: &f64) -> Ordering {
    a.partial_cmp(b).unwrap_or(Ordering::Equal)
}

/// A present number compared; a missing one compares false.
fn compare(x: Option<f64>, op: CmpOp, value: f64) -> bool {
    x.is_some_and(|x| match op {
        CmpOp::Eq => x == value,
        CmpOp::Ne => x != value,
        CmpOp::Lt => x < value,
        CmpOp::Le => x <= value,
        CmpOp::Gt => x > value,
        CmpOp::Ge => x >= value,
    })
}

/// A row's number, with NaN read as missing.
fn number(row: &dyn Row, field: usize) -> Option<f64> {
    row.number(field).filter(|x| !x.is_nan())
}

impl Node {
    pub fn eval(&self, row: &dyn Row) -> bool {
        match self {
            Node::Or(operands) => operands.iter().any(|node| node.eval(row)),
            Node::And(operands) => operands.iter().all(|node| node.eval(row)),
            Node::Not(inner) => !inner.eval(row),
            Node::Number { field, op, value } => compare(number(row, *field), *op, *value),
            Node::Between { field, low, high } => {
                number(row, *field).is_some_and(|x| *low <= x && x <= *high)
            }
            Node::NumberIn {
                field,
                negated,
                sorted,
            } => number(row, *field).is_some_and(|x| {
                sorted.binary_search_by(|v| compare_numbers(v, &x)).is_ok() != *negated
            }),
            Node::Text {
                field,
                equal,
                value,
            } => row
                .text(*field)
                .is_some_and(|text| (text == &**value) == *equal),
            Node::TextIn {
                field,
                negated,
                sorted,
            } => row.text(*field).is_some_and(|text| {
                sorted.binary_search_by(|v| (**v).cmp(text)).is_ok() != *negated
            }),
            Node::Bool { field, value } => row.boolean(*field) == Some(*value),
            Node::BoolIn {
                field,
                accept_true,
                accept_false,
            } => match row.boolean(*field) {
                Some(true) => *accept_true,
                Some(false) => *accept_false,
                None => false,
            },
            Node::Aggregate { index, op, value } => {
                compare(row.aggregate(*index).filter(|x| !x.is_nan()), *op, *value)
            }
            Node::AggregateBetween { index, low, high } => row
                .aggregate(*index)
                .is_some_and(|x| *low <= x && x <= *high),
            Node::Missing { field, ty, negated } => {
                let missing = match ty {
                    FieldType::Number => number(row, *field).is_none(),
                    FieldType::Text => row.text(*field).is_none(),
                    FieldType::Bool => row.boolean(*field).is_none(),
                };
                missing != *negated
            }
        }
    }
}
