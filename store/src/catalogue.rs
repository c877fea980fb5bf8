//! The catalogue as marketing edits it (numbered product versions), the offer models with
//! their activations, and what a customer's offers are computed from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{Customer, CustomerId, Holding, Product, ProductId};

use crate::{Actor, Membership, StoreError, StoredProfile};

/// One saved version of a catalogue product. Versions of a product are numbered 1, 2, ...
/// and never change once written; the newest decides. A product of the built-in catalogue
/// that no one has edited reads as version 0 with no eligibility rule and no terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductVersion {
    pub product: Product,
    pub version: u32,
    /// A rule in the segment language that a customer must match to be offered it.
    pub eligibility: Option<String>,
    /// Terms shown with the offer (plain text).
    pub terms: Option<String>,
    /// A retired product stays in the catalogue (holdings refer to it) but is never offered.
    pub active: bool,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// One customer's offer-related behaviour, for the offers' interaction counts.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferInteraction {
    /// A `BehaviourKind` name: `product_view`, `offer_impression`, `offer_click`,
    /// `offer_dismiss` or `offer_conversion`.
    pub kind: String,
    pub product_id: ProductId,
    pub occurred_at: DateTime<Utc>,
}

/// A trained offer model as stored: the artifact is `OfferModel::to_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOfferModel {
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub metrics: serde_json::Value,
    pub artifact: Vec<u8>,
}

/// Everything an offer request reads about one customer, from one snapshot.
#[derive(Debug, Clone)]
pub struct OfferInputs {
    pub customer: Customer,
    pub profile: Option<StoredProfile>,
    /// The latest recorded risk level (1..5), if any.
    pub risk_level: Option<u8>,
    pub holdings: Vec<Holding>,
    /// Memberships in campaigns that are running or paused.
    pub memberships: Vec<Membership>,
    /// Offer behaviour since the requested time, newest first.
    pub interactions: Vec<OfferInteraction>,
}

#[async_trait]
pub trait CatalogueStore: Send + Sync {
    /// Writes a new version of a product and makes it the catalogue's entry (the `products`
    /// row follows the newest version). `Conflict` when that version exists already, or
    /// when it is not the next number (latest + 1; 1 for a new product).
    async fn put_product_version(
        &self,
        version: &ProductVersion,
        by: &Actor,
    ) -> Result<(), StoreError>;
    /// Every version of a product, oldest first (a built-in product never edited: version 0).
    async fn product_versions(&self, id: &ProductId) -> Result<Vec<ProductVersion>, StoreError>;
    /// The newest version of every product, in product id order.
    async fn catalogue(&self) -> Result<Vec<ProductVersion>, StoreError>;

    /// Stores an offer model and makes it the active one (the newest activation decides).
    async fn put_offer_model(&self, model: &StoredOfferModel, by: &Actor)
        -> Result<(), StoreError>;
    async fn active_offer_model(&self) -> Result<Option<StoredOfferModel>, StoreError>;

    /// A customer's offer behaviour (product views and offer events that name a product)
    /// since `since`, newest first, at most `limit`.
    async fn offer_interactions(
        &self,
        customer: &CustomerId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OfferInteraction>, StoreError>;
    /// The customer, profile, risk level, holdings, live memberships and offer behaviour
    /// since `interactions_since` (at most `interactions_max`), in one call; `None` for an
    /// unknown customer.
    async fn offer_inputs(
        &self,
        id: &CustomerId,
        interactions_since: DateTime<Utc>,
        interactions_max: u64,
    ) -> Result<Option<OfferInputs>, StoreError>;
}
