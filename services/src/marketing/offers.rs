//! Offers as the service serves them: the active offer model, the catalogue with its
//! eligibility rules, and for one customer the signals the model reads (profile, what their
//! nearest neighbours in the vector store hold, their own offer behaviour) and the facts the
//! filters need (consent, risk level, holdings, campaign arms, credit eligibility). Ranking
//! and the filters themselves are `sextant_marketing::offers`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sextant_domain::{CustomerId, ProductId, ProductKind, RiskTolerance};
use sextant_lending::{CreditRequest, Lender, Outcome};
use sextant_marketing::holdout::Arm;
use sextant_marketing::offers::{
    rank, CampaignSlot, OfferContext, OfferPolicy, OfferProduct, Ranking,
};
use sextant_marketing::propensity::{CustomerSignals, Interactions, OfferModel, TrainingExample};
use sextant_marketing::rules::Rule;
use sextant_profiling::{catalogue, FEATURE_VERSION};
use sextant_store::{
    MarketingRow, Membership, OfferInteraction, ProductVersion, Store, StoredOfferModel,
    StoredProfile,
};
use sextant_vectors::{Filter, VectorStore};
use utoipa::ToSchema;

use super::audiences::{for_each_row, schema, CustomerRow};
use super::status::CampaignStatus;
use crate::read_model::{ReadModel, ServingEntry};
use crate::{Context, Result, ServiceError};

/// Nearest neighbours whose holdings inform a customer's offers.
pub const NEIGHBOURS: usize = 50;
/// How often the service reloads the model, the catalogue and the neighbours' holdings.
pub const OFFERS_REFRESH_SECONDS: i64 = 300;
pub use crate::read_model::{INTERACTIONS_MAX, INTERACTION_DAYS};

/// A catalogue entry with its eligibility rule compiled.
pub struct CatalogueEntry {
    pub version: ProductVersion,
    pub eligibility: Option<Rule>,
}

/// The offer model and everything it is served with.
pub struct OfferEngine {
    pub model: OfferModel,
    pub catalogue: Vec<CatalogueEntry>,
    pub policy: OfferPolicy,
    /// Model product index of each product id.
    slot: HashMap<String, usize>,
    /// For each model feature, its position in the profile's feature vector.
    feature_index: Vec<usize>,
    /// Products each customer held at load time, as bits over the model's products: what
    /// neighbours hold is read from here, not from the database, to keep offers fast.
    held: HashMap<String, u64>,
    pub loaded_at: DateTime<Utc>,
}

/// The engine in use.
pub type LoadedOffers = Arc<OfferEngine>;

impl OfferEngine {
    /// Checks that the model reads features of the current profiling layout and covers at
    /// most 64 products (held-product bit sets).
    pub fn new(
        model: OfferModel,
        catalogue_versions: Vec<ProductVersion>,
        held: HashMap<String, u64>,
    ) -> Result<OfferEngine> {
        if model.product_ids().len() > 64 {
            return Err(ServiceError::internal(format!(
                "offer model {} covers {} products; at most 64 are served",
                model.version(),
                model.product_ids().len()
            )));
        }
        let feature_index = feature_positions(&model)?;
        let slot = model
            .product_ids()
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .collect();
        let catalogue = catalogue_entries(catalogue_versions)?;
        Ok(OfferEngine {
            model,
            catalogue,
            policy: OfferPolicy::default(),
            slot,
            feature_index,
            held,
            loaded_at: Utc::now(),
        })
    }

    pub fn slot(&self, product: &str) -> Option<usize> {
        self.slot.get(product).copied()
    }

