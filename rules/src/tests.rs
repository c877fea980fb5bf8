//! The rule language end to end: parse, evaluate, print, and every error with its position.

use proptest::prelude::*;

use super::parser::{Expr, Value};
use super::*;

fn schema() -> Schema {
    Schema::new()
        .field("age", FieldType::Number)
        .field("region", FieldType::Text)
        .field("risk_level", FieldType::Number)
        .field("savings_rate_90d", FieldType::Number)
        .field("consent_email", FieldType::Bool)
        .field("consent.sms", FieldType::Bool)
        .field("segment", FieldType::Text)
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Missing,
    Number(f64),
    Text(String),
    Bool(bool),
}

/// A row of `schema()`, by field index.
#[derive(Debug, Clone)]
struct TestRow(Vec<Cell>);

impl TestRow {
    fn empty() -> TestRow {
        TestRow(vec![Cell::Missing; schema().len()])
    }

    fn with(mut self, field: &str, cell: Cell) -> TestRow {
        let index = schema().index(field).expect("test field");
        self.0[index] = cell;
        self
    }

    fn num(self, field: &str, value: f64) -> TestRow {
        self.with(field, Cell::Number(value))
    }

    fn text(self, field: &str, value: &str) -> TestRow {
        self.with(field, Cell::Text(value.into()))
    }

    fn flag(self, field: &str, value: bool) -> TestRow {
        self.with(field, Cell::Bool(value))
    }
}

impl Row for TestRow {
    fn number(&self, field: usize) -> Option<f64> {
        match self.0[field] {
            Cell::Number(value) => Some(value),
            _ => None,
        }
    }

    fn text(&self, field: usize) -> Option<&str> {
        match &self.0[field] {
            Cell::Text(value) => Some(value),
            _ => None,
        }
    }

    fn boolean(&self, field: usize) -> Option<bool> {
        match self.0[field] {
            Cell::Bool(value) => Some(value),
            _ => None,
        }
    }
}

fn rule(source: &str) -> Rule {
    Rule::parse(source, &schema()).unwrap_or_else(|e| panic!("{source:?}: {e}"))
}

fn matches(source: &str, row: &TestRow) -> bool {
    rule(source).matches(row)
}

fn error(source: &str) -> RuleError {
    match Rule::parse(source, &schema()) {
        Ok(rule) => panic!("{source:?} parsed as {rule}"),
        Err(error) => error,
    }
}

/// Asserts the code and the 1-based line and column of the error.
fn assert_error(source: &str, code: &str, line: usize, column: usize) -> RuleError {
    let error = error(source);
    assert_eq!(
        (error.code, error.line, error.column),
        (code, line, column),
        "{source:?}: {error}"
    );
    error
}

fn customer() -> TestRow {
    TestRow::empty()
        .num("age", 30.0)
        .text("region", "north")
        .num("risk_level", 4.0)
        .num("savings_rate_90d", 0.12)
        .flag("consent_email", true)
        .flag("consent.sms", false)
        .text("segment", "saver")
}

const EXAMPLE: &str = r#"age between 25 and 40 and region in ("north", "east")
  and not (risk_level < 3 or savings_rate_90d <= 0.05)
  and consent_email = true"#;

#[test]
fn the_documented_example() {
    let example = rule(EXAMPLE);
    assert!(example.matches(&customer()));
    assert!(!example.matches(&customer().num("age", 41.0)));
    assert!(!example.matches(&customer().text("region", "south")));
    assert!(!example.matches(&customer().num("risk_level", 2.0)));
    assert!(!example.matches(&customer().num("savings_rate_90d", 0.05)));
    assert!(!example.matches(&customer().flag("consent_email", false)));
    assert_eq!(example.source(), EXAMPLE);
    assert_eq!(
        example.fields(),
        [
            "age",
            "region",
            "risk_level",
            "savings_rate_90d",
            "consent_email"
        ]
    );
    assert_eq!(
        example.to_string(),
        "age between 25 and 40 and region in (\"north\", \"east\") and \
         not (risk_level < 3 or savings_rate_90d <= 0.05) and consent_email = true"
    );
}

