//! Integration tests of the `api` crate: the HTTP application through `oneshot` (no socket)
//! and the storage suite, which runs on SQLite always and on PostgreSQL when
//! `SEXTANT_TEST_POSTGRES_URL` names a server where databases may be created.

mod advice;
mod common;
mod credit;
mod http;
mod marketing;
mod profiles;
mod storage;
mod storage_marketing;