    /// The model's feature row from a profile's features (NaN stays NaN: the model treats
    /// non-finite values as missing).
    pub fn features(&self, profile_features: &[f64]) -> Vec<f64> {
        self.feature_index
            .iter()
            .map(|&i| profile_features.get(i).copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// Similarity-weighted share of the neighbours holding each model product, from the
    /// holdings read when the engine was loaded.
    pub fn neighbour_share(&self, neighbours: &[(String, f32)]) -> Vec<f64> {
        share_of(self.model.product_ids().len(), neighbours, |id| {
            self.held.get(id).copied().unwrap_or(0)
        })
    }

    /// The same share with each neighbour's holdings and consent as `current` has them
    /// (`None`: not known there, so as loaded). A neighbour who withdrew profiling consent
    /// no longer counts.
    pub fn neighbour_share_with(
        &self,
        neighbours: &[(String, f32)],
        current: impl Fn(&str) -> Option<Arc<ServingEntry>>,
    ) -> Vec<f64> {
        let mut counted = Vec::with_capacity(neighbours.len());
        let mut bits = HashMap::with_capacity(neighbours.len());
        for (id, similarity) in neighbours {
            match current(id) {
                Some(e) if !e.row.customer.consents.profiling => continue,
                Some(e) => {
                    bits.insert(id.as_str(), held_bits(&self.model, &e.row.held));
                }
                None => {}
            }
            counted.push((id.clone(), *similarity));
        }
        share_of(self.model.product_ids().len(), &counted, |id| {
            bits.get(id)
                .copied()
                .unwrap_or_else(|| self.held.get(id).copied().unwrap_or(0))
        })
    }
}

/// Similarity-weighted share of `neighbours` holding each of `products` products, with each
/// neighbour's holdings as bits. Negative similarities count as zero.
pub fn share_of(
    products: usize,
    neighbours: &[(String, f32)],
    held: impl Fn(&str) -> u64,
) -> Vec<f64> {
    let mut share = vec![0.0; products];
    let mut total = 0.0;
    for (id, similarity) in neighbours {
        let w = f64::from(similarity.max(0.0));
        total += w;
        let bits = held(id);
        for (p, s) in share.iter_mut().enumerate() {
            if bits >> p & 1 == 1 {
                *s += w;
            }
        }
    }
    if total > 0.0 {
        share.iter_mut().for_each(|s| *s /= total);
    }
    share
}

/// Bits of the model products in `held`.
pub fn held_bits(model: &OfferModel, held: &[ProductId]) -> u64 {
    held.iter()
        .filter_map(|p| model.product_ids().iter().position(|m| m == p.as_str()))
        .fold(0u64, |bits, i| bits | 1 << i)
}

fn feature_positions(model: &OfferModel) -> Result<Vec<usize>> {
    let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
    model
        .feature_names()
        .iter()
        .map(|f| {
            names.iter().position(|n| n == f).ok_or_else(|| {
                ServiceError::internal(format!(
                    "offer model {} reads `{f}`, which is not a feature of profiling layout {FEATURE_VERSION}",
                    model.version()
                ))
            })
        })
        .collect()
}

fn catalogue_entries(versions: Vec<ProductVersion>) -> Result<Vec<CatalogueEntry>> {
    versions
        .into_iter()
        .map(|version| {
            let eligibility = match &version.eligibility {
                Some(source) => Some(Rule::parse(source, schema()).map_err(|e| {
                    ServiceError::internal(format!(
                        "product {} v{}: eligibility rule: {e}",
                        version.product.id, version.version
                    ))
                })?),
                None => None,
            };
            Ok(CatalogueEntry {
                version,
                eligibility,
            })
        })
        .collect()
}

/// Counts a customer's offer behaviour per model product, as of `now`.
pub fn interactions(
    engine_slots: impl Fn(&str) -> Option<usize>,
    products: usize,
    events: &[OfferInteraction],
    now: DateTime<Utc>,
) -> Vec<Interactions> {
    let mut counts = vec![Interactions::default(); products];
    for e in events {
        let Some(p) = engine_slots(e.product_id.as_str()) else {
            continue;
        };
        let age = now - e.occurred_at;
        let c = &mut counts[p];
        match e.kind.as_str() {
            "product_view" if age <= Duration::days(90) => c.views_90d += 1,
            "offer_impression" if age <= Duration::days(7) => c.impressions_7d += 1,
            "offer_click" if age <= Duration::days(90) => c.clicks_90d += 1,
            "offer_dismiss" if age <= Duration::days(30) => c.dismissals_30d += 1,
            "offer_conversion" if age <= Duration::days(365) => c.conversions_365d += 1,
            _ => {}
        }
    }
    counts
}

/// The customer's nearest neighbours (profiling consent only), or none without a vector.
pub async fn neighbours(
    vectors: &dyn VectorStore,
    customer: &CustomerId,
) -> Result<Vec<(String, f32)>> {
    let Some(vector) = vectors.vector(customer.as_str()).await? else {
        return Ok(Vec::new());
    };
    let filter = Filter {
        profiling_consent: Some(true),
        exclude_customer: Some(customer.as_str().to_owned()),
        ..Filter::default()
    };
    Ok(vectors
        .search(&vector, NEIGHBOURS, &filter)
        .await?
        .into_iter()
        .map(|h| (h.customer_id, h.score))
        .collect())
}

/// One customer's training example: labels are the model products they hold.
pub fn example(
    engine_features: impl Fn(&[f64]) -> Vec<f64>,
    row: &MarketingRow,
    neighbour_share: Vec<f64>,
    interactions: Vec<Interactions>,
    product_ids: &[String],
) -> TrainingExample {
    let profile = row
        .profile
        .as_ref()
        .filter(|p| p.feature_version == FEATURE_VERSION);
    TrainingExample {
        features: profile.map(|p| engine_features(&p.features)),
        segment: profile.and_then(|p| p.segment),
        neighbour_share,
        interactions,
        held: product_ids
            .iter()
            .map(|id| row.held.iter().any(|h| h.as_str() == id))
            .collect(),
    }
}

/// One offer as served.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    /// Send it back with `offer_impression`, `offer_click`, `offer_dismiss` and
    /// `offer_conversion` events, together with `product_id`.
    pub offer_id: String,
    pub product_id: String,
    pub name: String,
    pub kind: String,
    pub risk_level: String,
    pub catalogue_version: u32,
    /// The model's probability that the customer takes it up.
    pub score: f64,
    /// `campaign`, `interest`, `neighbours`, `profile` or `popularity`.
    pub source: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Loyalty points the campaign awards on taking the offer up (its incentive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_incentive: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// How many catalogue products each filter kept out.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressedView {
    pub suitability: u32,
    pub consent: u32,
    pub ineligible: u32,
    pub held: u32,
    pub frequency_cap: u32,
    pub dismissed: u32,
    pub holdout: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferList {
    pub customer_id: String,
    pub model_version: String,
    /// The risk tolerance offers were checked against (`C1` when none is assessed yet).
    pub risk_tolerance: String,
    pub offers: Vec<OfferView>,
    pub suppressed: SuppressedView,
}

/// What the offer model reads about one customer, and their offer behaviour per catalogue
/// entry: the one assembly both served offers and the offline evaluation rank from.
pub struct Assembled {
    /// Interaction counts per catalogue entry, in catalogue order (for the filters).
    pub by_listing: Vec<Interactions>,
    features: Option<Vec<f64>>,
    segment: Option<u32>,
    share: Vec<f64>,
    /// Interaction counts per model product (for the model).
    counts: Vec<Interactions>,
}

impl Assembled {
    /// Assembles the model's signals from a profile (of the current layout, consent
    /// checked by the caller), what the nearest neighbours hold (`share`, see
    /// [`OfferEngine::neighbour_share`]) and the offer behaviour.
    pub fn new(
        engine: &OfferEngine,
        profile: Option<&StoredProfile>,
        share: Vec<f64>,
        events: &[OfferInteraction],
        now: DateTime<Utc>,
    ) -> Assembled {
        Assembled {
            by_listing: interactions(
                |p| {
                    engine
                        .catalogue
                        .iter()
                        .position(|e| e.version.product.id.as_str() == p)
                },
                engine.catalogue.len(),
                events,
                now,
            ),
            features: profile.map(|p| engine.features(&p.features)),
            segment: profile.and_then(|p| p.segment),
            share,
            counts: interactions(
                |p| engine.slot(p),
                engine.model.product_ids().len(),
                events,
                now,
            ),
        }
    }

    pub fn signals(&self) -> CustomerSignals<'_> {
        CustomerSignals {
            features: self.features.as_deref(),
            segment: self.segment,
            neighbour_share: &self.share,
            interactions: &self.counts,
        }
    }
}

/// The customer's offers, every filter applied. Everything about the customer comes from
/// the read model (see [`crate::read_model`] for how fresh it is); the neighbour search is
/// the one look-up made per request.
pub async fn offers_for(ctx: &Context, id: &CustomerId, limit: usize) -> Result<OfferList> {
    let engine = ctx.offers().await?;
    let now = Utc::now();
    let entry = ctx
        .read_model()
        .entry(ctx.store.as_ref(), id, false)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let customer = &entry.row.customer;
    // A customer who withdrew profiling consent has no profile and no vector: they get
    // offers from the catalogue's popularity alone.
    let usable =
        |p: &&StoredProfile| customer.consents.profiling && p.feature_version == FEATURE_VERSION;
    let profile = entry.row.profile.as_ref().filter(usable);
    let without_profile;
    let row = if profile.is_none() && entry.row.profile.is_some() {
        without_profile = MarketingRow {
            profile: None,
            ..entry.row.clone()
        };
        &without_profile
    } else {
        &entry.row
    };
    let near = if customer.consents.profiling {
        neighbours(ctx.vectors.as_ref(), id).await?
    } else {
        Vec::new()
    };
    let tolerance = row.risk_level.and_then(|l| RiskTolerance::new(l).ok());
    let lending = ctx.lender().await.ok();
    let credit_ok = |kind, min_amount_minor| {
        lending
            .as_deref()
            .is_some_and(|l| credit_eligible(l, row, kind, min_amount_minor, now))
    };
    let rule_row = CustomerRow::new(row, now);
    let share = neighbour_share_now(ctx, &engine, &near);
    let assembled = Assembled::new(&engine, profile, share, &entry.interactions, now);
    let offer_products: Vec<OfferProduct> = engine
        .catalogue
        .iter()
        .zip(&assembled.by_listing)
        .map(|(entry, interactions)| {
            let product = &entry.version.product;
            let eligible = entry.version.active
                && entry
                    .eligibility
                    .as_ref()
                    .is_none_or(|r| r.matches(&rule_row))
                && (!product.kind.is_credit() || credit_ok(product.kind, product.min_amount_minor));
            OfferProduct {
                product: product.clone(),
                eligible,
                interactions: *interactions,
            }
        })
        .collect();
    let campaigns = campaign_slots(&entry.memberships);
    let ctx_offer = OfferContext {
        tolerance,
        in_app_consent: customer.consents.marketing.in_app,
        held: &row.held,
        campaigns: &campaigns,
    };
    let ranking = rank(
        &engine.model,
        &offer_products,
        &assembled.signals(),
        &ctx_offer,
        &engine.policy,
        limit,
    );
    let mut list = offer_list(&engine, id, tolerance, ranking, now);
    with_points_incentives(ctx, &mut list).await?;
    Ok(list)
}

/// Each campaign offer's points incentive, from its campaign (read only when the list holds
/// one: a customer in a running campaign's treatment arm).
async fn with_points_incentives(ctx: &Context, list: &mut OfferList) -> Result<()> {
    for offer in &mut list.offers {
        let Some(campaign) = &offer.campaign_id else {
            continue;
        };
        offer.points_incentive = ctx
            .store
            .campaign(campaign)
            .await?
            .and_then(|c| {
                serde_json::from_value::<crate::marketing::campaigns::CampaignSpec>(c.spec).ok()
            })
            .and_then(|spec| spec.bonus_points);
    }
    Ok(())
}

/// What the neighbours hold, from the read model: current with this process's writes. A
/// neighbour not in it (dropped after a change, and not read back yet) counts with the
/// holdings the engine loaded, so a request never waits on its neighbours.
fn neighbour_share_now(ctx: &Context, engine: &OfferEngine, near: &[(String, f32)]) -> Vec<f64> {
    let read_model = ctx.read_model();
    engine.neighbour_share_with(near, |id| {
        CustomerId::parse(id)
            .ok()
            .and_then(|c| read_model.cached(&c))
    })
}

/// The ranking as served: each offer with its catalogue entry, an offer id the app's events
/// refer back to, and the counts of what each filter kept out.
fn offer_list(
    engine: &OfferEngine,
    id: &CustomerId,
    tolerance: Option<RiskTolerance>,
    ranking: Ranking,
    now: DateTime<Utc>,
) -> OfferList {
    let day = now.format("%Y-%m-%d").to_string();
    let offers = ranking
        .offers
        .into_iter()
        .filter_map(|o| {
            let entry = engine
                .catalogue
                .iter()
                .find(|e| e.version.product.id == o.product_id)?;
            let p = &entry.version.product;
            Some(OfferView {
                offer_id: offer_id(id.as_str(), p.id.as_str(), &day),
                product_id: p.id.as_str().to_owned(),
                name: p.name.clone(),
                kind: p.kind.as_str().to_owned(),
                risk_level: p.risk_level.to_string(),
                catalogue_version: entry.version.version,
                score: o.score,
                source: o.source.name().to_owned(),
                reason: o.reason,
                campaign_id: o.campaign_id,
                points_incentive: None,
                terms: entry.version.terms.clone(),
            })
        })
        .collect();
    let s = ranking.suppressed;
    OfferList {
        customer_id: id.as_str().to_owned(),
        model_version: engine.model.version().to_owned(),
        risk_tolerance: tolerance.unwrap_or(RiskTolerance::LOWEST).to_string(),
        offers,
        suppressed: SuppressedView {
            suitability: s.suitability,
            consent: s.consent,
            ineligible: s.ineligible,
            held: s.held,
            frequency_cap: s.frequency_cap,
            dismissed: s.dismissed,
            holdout: s.holdout,
        },
    }
}

/// The customer's place in live campaigns (a paused campaign still keeps its holdout
/// unexposed).
pub fn campaign_slots(memberships: &[Membership]) -> Vec<CampaignSlot> {
    memberships
        .iter()
        .filter_map(|m| {
            let arm = Arm::parse(&m.arm)?;
            // Only a running campaign features its product; any live campaign keeps its
            // holdout away from it.
            let running = CampaignStatus::parse(&m.status) == Some(CampaignStatus::Running);
            if arm == Arm::Treatment && !running {
                return None;
            }
            Some(CampaignSlot {
                campaign_id: m.campaign_id.clone(),
                product_id: m.product_id.clone(),
                arm,
                in_app: m.channel == "in_app",
            })
        })
        .collect()
}

/// Whether the customer may be offered a credit product: the credit decision on a request
/// of the product's minimum amount approves. Without the features to decide on, no credit
/// product is offered (nor without an active credit model: the caller's to check).
fn credit_eligible(
    lending: &Lender,
    row: &MarketingRow,
    kind: ProductKind,
    min_amount_minor: i64,
    now: DateTime<Utc>,
) -> bool {
    let Some(profile) = &row.profile else {
        return false;
    };
    let loan = &lending.policy.loan;
    let request = match kind {
        ProductKind::InstalmentPlan => CreditRequest::Instalment {
            amount_minor: min_amount_minor.max(1),
            merchant: "offer".into(),
        },
        _ => CreditRequest::Loan {
            amount_minor: min_amount_minor.max(loan.min_amount_minor),
            term_months: loan.terms_months.first().copied().unwrap_or(12),
        },
    };
    let inputs = lending.inputs(
        &row.customer,
        &profile.features,
        profile.as_of,
        request,
        now.date_naive(),
    );
    crate::lending::decide_with(&lending.model, &inputs)
        .is_ok_and(|d| d.outcome == Outcome::Approved)
}

/// Stable per customer, product and day, so the app's events tie back to what was shown.
pub fn offer_id(customer: &str, product: &str, day: &str) -> String {
    let digest =
        sextant_hash::sha256_hex(format!("{customer}\u{1f}{product}\u{1f}{day}").as_bytes());
    format!("of_{}", &digest[..20])
}

/// The model stored under `stored`, checked against its version.
pub fn load_model(stored: &StoredOfferModel) -> Result<OfferModel> {
    let model = OfferModel::from_json(&stored.artifact)
        .map_err(|e| ServiceError::internal(format!("offer model {}: {e}", stored.version)))?;
    if model.version() != stored.version {
        return Err(ServiceError::internal(format!(
            "offer model stored as {} is {}",
            stored.version,
            model.version()
        )));
    }
    Ok(model)
}

/// Builds the engine from the store: the active model, the catalogue, everyone's holdings.
pub async fn load_engine(store: &dyn Store) -> Result<Option<OfferEngine>> {
    load_engine_with(store, None).await
}

/// Like [`load_engine`], with everyone's holdings taken from `read_model` instead of the
/// database when it has been built.
pub async fn load_engine_with(
    store: &dyn Store,
    read_model: Option<&ReadModel>,
) -> Result<Option<OfferEngine>> {
    let Some(stored) = store.active_offer_model().await? else {
        return Ok(None);
    };
    let model = load_model(&stored)?;
    let versions = store.catalogue().await?;
    let mut held = HashMap::new();
    let mut note = |row: &MarketingRow| {
        let bits = held_bits(&model, &row.held);
        if bits != 0 {
            held.insert(row.customer.id.as_str().to_owned(), bits);
        }
    };
    match read_model.filter(|r| r.status().built) {
        Some(read_model) => read_model.for_each(|entry| note(&entry.row)),
        None => {
            for_each_row(store, note).await?;
        }
    }
    OfferEngine::new(model, versions, held).map(Some)
}

impl Context {
    /// The offer engine; not ready until an offer model has been trained. An engine older
    /// than [`OFFERS_REFRESH_SECONDS`] keeps serving while a new one is built in the
    /// background, so no request waits for the reload.
    pub async fn offers(&self) -> Result<Arc<OfferEngine>> {
        let slot = &self.engines.offers;
        if let Some(engine) = slot.read().await.as_ref() {
            if (Utc::now() - engine.loaded_at).num_seconds() >= OFFERS_REFRESH_SECONDS {
                self.reload_offers_in_background();
            }
            return Ok(engine.clone());
        }
        let mut slot = slot.write().await;
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let Some(engine) = load_engine_with(self.store.as_ref(), Some(self.read_model())).await?
        else {
            return Err(ServiceError::NotReady {
                code: "offer_model_unavailable",
                message: "no offer model is trained yet: run `sextant marketing train-offers`"
                    .into(),
            });
        };
        let engine = Arc::new(engine);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// Builds a new engine (new model, catalogue edits, holdings) and swaps it in when ready.
    /// At most one reload runs at a time.
    pub fn reload_offers_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.engines.offers_reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            match load_engine_with(ctx.store.as_ref(), Some(ctx.read_model())).await {
                Ok(Some(engine)) => *ctx.engines.offers.write().await = Some(Arc::new(engine)),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "offer engine reload failed"),
            }
            ctx.engines.offers_reloading.store(false, Ordering::Release);
        });
    }

    /// Replaces the engine now (after a catalogue edit or a new model, so that the change
    /// applies to the very next offer).
    pub async fn reload_offers(&self) -> Result<()> {
        let engine = load_engine_with(self.store.as_ref(), Some(self.read_model()))
            .await?
            .map(Arc::new);
        *self.engines.offers.write().await = engine;
        Ok(())
    }
}
