//! A PostgreSQL database of its own, made on a server for one run of a benchmark or a test
//! suite and dropped after it, so runs never see each other's data.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::StoreError;

/// A database created on the server behind an administrative URL.
pub struct ScratchDatabase {
    admin: DatabaseConnection,
    name: String,
    /// The new database's URL: the administrative one with its database name replaced.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates `name` (dropping a leftover of that name first) on the server behind
    /// `admin_url`, which must end in `/DATABASE` and have the right to create databases.
    /// `name` is an SQL identifier: lower-case letters, digits and `_`.
    pub async fn create(admin_url: &str, name: &str) -> Result<ScratchDatabase, StoreError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::Database(format!(
                "`{name}` is not a database name of lower-case letters, digits and _"
            )));
        }
        let Some((server, _)) = admin_url.rsplit_once('/') else {
            return Err(StoreError::Database(
                "the PostgreSQL URL must end in /DATABASE".into(),
            ));
        };
        let admin = Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(ScratchDatabase {
            url: format!("{server}/{name}"),
            name: name.to_owned(),
            admin,
        })
    }

    /// Drops the database, ending the connections still open to it.
    pub async fn remove(self) -> Result<(), StoreError> {
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}
