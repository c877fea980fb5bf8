//! Windowed aggregates: `count(payments, 1h)`, `sum(amount, 24h, direction = out)`,
//! `distinct(merchant, 10m)`. A schema that allows them names what `count` counts and the
//! fields of one event; the rule only says what to aggregate, and whoever evaluates it keeps
//! the windows ([`Aggregate`] tells them which) and answers [`crate::Row::aggregate`].

use std::fmt;

use crate::compile::Node;
use crate::{Row, Schema};

/// What a schema's aggregates range over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateSchema {
    source: String,
    events: Schema,
    max_window_ms: i64,
}

impl AggregateSchema {
    /// Aggregates over events named `source` (what `count(source, ...)` counts) with the
    /// fields of `events`, over windows of one minute up to `max_window_ms`.
    ///
    /// # Panics
    ///
    /// When `source` is no valid identifier or `events` has aggregates of its own.
    pub fn new(source: &str, events: Schema, max_window_ms: i64) -> AggregateSchema {
        assert!(
            crate::lexer::is_field_name(source),
            "aggregate source `{source}` is not a valid rule identifier"
        );
        assert!(
            events.aggregates.is_none(),
            "aggregates do not nest: the event schema has none"
        );
        AggregateSchema {
            source: source.to_owned(),
            events,
            max_window_ms: max_window_ms.max(MIN_WINDOW_MS),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The fields of one event, which filters, measures and keys use.
    pub fn events(&self) -> &Schema {
        &self.events
    }

    pub fn max_window_ms(&self) -> i64 {
        self.max_window_ms
    }
}

/// The shortest window an aggregate may have.
pub const MIN_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// How many events.
    Count,
    /// The total of a number field.
    Sum,
    /// The mean of a number field (none over no events).
    Avg,
    /// The smallest of a number field (none over no events).
    Min,
    /// The largest of a number field (none over no events).
    Max,
    /// How many distinct values of a text field.
    Distinct,
}

impl Function {
    pub const ALL: [Function; 6] = [
        Function::Count,
        Function::Sum,
        Function::Avg,
        Function::Min,
        Function::Max,
        Function::Distinct,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::Sum => "sum",
            Function::Avg => "avg",
            Function::Min => "min",
            Function::Max => "max",
            Function::Distinct => "distinct",
        }
    }

    pub(crate) fn find(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One aggregate of a rule, compiled: what to aggregate, over which window, which events.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub(crate) function: Function,
    /// The event field aggregated (none for `count`).
    pub(crate) field: Option<usize>,
    pub(crate) window_ms: i64,
    pub(crate) filter: Option<Node>,
    /// The canonical text, e.g. `sum(amount, 24h, direction = "out")`.
    pub(crate) text: String,
}

impl Aggregate {
    pub fn function(&self) -> Function {
        self.function
    }

    /// The index, in the event schema, of the field aggregated (`None` for `count`).
    pub fn field(&self) -> Option<usize> {
        self.field
    }

    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Whether an event (a row of the event schema) passes the aggregate's filter.
    pub fn accepts(&self, event: &dyn Row) -> bool {
        self.filter.as_ref().is_none_or(|node| node.eval(event))
    }

    /// The canonical text: two aggregates with the same text are the same aggregate.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A window as people write it: in days from three days up when whole days, else in hours
/// when whole hours (`24h`, `48h`), else in minutes.
pub(crate) fn window_text(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    const HOUR: i64 = 3_600_000;
    if ms % DAY == 0 && ms > 2 * DAY {
        format!("{}d", ms / DAY)
    } else if ms % HOUR == 0 {
        format!("{}h", ms / HOUR)
    } else {
        format!("{}m", ms / 60_000)
    }
}
