use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sextant_domain::{
    AmountMinor, BehaviourEvent, BehaviourKind, BirthYear, Card, Channel, ChannelConsents,
    Consents, CountryCode, Currency, Customer, CustomerId, Direction, Event, EventId, Holding,
    KycStatus, Mcc, MerchantId, Occupation, PaymentEvent, PaymentKind, PaymentStatus, ProductId,
    Region,
};
use sextant_store::audit::CheckpointSigner;
use sextant_store::{ScratchDatabase, SeaStore, Store};

/// A store on a fresh database: SQLite in a temporary folder, or a new PostgreSQL database.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub _dir: tempfile::TempDir,
    /// The PostgreSQL database's URL (a second process may open it); `None` on SQLite.
    pub url: Option<String>,
}

pub async fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SeaStore::open_signed(
        None,
        dir.path(),
        std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral()),
        Some(audit_signer()),
    )
    .await
    .unwrap();
    TestStore {
        store: Arc::new(store),
        _dir: dir,
        url: None,
    }
}

/// Entries between the test stores' signed audit checkpoints.
pub const CHECKPOINT_EVERY: i64 = 4;

/// The audit key of every test store (one per test process), and its public key.
pub fn audit_key() -> &'static (String, String) {
    static KEY: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    KEY.get_or_init(CheckpointSigner::generate)
}

pub fn audit_signer() -> Arc<CheckpointSigner> {
    Arc::new(CheckpointSigner::from_base64(&audit_key().0, CHECKPOINT_EVERY).unwrap())
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("SEXTANT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub async fn postgres_store(admin_url: &str) -> TestStore {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("sextant_test_{}_{}", std::process::id(), n);
    // Kept after the test for inspection; the next run with this process id replaces it.
    let scratch = ScratchDatabase::create(admin_url, &name)
        .await
        .expect("SEXTANT_TEST_POSTGRES_URL is reachable");
    let store = SeaStore::open_signed(
        Some(&scratch.url),
        std::path::Path::new("."),
        std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral()),
        Some(audit_signer()),
    )
    .await
    .unwrap();
    TestStore {
        store: Arc::new(store),
        _dir: tempfile::tempdir().unwrap(),
        url: Some(scratch.url),
    }
}

/// The stores every storage test runs on.
pub async fn all_stores() -> Vec<(&'static str, TestStore)> {
    let mut stores = vec![("sqlite", sqlite_store().await)];
    if let Some(url) = postgres_admin_url() {
        stores.push(("postgres", postgres_store(&url).await));
    }
    stores
}

pub fn cid(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

fn time(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// A verified customer born in 1985 in Prague, consenting to profiling and to email.
pub fn customer(id: &str) -> Customer {
    Customer {
        id: cid(id),
        birth_year: BirthYear::parse(1985, Utc::now()).unwrap(),
        region: Region::parse("prague").unwrap(),
        occupation: Occupation::parse("employed").unwrap(),
        kyc_status: KycStatus::Verified,
        consents: Consents {
            profiling: true,
            marketing: ChannelConsents {
                email: true,
                ..ChannelConsents::default()
            },
        },
        base_currency: Currency::EUR,
    }
}

/// A completed card purchase of `amount_minor` EUR at a Czech grocer on 2026-05-01.
pub fn payment(event_id: &str, customer: &str, amount_minor: i64) -> Event {
    let payment = PaymentEvent {
        event_id: EventId::parse(event_id).unwrap(),
        customer_id: cid(customer),
        occurred_at: time("2026-05-01T12:30:00Z"),
        amount: AmountMinor::new(amount_minor).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        direction: Direction::Debit,
        kind: PaymentKind::Purchase,
        channel: Channel::InStore,
        merchant_id: Some(MerchantId::parse("m-77").unwrap()),
        mcc: Some(Mcc::parse("5411").unwrap()),
        country: CountryCode::parse("CZ").unwrap(),
        card: Some(Card::parse("411111", "1234").unwrap()),
        status: PaymentStatus::Completed,
        balance_after_minor: None,
        counterparty: None,
        device_id: None,
        refund_of: None,
    };
    payment.check().unwrap();
    Event::Payment(payment)
}

/// An app opening in session `s-1` on 2026-05-01.
pub fn behaviour(event_id: &str, customer: &str) -> Event {
    let Event::Behaviour(mut event) =
        behaviour_at(event_id, customer, "2026-05-01T12:31:00Z", "app_open", None)
    else {
        unreachable!("behaviour_at builds behaviour")
    };
    event.session_id = Some(EventId::parse("s-1").unwrap());
    Event::Behaviour(event)
}

/// A behaviour event of `kind`, about `product` when given (offer events carry offer `o-1`).
pub fn behaviour_at(
    event_id: &str,
    customer: &str,
    occurred_at: &str,
    kind: &str,
    product: Option<&str>,
) -> Event {
    let event = BehaviourEvent {
        event_id: EventId::parse(event_id).unwrap(),
        customer_id: cid(customer),
        occurred_at: time(occurred_at),
        kind: BehaviourKind::parse(kind).unwrap(),
        session_id: None,
        screen: None,
        product_id: product.map(|p| ProductId::parse(p).unwrap()),
        offer_id: kind
            .starts_with("offer_")
            .then(|| EventId::parse("o-1").unwrap()),
        query: None,
    };
    event.check().unwrap();
    Event::Behaviour(event)
}

/// A position of `value_minor` EUR opened on 2025-03-01.
pub fn holding(customer: &str, product: &str, value_minor: i64) -> Holding {
    Holding {
        customer_id: cid(customer),
        product_id: ProductId::parse(product).unwrap(),
        value: AmountMinor::new(value_minor).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        opened_at: Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap(),
    }
}

/// Who the tests' changes are recorded as.
pub fn by() -> sextant_store::Actor {
    sextant_store::Actor::system("test")
}

/// A named actor, for tests that read the name back.
pub fn actor(id: &str) -> sextant_store::Actor {
    sextant_store::Actor::new(id, "test")
}
