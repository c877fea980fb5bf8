//! The commands, one file or folder each: its arguments and what it does.

pub mod audit;
pub mod bench;
pub mod credit;
pub mod demo;
pub mod eval;
pub mod fx;
pub mod generate;
pub mod import;
pub mod keys;
pub mod loyalty;
pub mod marketing;
pub mod monitoring;
pub mod portfolio;
pub mod profile;
pub mod serve;
pub mod staff;
pub mod token;