#[test]
fn number_comparisons() {
    let row = TestRow::empty().num("age", 30.0);
    let cases = [
        ("age = 30", true),
        ("age = 30.0", true),
        ("age = 30.000001", false),
        ("age != 30", false),
        ("age != 31", true),
        ("age < 30", false),
        ("age < 30.5", true),
        ("age <= 30", true),
        ("age > 30", false),
        ("age > -30", true),
        ("age >= 30", true),
        ("age >= 3e1", true),
        ("age > 1e3", false),
    ];
    for (source, expected) in cases {
        assert_eq!(matches(source, &row), expected, "{source}");
    }
    // IEEE equality: 0 and -0 are the same number.
    assert!(matches("age = -0", &TestRow::empty().num("age", 0.0)));
}

#[test]
fn text_comparisons_are_exact_and_case_sensitive() {
    let row = TestRow::empty().text("region", "North");
    assert!(matches(r#"region = "North""#, &row));
    assert!(!matches(r#"region = "north""#, &row));
    assert!(!matches(r#"region = "North ""#, &row));
    assert!(matches(r#"region != "north""#, &row));
    let quoted = TestRow::empty().text("segment", r#"say "hi" \ bye"#);
    assert!(matches(r#"segment = "say \"hi\" \\ bye""#, &quoted));
    assert!(matches(r#"segment = "é" or region = "North""#, &row));
}

#[test]
fn boolean_comparisons() {
    let yes = TestRow::empty().flag("consent_email", true);
    let no = TestRow::empty().flag("consent_email", false);
    for (source, on_yes, on_no) in [
        ("consent_email = true", true, false),
        ("consent_email = FALSE", false, true),
        ("consent_email != true", false, true),
        ("consent_email != false", true, false),
        ("consent_email in (true)", true, false),
        ("consent_email in (true, false)", true, true),
        ("consent_email not in (true)", false, true),
    ] {
        assert_eq!(matches(source, &yes), on_yes, "{source} on true");
        assert_eq!(matches(source, &no), on_no, "{source} on false");
    }
}

#[test]
fn in_and_not_in() {
    let row = customer();
    assert!(matches(r#"region in ("east", "north")"#, &row));
    assert!(!matches(r#"region in ("east", "NORTH")"#, &row));
    assert!(matches(r#"region not in ("east", "south")"#, &row));
    assert!(!matches(r#"region not in ("north")"#, &row));
    assert!(matches("risk_level in (1, 4, 4, 5)", &row));
    assert!(matches("risk_level in (4.0)", &row));
    assert!(!matches("risk_level in (1, 2, 3)", &row));
    assert!(matches("risk_level not in (1, 2, 3)", &row));
    // A long list is searched, not scanned; the answer is the same.
    let long: Vec<String> = (0..200).map(|i| (i * 3).to_string()).collect();
    let source = format!("age in ({})", long.join(", "));
    assert!(matches(&source, &row));
    assert!(!matches(&source, &row.clone().num("age", 31.0)));
}

#[test]
fn between_is_inclusive() {
    let source = "age between 25 and 40";
    for (age, expected) in [
        (24.999, false),
        (25.0, true),
        (33.0, true),
        (40.0, true),
        (40.5, false),
    ] {
        assert_eq!(
            matches(source, &TestRow::empty().num("age", age)),
            expected,
            "{age}"
        );
    }
    // Reversed bounds select nobody.
    assert!(!matches(
        "age between 40 and 25",
        &TestRow::empty().num("age", 30.0)
    ));
    assert!(matches(
        "age between -1e3 and -0.5",
        &TestRow::empty().num("age", -1.0)
    ));
}

#[test]
fn the_and_of_between_is_not_the_boolean_and() {
    let chained = rule("age between 25 and 40 and risk_level between 1 and 3 and region = \"x\"");
    assert_eq!(
        chained.to_string(),
        "age between 25 and 40 and risk_level between 1 and 3 and region = \"x\""
    );
    match &chained.expr {
        Expr::And(operands) => {
            assert_eq!(operands.len(), 3);
            let bounds: Vec<(f64, f64)> = operands
                .iter()
                .filter_map(|e| match e {
                    Expr::Between { low, high, .. } => Some((*low, *high)),
                    _ => None,
                })
                .collect();
            assert_eq!(bounds, [(25.0, 40.0), (1.0, 3.0)]);
        }
        other => panic!("expected a three-way `and`, got {other:?}"),
    }
    let row = customer().num("risk_level", 2.0).text("region", "x");
    assert!(chained.matches(&row));
    assert!(!chained.matches(&row.clone().num("risk_level", 4.0)));
}

#[test]
fn precedence() {
    // `a or b and c` is `a or (b and c)`.
    let mixed = rule("age = 1 or age = 2 and region = \"x\"");
    assert!(matches!(&mixed.expr, Expr::Or(operands) if matches!(operands[1], Expr::And(_))));
    assert!(mixed.matches(&TestRow::empty().num("age", 1.0)));
    assert!(!mixed.matches(&TestRow::empty().num("age", 2.0)));
    assert_eq!(mixed.to_string(), "age = 1 or age = 2 and region = \"x\"");
    // `a and b or c` is `(a and b) or c`.
    let left = rule("age = 1 and region = \"x\" or age = 2");
    assert!(left.matches(&TestRow::empty().num("age", 2.0)));
    // Parentheses override.
    let grouped = rule("(age = 1 or age = 2) and region = \"x\"");
    assert!(!grouped.matches(&TestRow::empty().num("age", 1.0)));
    assert_eq!(
        grouped.to_string(),
        "(age = 1 or age = 2) and region = \"x\""
    );
    // `not` binds tighter than `and`, looser than a comparison.
    let negated = rule("not age = 1 and region = \"x\"");
    assert!(matches!(&negated.expr, Expr::And(operands) if matches!(operands[0], Expr::Not(_))));
    assert!(negated.matches(&TestRow::empty().num("age", 2.0).text("region", "x")));
    assert!(rule("not not age = 1").matches(&TestRow::empty().num("age", 1.0)));
    // Nested groups of the same operator keep their structure when printed.
    assert_eq!(
        rule("age = 1 and (age = 2 and age = 3)").to_string(),
        "age = 1 and (age = 2 and age = 3)"
    );
    assert_eq!(rule("((age = 1))").to_string(), "age = 1");
}

#[test]
fn missing_values() {
    let nobody = TestRow::empty();
    for source in [
        "age = 1",
        "age != 1",
        "age < 1",
        "age >= 1",
        "age in (1)",
        "age not in (1)",
        "age between 0 and 100",
        "region = \"x\"",
        "region != \"x\"",
        "region not in (\"x\")",
        "consent_email = true",
        "consent_email != true",
        "consent_email not in (false)",
        "age is not missing",
    ] {
        assert!(!matches(source, &nobody), "{source}");
    }
    for source in [
        "age is missing",
        "region IS MISSING",
        "consent.sms is missing",
        "not age = 1",
        "not (region != \"x\")",
    ] {
        assert!(matches(source, &nobody), "{source}");
    }
    assert!(matches("age is not missing", &customer()));
    // NaN counts as missing.
    let nan = TestRow::empty().num("age", f64::NAN);
    assert!(matches("age is missing", &nan));
    assert!(!matches("age != 3", &nan));
}

#[test]
fn lexical_details() {
    let row = customer();
    // Keywords in any case, comments, line breaks, dotted names.
    let source = "# consent first\nconsent.sms = FALSE   # no texts\n  AND age BETWEEN 18 And 65\n\tOR NOT region Is Not Missing";
    assert!(matches(source, &row));
    assert_eq!(
        rule(source).to_string(),
        "consent.sms = false and age between 18 and 65 or not region is not missing"
    );
    assert_eq!(rule(source).fields(), ["consent.sms", "age", "region"]);
    // No spaces needed around operators and parentheses.
    assert!(matches("(age>=30)and(risk_level!=3)", &row));
    assert!(matches("savings_rate_90d>=1.2e-1", &row));
}

#[test]
fn fields_are_distinct_in_first_use_order() {
    let r = rule(
        "region = \"a\" or age > 1 and region != \"b\" or age is missing or segment in (\"x\")",
    );
    assert_eq!(r.fields(), ["region", "age", "segment"]);
}

#[test]
fn schema_builder() {
    let schema = schema();
    assert_eq!(schema.len(), 7);
    assert!(!schema.is_empty());
    assert!(Schema::new().is_empty());
    assert_eq!(schema.index("region"), Some(1));
    assert_eq!(schema.index("consent.sms"), Some(5));
    assert_eq!(schema.index("nope"), None);
    let names: Vec<(&str, FieldType)> = schema.fields().take(2).collect();
    assert_eq!(
        names,
        [("age", FieldType::Number), ("region", FieldType::Text)]
    );
}

#[test]
#[should_panic(expected = "declared twice")]
fn schema_refuses_duplicates() {
    let _ = Schema::new()
        .field("age", FieldType::Number)
        .field("age", FieldType::Text);
}

#[test]
#[should_panic(expected = "not a valid rule identifier")]
fn schema_refuses_names_rules_cannot_use() {
    let _ = Schema::new().field("between", FieldType::Number);
}

#[test]
fn error_display() {
    let error = assert_error("age > 1\n  or savings > 0.1", "unknown_field", 2, 6);
    assert_eq!(
        error.to_string(),
        "line 2, column 6: unknown field `savings`; did you mean `savings_rate_90d`?"
    );
}

#[test]
fn unexpected_token() {
    assert_error("age > > 3", "unexpected_token", 1, 7);
    assert_error("age > 3 risk_level < 2", "unexpected_token", 1, 9);
    assert_error("age 3", "unexpected_token", 1, 5);
    assert_error("age in 3", "unexpected_token", 1, 8);
    assert_error("age in ()", "unexpected_token", 1, 9);
    assert_error("age in (1, )", "unexpected_token", 1, 12);
    assert_error("age in (1 2)", "unexpected_token", 1, 11);
    assert_error("age not between 1 and 2", "unexpected_token", 1, 9);
    assert_error("age between 1 or 2", "unexpected_token", 1, 15);
    assert_error("age is true", "unexpected_token", 1, 8);
    assert_error("and age = 1", "unexpected_token", 1, 1);
    assert_error("(age = 1))", "unexpected_token", 1, 10);
    assert_error("age ! 3", "unexpected_token", 1, 5);
    assert_error("age == 3", "unexpected_token", 1, 6);
    assert_error("age = 3 & region = \"x\"", "unexpected_token", 1, 9);
    assert_error(r#"region = "a\n""#, "unexpected_token", 1, 12);
    // Columns count characters, not bytes.
    assert_error("region = \"ééé\" ; ", "unexpected_token", 1, 16);
}

#[test]
fn unexpected_end() {
    assert_error("age >", "unexpected_end", 1, 6);
    assert_error("age", "unexpected_end", 1, 4);
    assert_error("age > 1 and", "unexpected_end", 1, 12);
    assert_error("(age > 1", "unexpected_end", 1, 9);
    assert_error("age in (1, 2", "unexpected_end", 1, 13);
    assert_error("age between 1 and", "unexpected_end", 1, 18);
    assert_error("age is not  # comment\n", "unexpected_end", 1, 11);
    assert_error("not", "unexpected_end", 1, 4);
    let error = error("(age > 1");
    assert_eq!(
        error.message,
        "expected `)` to close the `(` at line 1, column 1, found the end of the rule"
    );
}

#[test]
fn unknown_field_on_line_three() {
    let source = "age between 25 and 40\n  and region in (\"north\")\n  and savings > 0.05";
    let error = assert_error(source, "unknown_field", 3, 7);
    assert_eq!(
        error.message,
        "unknown field `savings`; did you mean `savings_rate_90d`?"
    );
    let far = assert_error("income > 3", "unknown_field", 1, 1);
    assert_eq!(far.message, "unknown field `income`");
    let case = assert_error("AGE > 3", "unknown_field", 1, 1);
    assert_eq!(case.message, "unknown field `AGE`; did you mean `age`?");
    assert_error("consent.email = true", "unknown_field", 1, 1);
}

#[test]
fn type_mismatch() {
    assert_error(r#"region < "m""#, "type_mismatch", 1, 8);
    assert_error("consent_email >= true", "type_mismatch", 1, 15);
    assert_error(r#"age = "thirty""#, "type_mismatch", 1, 7);
    assert_error("age = true", "type_mismatch", 1, 7);
    assert_error("region = 3", "type_mismatch", 1, 10);
    assert_error("consent_email = 1", "type_mismatch", 1, 17);
    assert_error("consent_email between 0 and 1", "type_mismatch", 1, 15);
    assert_error(r#"region between "a" and "b""#, "type_mismatch", 1, 8);
    assert_error(r#"age between 1 and "9""#, "type_mismatch", 1, 19);
    assert_error(r#"age in (1, "two", 3)"#, "type_mismatch", 1, 12);
    assert_error(
        r#"region not in ("a", "b",
        false)"#,
        "type_mismatch",
        2,
        9,
    );
    let error = error(r#"age = "thirty""#);
    assert_eq!(
        error.message,
        "`age` is a number field but the string \"thirty\" is text"
    );
}

#[test]
fn invalid_number() {
    assert_error("age > 12abc", "invalid_number", 1, 7);
    assert_error("age > 1e", "invalid_number", 1, 7);
    assert_error("age > 1.", "invalid_number", 1, 7);
    assert_error("age > - 3", "invalid_number", 1, 7);
    assert_error("age > 1.2.3", "invalid_number", 1, 7);
    assert_error("age > 1e999", "invalid_number", 1, 7);
    assert_error("age in (1,\n 2x)", "invalid_number", 2, 2);
}

#[test]
fn unterminated_string() {
    assert_error(r#"region = "north"#, "unterminated_string", 1, 10);
    assert_error(
        "region = \"north\n\" or age > 1",
        "unterminated_string",
        1,
        10,
    );
    assert_error(r#"region = "north\"#, "unterminated_string", 1, 10);
}

#[test]
fn too_long() {
    let filler = format!("age > 1{}", " ".repeat(MAX_SOURCE_BYTES - 7));
    assert_eq!(filler.len(), MAX_SOURCE_BYTES);
    assert!(Rule::parse(&filler, &schema()).is_ok());
    let over = format!("{filler} ");
    assert_error(&over, "too_long", 1, MAX_SOURCE_BYTES + 1);
    // On the line and column of the character that crosses the limit.
    let lines = format!("age > 1\n{}", "#".repeat(MAX_SOURCE_BYTES));
    assert_error(&lines, "too_long", 2, MAX_SOURCE_BYTES - 7);
}

#[test]
fn too_deep() {
    let nested = |depth: usize| format!("{}age = 1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(Rule::parse(&nested(MAX_DEPTH), &schema()).is_ok());
    assert_error(&nested(MAX_DEPTH + 1), "too_deep", 1, MAX_DEPTH + 1);
    let nots = |depth: usize| format!("{}age = 1", "not ".repeat(depth));
    assert!(rule(&nots(MAX_DEPTH)).matches(&TestRow::empty().num("age", 1.0)));
    assert_error(&nots(MAX_DEPTH + 1), "too_deep", 1, 4 * MAX_DEPTH + 1);
    // Sequential groups do not add up.
    let wide = vec![nested(MAX_DEPTH); 3].join(" or ");
    assert!(Rule::parse(&wide, &schema()).is_ok());
}

#[test]
fn too_many_values() {
    let list = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("age in ({})", values.join(","))
    };
    assert!(Rule::parse(&list(MAX_IN_VALUES), &schema()).is_ok());
    let over = list(MAX_IN_VALUES + 1);
    let column = over.rfind(',').unwrap() + 2;
    assert_error(&over, "too_many_values", 1, column);
}

#[test]
fn empty_rule() {
    assert_error("", "empty_rule", 1, 1);
    assert_error("   \n\t ", "empty_rule", 1, 1);
    assert_error("# nothing but a comment\n# and another", "empty_rule", 1, 1);
}

// ---- property tests ----

const NUMBERS: [f64; 8] = [-2.5, -1.0, 0.0, 0.5, 1.0, 3.0, 1e3, 1e-7];
const TEXTS: [&str; 6] = ["north", "east", "", "a\"b", "back\\slash", "é t"];

/// A predicate over `schema()` whose literals come from small sets, so random rows often
/// hit them.
fn predicate() -> impl Strategy<Value = Expr> {
    let fields: Vec<(String, FieldType)> = schema()
        .fields()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect();
    (
        proptest::sample::select(fields),
        0..6usize,
        prop::collection::vec(0..8usize, 1..4),
        any::<bool>(),
    )
        .prop_map(|((field, ty), shape, picks, flag)| {
            let value = |pick: usize| match ty {
                FieldType::Number => Value::Number(NUMBERS[pick]),
                FieldType::Text => Value::Text(TEXTS[pick % TEXTS.len()].to_owned()),
                FieldType::Bool => Value::Bool(pick.is_multiple_of(2)),
            };
            let ops = [
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
            ];
            let op = if ty == FieldType::Number {
                ops[picks[0] % 6]
            } else {
                ops[picks[0] % 2]
            };
            match shape {
                0 | 1 => Expr::Compare {
                    field,
                    op,
                    value: value(picks[0]),
                },
                2 | 3 => Expr::In {
                    field,
                    negated: flag,
                    values: picks.iter().map(|&p| value(p)).collect(),
                },
                4 if ty == FieldType::Number => Expr::Between {
                    field,
                    low: NUMBERS[picks[0]],
                    high: NUMBERS[*picks.last().unwrap()],
                },
                _ => Expr::Missing {
                    field,
                    negated: flag,
                },
            }
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    predicate().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn row() -> impl Strategy<Value = TestRow> {
    let cells: Vec<BoxedStrategy<Cell>> = schema()
        .fields()
        .map(|(_, ty)| {
            let present: BoxedStrategy<Cell> = match ty {
                FieldType::Number => proptest::sample::select(NUMBERS.to_vec())
                    .prop_map(Cell::Number)
                    .boxed(),
                FieldType::Text => proptest::sample::select(TEXTS.to_vec())
                    .prop_map(|t| Cell::Text(t.to_owned()))
                    .boxed(),
                FieldType::Bool => any::<bool>().prop_map(Cell::Bool).boxed(),
            };
            prop_oneof![1 => Just(Cell::Missing), 4 => present].boxed()
        })
        .collect();
    cells.prop_map(TestRow)
}

/// The rule's meaning, written as plainly as possible, to check the compiled form against.
fn reference(expr: &Expr, row: &TestRow) -> bool {
    let cell = |field: &str| &row.0[schema().index(field).unwrap()];
    let equal = |cell: &Cell, value: &Value| match (cell, value) {
        (Cell::Number(a), Value::Number(b)) => a == b,
        (Cell::Text(a), Value::Text(b)) => a == b,
        (Cell::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    };
    match expr {
        Expr::Or(operands) => operands.iter().any(|e| reference(e, row)),
        Expr::And(operands) => operands.iter().all(|e| reference(e, row)),
        Expr::Not(inner) => !reference(inner, row),
        Expr::Missing { field, negated } => (*cell(field) == Cell::Missing) != *negated,
        Expr::Compare { field, .. } | Expr::In { field, .. } | Expr::Between { field, .. }
            if *cell(field) == Cell::Missing =>
        {
            false
        }
        Expr::Compare { field, op, value } => {
            let cell = cell(field);
            match (op, cell, value) {
                (CmpOp::Eq, _, _) => equal(cell, value),
                (CmpOp::Ne, _, _) => !equal(cell, value),
                (_, Cell::Number(a), Value::Number(b)) => match op {
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    _ => a >= b,
                },
                _ => unreachable!("type-checked"),
            }
        }
        Expr::In {
            field,
            negated,
            values,
        } => values.iter().any(|v| equal(cell(field), v)) != *negated,
        Expr::Between { field, low, high } => match cell(field) {
            Cell::Number(x) => low <= x && x <= high,
            _ => unreachable!("type-checked"),
        },
        Expr::Aggregate { .. } => unreachable!("the test schema has no aggregates"),
    }
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_rule(expr in expr()) {
        let printed = expr.to_string();
        let parsed = Rule::parse(&printed, &schema())
            .map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(&parsed.expr, &expr, "{}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn compiled_rules_agree_with_the_reference(expr in expr(), row in row()) {
        let rule = rule(&expr.to_string());
        prop_assert_eq!(rule.matches(&row), reference(&expr, &row), "{}", expr);
    }

    #[test]
    fn de_morgan_and_double_negation(a in expr(), b in expr(), row in row()) {
        let eval = |source: String| rule(&source).matches(&row);
        prop_assert_eq!(eval(format!("not (({a}) and ({b}))")), eval(format!("not ({a}) or not ({b})")));
        prop_assert_eq!(eval(format!("not (({a}) or ({b}))")), eval(format!("not ({a}) and not ({b})")));
        prop_assert_eq!(eval(format!("not not ({a})")), eval(a.to_string()));
        prop_assert_eq!(eval(format!("not ({a})")), !eval(a.to_string()));
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(source in "\\PC{0,200}") {
        if let Err(error) = Rule::parse(&source, &schema()) {
            prop_assert!(error.line >= 1 && error.column >= 1);
        }
    }

    #[test]
    fn parser_never_panics_on_near_miss_rules(
        words in prop::collection::vec(proptest::sample::select(vec![
            "age", "region", "consent_email", "savings", "and", "or", "not", "in", "between",
            "is", "missing", "true", "false", "(", ")", ",", "=", "!=", "<", ">=", "1", "-2.5",
            "1e3", "\"x\"", "\"", "#", "\n", "12ab", "!",
        ]), 0..40),
    ) {
        let source = words.join(" ");
        match Rule::parse(&source, &schema()) {
            Ok(rule) => {
                // Whatever parses prints to something that parses to the same rule.
                let again = Rule::parse(&rule.to_string(), &schema()).unwrap();
                prop_assert_eq!(again.expr, rule.expr);
            }
            Err(error) => prop_assert!(error.line >= 1 && error.column >= 1),
        }
    }
}

/// Aggregates, over a schema of payments like transaction monitoring's.
mod aggregates {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn events() -> Schema {
        Schema::new()
            .field("amount", FieldType::Number)
            .choice("direction", &["in", "out"])
            .choice("kind", &["purchase", "atm", "transfer_in", "transfer_out"])
            .field("country", FieldType::Text)
            .field("merchant", FieldType::Text)
    }

    fn payments() -> Schema {
        events().with_aggregates(AggregateSchema::new("payments", events(), 30 * DAY_MS))
    }

    fn parse(source: &str) -> Rule {
        Rule::parse(source, &payments()).unwrap_or_else(|e| panic!("{source:?}: {e}"))
    }

    fn refused(source: &str, code: &str, line: usize, column: usize) -> RuleError {
        let error = match Rule::parse(source, &payments()) {
            Ok(rule) => panic!("{source:?} parsed as {rule}"),
            Err(error) => error,
        };
        assert_eq!(
            (error.code, error.line, error.column),
            (code, line, column),
            "{source:?}: {error}"
        );
        error
    }

    /// A payment (the row's own fields) with the values of the rule's aggregates.
    struct Payment {
        amount: f64,
        direction: &'static str,
        kind: &'static str,
        aggregates: Vec<Option<f64>>,
    }

    impl Row for Payment {
        fn number(&self, field: usize) -> Option<f64> {
            (field == 0).then_some(self.amount)
        }
        fn text(&self, field: usize) -> Option<&str> {
            match field {
                1 => Some(self.direction),
                2 => Some(self.kind),
                _ => None,
            }
        }
        fn boolean(&self, _: usize) -> Option<bool> {
            None
        }
        fn aggregate(&self, index: usize) -> Option<f64> {
            self.aggregates[index]
        }
    }

    fn payment(aggregates: Vec<Option<f64>>) -> Payment {
        Payment {
            amount: 120.0,
            direction: "out",
            kind: "transfer_out",
            aggregates,
        }
    }

    #[test]
    fn the_issue_example_parses_prints_and_evaluates() {
        let rule = parse("count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000");
        assert_eq!(
            rule.to_string(),
            r#"count(payments, 1h) > 10 and sum(amount, 24h, direction = "out") > 5000"#
        );
        let aggregates = rule.aggregates();
        assert_eq!(aggregates.len(), 2);
        assert_eq!(aggregates[0].function(), Function::Count);
        assert_eq!(aggregates[0].field(), None);
        assert_eq!(aggregates[0].window_ms(), 3_600_000);
        assert_eq!(aggregates[1].function(), Function::Sum);
        assert_eq!(aggregates[1].field(), Some(0));
        assert_eq!(aggregates[1].window_ms(), DAY_MS);
        assert_eq!(
            aggregates[1].text(),
            r#"sum(amount, 24h, direction = "out")"#
        );
        assert!(rule.matches(&payment(vec![Some(11.0), Some(5000.5)])));
        assert!(!rule.matches(&payment(vec![Some(10.0), Some(9000.0)])));
        assert!(!rule.matches(&payment(vec![Some(11.0), Some(5000.0)])));
        // The canonical text parses back to the same rule.
        assert_eq!(parse(&rule.to_string()).to_string(), rule.to_string());
    }

    #[test]
    fn filters_select_the_events_an_aggregate_counts() {
        let rule =
            parse(r#"sum(amount, 7d, direction = "out" and kind in (atm, transfer_out)) >= 1"#);
        let sum = &rule.aggregates()[0];
        let event = |direction, kind| Payment {
            amount: 1.0,
            direction,
            kind,
            aggregates: vec![],
        };
        assert!(sum.accepts(&event("out", "atm")));
        assert!(!sum.accepts(&event("out", "purchase")));
        assert!(!sum.accepts(&event("in", "transfer_out")));
        // No filter: every event.
        assert!(parse("count(payments, 10m) > 0").aggregates()[0].accepts(&event("in", "atm")));
    }

    #[test]
    fn the_same_aggregate_twice_is_read_once() {
        let rule = parse(
            "count(payments, 60m) between 3 and 9 or (count(payments, 1h) > 20 and amount > 100)",
        );
        assert_eq!(rule.aggregates().len(), 1, "60m and 1h are one window");
        assert_eq!(rule.aggregates()[0].text(), "count(payments, 1h)");
        assert!(rule.matches(&payment(vec![Some(21.0)])));
        assert!(rule.matches(&payment(vec![Some(3.0)])));
        assert!(!rule.matches(&payment(vec![Some(12.0)])));
    }

    #[test]
    fn an_aggregate_over_nothing_compares_false() {
        let rule = parse("avg(amount, 30d) < 50");
        assert!(!rule.matches(&payment(vec![None])));
        assert!(parse("not avg(amount, 30d) < 50").matches(&payment(vec![None])));
        assert!(rule.matches(&payment(vec![Some(10.0)])));
    }

    #[test]
    fn every_function() {
        for (source, field) in [
            ("count(payments, 7d) > 1", None),
            ("sum(amount, 7d) > 1", Some(0)),
            ("avg(amount, 7d) > 1", Some(0)),
            ("min(amount, 7d) > 1", Some(0)),
            ("max(amount, 7d) > 1", Some(0)),
            ("distinct(country, 7d) > 1", Some(3)),
        ] {
            assert_eq!(parse(source).aggregates()[0].field(), field, "{source}");
            assert_eq!(parse(source).to_string(), source);
        }
    }

    #[test]
    fn declared_values_are_checked_and_taken_bare() {
        assert_eq!(parse("direction = out").to_string(), r#"direction = "out""#);
        // A declared value that is a keyword is a value in a value's place.
        assert_eq!(parse("direction = in").to_string(), r#"direction = "in""#);
        assert_eq!(
            parse("direction in (in, out)").to_string(),
            r#"direction in ("in", "out")"#
        );
        let error = refused(
            r#"amount > 1 and direction = "outt""#,
            "unknown_value",
            1,
            28,
        );
        assert!(error.message.contains("did you mean `out`"), "{error}");
        refused("kind in (atm, card)", "unknown_value", 1, 15);
        // A bare word is a value only for a field with declared values.
        refused("country = fr", "unexpected_token", 1, 11);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let error = refused(
            "count(payments, 1h) > 10\n  and summ(amount, 1d) > 5",
            "unknown_function",
            2,
            7,
        );
        assert!(
            error
                .message
                .contains("count, sum, avg, min, max, distinct"),
            "{error}"
        );
        refused("count(amount, 1h) > 1", "unknown_field", 1, 7);
        refused("sum(amuont, 1h) > 1", "unknown_field", 1, 5);
        refused("sum(kind, 1h) > 1", "type_mismatch", 1, 5);
        refused("distinct(amount, 1h) > 1", "type_mismatch", 1, 10);
        refused("count(payments, 31d) > 1", "invalid_window", 1, 17);
        refused("count(payments, 0m) > 1", "invalid_window", 1, 17);
        refused("count(payments, 10) > 1", "unexpected_token", 1, 17);
        refused("count(payments) > 1", "unexpected_token", 1, 15);
        refused("count(payments, 1h > 1", "unexpected_token", 1, 20);
        refused("count(payments, 1h) in (1, 2)", "unexpected_token", 1, 21);
        refused(r#"count(payments, 1h) > "ten""#, "type_mismatch", 1, 23);
        refused("count(payments, 1h)", "unexpected_end", 1, 20);
        refused(
            "count(payments, 1h, max(amount, 1h) > 1) > 1",
            "unknown_function",
            1,
            21,
        );
        refused(
            "count(payments, 1h, amount >) > 1",
            "unexpected_token",
            1,
            29,
        );
        refused("amount > 1h", "unexpected_token", 1, 10);
        // Rules without aggregates have no functions.
        let plain = Rule::parse("count(payments, 1h) > 1", &schema()).unwrap_err();
        assert_eq!((plain.code, plain.column), ("unknown_function", 1));
    }
}
