//! Ranking a customer's offers, behind filters that can never be bypassed.
//!
//! Every catalogue product goes through the filters first, in a fixed order, and is counted
//! under the first it fails: consent (no in-app marketing consent suppresses everything),
//! suitability (the product's risk level within the customer's tolerance; no assessment
//! counts as C1, which allows R1 only), eligibility (decided by the caller), products held,
//! campaign holdouts (a holdout must stay unexposed), the frequency cap and the dismissal
//! cooldown. Only the products that pass are scored and ordered, so no later step can bring
//! a filtered product back. A product listed twice in the catalogue must pass on every
//! listing and is offered once.
//!
//! Order: featured campaign products first (the treatment arm of an in-app campaign), then by
//! the model's probability, descending, ties by product id.

#[cfg(test)]
mod tests;

use sextant_advisor::suitability;
use sextant_domain::{Product, ProductId, RiskTolerance};

use crate::holdout::Arm;
use crate::propensity::{CustomerSignals, Interactions, OfferModel, ProductScore};

/// Log-odds a signal family must add to a score before it is named as the offer's reason;
/// below it the offer is explained by popularity (a weak signal is no reason).
const REASON_MIN_LOG_ODDS: f64 = 0.1;

/// A catalogue product as the ranker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferProduct {
    pub product: Product,
    /// Decided by the caller: the product's eligibility rule and, for credit products, the
    /// credit pre-check.
    pub eligible: bool,
    /// The customer's interactions with this product. The frequency cap and the dismissal
    /// cooldown read the larger of this and the model-aligned count in the signals, so they
    /// also hold for a product the model does not know yet.
    pub interactions: Interactions,
}

/// The customer's place in a running campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSlot {
    pub campaign_id: String,
    pub product_id: ProductId,
    pub arm: Arm,
    /// The campaign runs on the in-app channel (only those are featured in the offer list).
    pub in_app: bool,
}

/// What the filters need to know about the customer.
#[derive(Debug, Clone, Copy)]
pub struct OfferContext<'a> {
    /// `None` (no assessment) is treated as C1: R1 only.
    pub tolerance: Option<RiskTolerance>,
    /// Marketing consent on the in-app channel; without it there are no offers at all.
    pub in_app_consent: bool,
    pub held: &'a [ProductId],
    pub campaigns: &'a [CampaignSlot],
}

/// Operator limits on exposure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferPolicy {
    /// A product shown this many times in the last 7 days is not offered again.
    pub impressions_cap_7d: u32,
    /// Days a dismissal suppresses a product; the caller counts `dismissals_30d` over this
    /// window (30 by default) and any counted dismissal suppresses. 0 turns it off.
    pub dismissal_cooldown_days: u32,
    /// Most offers in one answer, whatever the caller asks for.
    pub max_limit: usize,
}

impl Default for OfferPolicy {
    fn default() -> Self {
        OfferPolicy {
            impressions_cap_7d: 3,
            dismissal_cooldown_days: 30,
            max_limit: 20,
        }
    }
}

/// The signal that put an offer where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Campaign,
    Interest,
    Neighbours,
    Profile,
    Popularity,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Campaign => "campaign",
            Source::Interest => "interest",
            Source::Neighbours => "neighbours",
            Source::Profile => "profile",
            Source::Popularity => "popularity",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub product_id: ProductId,
    /// The model's adoption probability (0 for a product the model does not know).
    pub score: f64,
    pub source: Source,
    /// One plain sentence naming the driving signal.
    pub reason: String,
    /// Set for a featured campaign offer.
    pub campaign_id: Option<String>,
}

/// Products filtered out, each counted once under the first filter it failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressed {
    pub suitability: u32,
    pub consent: u32,
    pub ineligible: u32,
    pub held: u32,
    pub frequency_cap: u32,
    pub dismissed: u32,
    pub holdout: u32,
}

impl Suppressed {
    pub fn total(&self) -> u32 {
        self.suitability
            + self.consent
            + self.ineligible
            + self.held
            + self.frequency_cap
            + self.dismissed
            + self.holdout
    }

