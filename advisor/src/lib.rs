//! Portfolio estimation, optimisation, planning and review; credit and instalment
//! decisions; suitability. Pure computation: no network, no database.
//!
//! The optimisers and decision engine arrive with the advisory issues.
