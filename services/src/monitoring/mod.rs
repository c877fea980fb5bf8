//! Transaction monitoring (issue 14): payments evaluated as they land ([`live`]), decisions
//! on payments before they are authorised ([`assess`]), the cases compliance works
//! ([`cases`]), compliance's rules with their backtests ([`rules`]), the model in the live
//! score ([`model`]), and the replay of a population's stored payments ([`scan`]).

pub mod assess;
pub mod cases;
pub mod live;
pub mod model;
pub mod rules;
pub mod scan;

pub use live::{Monitor, Observed};
pub use scan::{scan, ScanReport, TypologyAlerts};
