//! A time budget for one advisory computation, so that a server can stop work whose caller
//! has gone (the per-request deadline). The computation runs on one thread
//! ([`within`]), and its long loops (the cardinality search, the integer allocation, the
//! conic solver's iterations) ask [`check`] between steps; past the deadline they stop with
//! [`AdvisorError::DeadlineExceeded`]. Without a deadline nothing changes, so library users
//! and tests see no difference.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::{AdvisorError, Result};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `job` on this thread with at most `budget` of time for its loops.
pub fn within<T>(budget: Duration, job: impl FnOnce() -> T) -> T {
    let before = DEADLINE.with(|d| d.replace(Some(Instant::now() + budget)));
    let out = job();
    DEADLINE.with(|d| d.set(before));
    out
}

/// Err once this thread's deadline has passed.
pub fn check() -> Result<()> {
    match DEADLINE.with(Cell::get) {
        Some(deadline) if Instant::now() >= deadline => Err(AdvisorError::DeadlineExceeded),
        _ => Ok(()),
    }
}

/// Seconds left before the deadline, for solvers that take a time limit (`inf` without one).
pub fn seconds_left() -> f64 {
    DEADLINE.with(Cell::get).map_or(f64::INFINITY, |deadline| {
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_stops_work_and_is_cleared_after() {
        assert!(check().is_ok());
        let stopped = within(Duration::ZERO, check);
        assert!(matches!(stopped, Err(AdvisorError::DeadlineExceeded)));
        assert!(check().is_ok(), "the deadline ends with the job");
        assert!(within(Duration::from_secs(60), || seconds_left() > 59.0));
    }
}
