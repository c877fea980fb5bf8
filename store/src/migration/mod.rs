//! Schema migrations, shared by SQLite and PostgreSQL. Each migration is frozen once released:
//! a later change to the schema is a new migration, never an edit of an old one.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_profiles::Migration),
            Box::new(m0003_advice::Migration),
            Box::new(m0004_credit::Migration),
            Box::new(m0005_marketing::Migration),
            Box::new(m0006_audit_chain::Migration),
            Box::new(m0007_encryption::Migration),
            Box::new(m0008_audit_checkpoints::Migration),
            Box::new(m0009_staff::Migration),
            Box::new(m0010_decision_age::Migration),
            Box::new(m0011_monitoring::Migration),
            Box::new(m0012_monitoring_rules::Migration),
            Box::new(m0013_monitoring_models::Migration),
            Box::new(m0014_payment_parties::Migration),
            Box::new(m0015_fx_rates::Migration),
            Box::new(m0016_base_currency::Migration),
            Box::new(m0017_loyalty::Migration),
            Box::new(m0018_refund_of::Migration),
            Box::new(m0019_loyalty_items::Migration),
        ]
    }
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).string().null().to_owned()
}

fn big(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}

fn big_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .null()
        .to_owned()
}

/// An auto-incremented BIGINT primary key: the order of an append-only log.
fn serial(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn flag(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .to_owned()
}

fn index(table: &str, name: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

mod m0001_initial;
mod m0002_profiles;
mod m0003_advice;
mod m0004_credit;
mod m0005_marketing;
mod m0006_audit_chain;
mod m0007_encryption;
mod m0008_audit_checkpoints;
mod m0009_staff;
mod m0010_decision_age;
mod m0011_monitoring;
mod m0012_monitoring_rules;
mod m0013_monitoring_models;
mod m0014_payment_parties;
mod m0015_fx_rates;
mod m0016_base_currency;
mod m0017_loyalty;
mod m0018_refund_of;
mod m0019_loyalty_items;
