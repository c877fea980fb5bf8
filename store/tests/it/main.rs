//! The storage suite: every test runs on each store of `all_stores()` (SQLite always, and
//! PostgreSQL when `SEXTANT_TEST_POSTGRES_URL` names a server where databases may be
//! created), so both backends keep the same promises.

mod audit;
mod common;
mod customers_and_credit;
mod fx;
mod hot_paths;
mod loyalty;
mod marketing;
mod monitoring;
mod privacy;
mod rules;
mod staff;