    fn count(&mut self, filter: Filter) {
        let counter = match filter {
            Filter::Suitability => &mut self.suitability,
            Filter::Ineligible => &mut self.ineligible,
            Filter::Held => &mut self.held,
            Filter::Holdout => &mut self.holdout,
            Filter::FrequencyCap => &mut self.frequency_cap,
            Filter::Dismissed => &mut self.dismissed,
        };
        *counter += 1;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub offers: Vec<Offer>,
    pub suppressed: Suppressed,
}

/// The per-product filters after consent, in the order they are checked.
#[derive(Debug, Clone, Copy)]
enum Filter {
    Suitability,
    Ineligible,
    Held,
    Holdout,
    FrequencyCap,
    Dismissed,
}

/// At most `min(limit, policy.max_limit)` offers for one customer, every one of which passed
/// every filter. `signals` are aligned with `model.product_ids()`.
pub fn rank(
    model: &OfferModel,
    catalogue: &[OfferProduct],
    signals: &CustomerSignals,
    ctx: &OfferContext,
    policy: &OfferPolicy,
    limit: usize,
) -> Ranking {
    let mut listings: Vec<&OfferProduct> = catalogue.iter().collect();
    listings.sort_by(|a, b| a.product.id.cmp(&b.product.id));
    let products = listings.chunk_by(|a, b| a.product.id == b.product.id);
    let mut suppressed = Suppressed::default();
    if !ctx.in_app_consent {
        suppressed.consent = u32::try_from(products.count()).unwrap_or(u32::MAX);
        return Ranking {
            offers: Vec::new(),
            suppressed,
        };
    }
    let scores = model.score(signals);
    let explain = Explain::new(model, signals);
    let mut offers = Vec::new();
    for listing in products {
        let id = &listing[0].product.id;
        let position = model.product_index(id.as_str());
        let counted = position
            .filter(|_| signals.interactions.len() == model.product_ids().len())
            .map(|p| signals.interactions[p]);
        let interactions = listing
            .iter()
            .map(|entry| entry.interactions)
            .chain(counted)
            .fold(Interactions::default(), Interactions::max);
        if let Some(filter) = first_failed_filter(listing, ctx, policy, &interactions) {
            suppressed.count(filter);
            continue;
        }
        let score = position.map(|p| &scores[p]);
        offers.push(offer(
            id,
            score,
            featured_campaign(id, ctx),
            &interactions,
            &explain,
        ));
    }
    offers.sort_by(|a, b| {
        b.campaign_id
            .is_some()
            .cmp(&a.campaign_id.is_some())
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    offers.truncate(limit.min(policy.max_limit));
    Ranking { offers, suppressed }
}

/// The first filter any listing of one product fails, or `None` when it may be offered.
fn first_failed_filter(
    listing: &[&OfferProduct],
    ctx: &OfferContext,
    policy: &OfferPolicy,
    interactions: &Interactions,
) -> Option<Filter> {
    let id = &listing[0].product.id;
    let tolerance = ctx.tolerance.unwrap_or(RiskTolerance::LOWEST);
    if !listing
        .iter()
        .all(|entry| suitability::allowed(tolerance, entry.product.risk_level))
    {
        return Some(Filter::Suitability);
    }
    if !listing.iter().all(|entry| entry.eligible) {
        return Some(Filter::Ineligible);
    }
    if ctx.held.contains(id) {
        return Some(Filter::Held);
    }
    if ctx
        .campaigns
        .iter()
        .any(|slot| slot.arm == Arm::Holdout && &slot.product_id == id)
    {
        return Some(Filter::Holdout);
    }
    if interactions.impressions_7d >= policy.impressions_cap_7d {
        return Some(Filter::FrequencyCap);
    }
    if policy.dismissal_cooldown_days > 0 && interactions.dismissals_30d > 0 {
        return Some(Filter::Dismissed);
    }
    None
}

/// The in-app campaign that features `id` for this customer (the smallest id if several).
fn featured_campaign<'a>(id: &ProductId, ctx: &OfferContext<'a>) -> Option<&'a str> {
    ctx.campaigns
        .iter()
        .filter(|slot| slot.arm == Arm::Treatment && slot.in_app && &slot.product_id == id)
        .map(|slot| slot.campaign_id.as_str())
        .min()
}

/// What the reasons may name: a family is only named when the customer has it.
struct Explain {
    has_profile: bool,
    has_neighbours: bool,
    segment_known: bool,
}

impl Explain {
    fn new(model: &OfferModel, signals: &CustomerSignals) -> Explain {
        let products = model.product_ids().len();
        Explain {
            has_profile: signals
                .features
                .is_some_and(|row| row.len() == model.feature_names().len()),
            has_neighbours: signals.neighbour_share.len() == products,
            segment_known: signals.segment.is_some_and(|s| model.knows_segment(s)),
        }
    }
}

fn offer(
    id: &ProductId,
    score: Option<&ProductScore>,
    campaign: Option<&str>,
    interactions: &Interactions,
    explain: &Explain,
) -> Offer {
    let probability = score.map_or(0.0, |s| s.probability);
    let (source, reason) = match (campaign, score) {
        (Some(_), _) => (Source::Campaign, "A featured offer for you".to_owned()),
        (None, None) => (Source::Popularity, "New in the catalogue".to_owned()),
        (None, Some(score)) => {
            let source = driving_source(score, interactions, explain);
            (source, reason(source, interactions, explain))
        }
    };
    Offer {
        product_id: id.clone(),
        score: probability,
        source,
        reason,
        campaign_id: campaign.map(str::to_owned),
    }
}

/// The family that added the most log-odds, if it added at least [`REASON_MIN_LOG_ODDS`] and
/// the customer has it; otherwise popularity. Ties prefer the customer's own interest, then
/// neighbours, then the profile.
fn driving_source(score: &ProductScore, interactions: &Interactions, explain: &Explain) -> Source {
    let parts = &score.contributions;
    let showed_interest = interactions.views_90d > 0 || interactions.clicks_90d > 0;
    let candidates = [
        (Source::Interest, parts.interest, showed_interest),
        (Source::Neighbours, parts.neighbours, explain.has_neighbours),
        (Source::Profile, parts.profile, explain.has_profile),
    ];
    let mut best = (Source::Popularity, REASON_MIN_LOG_ODDS);
    for (source, log_odds, present) in candidates {
        if present && log_odds >= best.1 && (best.0 == Source::Popularity || log_odds > best.1) {
            best = (source, log_odds);
        }
    }
    best.0
}

fn reason(source: Source, interactions: &Interactions, explain: &Explain) -> String {
    match source {
        Source::Campaign => "A featured offer for you".to_owned(),
        Source::Interest if interactions.views_90d > 0 => {
            format!(
                "You looked at it {} recently",
                times(interactions.views_90d)
            )
        }
        Source::Interest => format!("You opened it {} recently", times(interactions.clicks_90d)),
        Source::Neighbours => "Customers with a profile like yours hold it".to_owned(),
        Source::Profile => "Fits your spending and saving pattern".to_owned(),
        Source::Popularity if explain.segment_known => {
            "Popular with customers in your segment".to_owned()
        }
        Source::Popularity => "Popular with our customers".to_owned(),
    }
}

fn times(count: u32) -> String {
    match count {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}
