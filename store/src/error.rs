//! What a storage call can fail with, mapped once from the database driver's errors.

/// A storage failure. Every variant is one the services map to an answer: retry later, a
/// named bad item, a conflict, or an internal error (logged, never shown).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or has no free connection; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Items (by index) refer to customers that are not registered.
    #[error("unknown customers at items {0:?}")]
    UnknownCustomers(Vec<usize>),
    /// Items (by index) refer to products that are not in the catalogue.
    #[error("unknown products at items {0:?}")]
    UnknownProducts(Vec<usize>),
    /// Items (by index) reuse an event id already stored with different content.
    #[error("event ids reused with different content at items {0:?}")]
    EventIdReused(Vec<usize>),
    /// A stored row no longer parses as a domain value.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The write conflicts with what is stored (a version or id that exists already).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::ConnectionAcquire(e) => StoreError::Unavailable(e.to_string()),
            sea_orm::DbErr::Conn(e) => StoreError::Unavailable(e.to_string()),
            other if is_transient(&other.to_string()) => StoreError::Unavailable(other.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// Lock contention that a retry resolves: PostgreSQL deadlocks and serialisation failures,
/// SQLite's busy database (another process writing).
fn is_transient(message: &str) -> bool {
    [
        "deadlock detected",
        "could not serialize access",
        "database is locked",
        "(code: 5)",
        "(code: 517)",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}
