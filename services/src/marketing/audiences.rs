//! Audiences as the service evaluates them: the fields a segment rule may use, a customer's
//! values for them, rule segments over every customer, and lookalikes of a seed list from the
//! vector store. The rule language itself is `sextant_marketing::rules`.

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{CustomerId, MarketingChannel};
use sextant_marketing::rules::{FieldType, Row, Rule, RuleError, Schema};
use sextant_profiling::{catalogue, FEATURE_VERSION};
use sextant_store::{Actor, MarketingRow, Store, StoredAudience, MARKETING_PAGE_MAX};
use sextant_vectors::{Filter, VectorStore, MAX_AUDIENCE};
use utoipa::ToSchema;

use super::text_field;
use crate::records::format_timestamp;
use crate::{Context, ItemProblem, Result, ServiceError};

/// Most seeds of a lookalike.
pub const SEEDS_MAX: usize = 1_000;
/// Customers listed in a preview's sample.
pub const SAMPLE_SIZE: usize = 10;

/// Fields before the profile features, in schema order.
const BASE_FIELDS: &[(&str, FieldType)] = &[
    ("age", FieldType::Number),
    ("region", FieldType::Text),
    ("occupation", FieldType::Text),
    ("kyc", FieldType::Text),
    ("risk_level", FieldType::Number),
    ("segment", FieldType::Number),
    ("products_held", FieldType::Number),
    ("consent.profiling", FieldType::Bool),
    ("consent.push", FieldType::Bool),
    ("consent.email", FieldType::Bool),
    ("consent.sms", FieldType::Bool),
    ("consent.in_app", FieldType::Bool),
];

/// The fields a segment or eligibility rule may use: the customer's registration, risk
/// level, k-means segment, consents, and every profile feature by its catalogue name.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = Schema::new();
        for (name, ty) in BASE_FIELDS {
            schema = schema.field(name, *ty);
        }
        for spec in catalogue() {
            schema = schema.field(spec.name, FieldType::Number);
        }
        schema
    })
}

/// The registration, risk and consent fields a rule may use (profile features come after
/// them, by their catalogue names).
pub fn base_field_names() -> impl Iterator<Item = &'static str> {
    BASE_FIELDS.iter().map(|(name, _)| *name)
}

/// The rule's problem as the API reports it: the field that holds the rule, and where.
pub fn rule_problem(field: &str, e: &RuleError) -> ItemProblem {
    ItemProblem {
        line: Some(e.line),
        column: Some(e.column),
        ..ItemProblem::field(field, e.code, e.to_string())
    }
}

/// Parses a rule, or the refusal that names `field` with the line and column.
pub fn parse_rule(field: &str, source: &str) -> Result<Rule> {
    Rule::parse(source, schema()).map_err(|e| ServiceError::Invalid(vec![rule_problem(field, &e)]))
}

/// A customer as rules see them, on a given day.
pub struct CustomerRow<'a> {
    pub row: &'a MarketingRow,
    pub age_years: f64,
}

impl<'a> CustomerRow<'a> {
    pub fn new(row: &'a MarketingRow, today: DateTime<Utc>) -> Self {
        CustomerRow {
            row,
            age_years: f64::from(row.customer.birth_year.age_years(today)),
        }
    }

    fn features(&self) -> Option<&[f64]> {
        self.row
            .profile
            .as_ref()
            .filter(|p| p.feature_version == FEATURE_VERSION)
            .map(|p| p.features.as_slice())
    }
}

impl Row for CustomerRow<'_> {
    fn number(&self, field: usize) -> Option<f64> {
        match field {
            0 => Some(self.age_years),
            4 => self.row.risk_level.map(f64::from),
            5 => self
                .row
                .profile
                .as_ref()
                .and_then(|p| p.segment)
                .map(f64::from),
            6 => Some(self.row.held.len() as f64),
            i if i >= BASE_FIELDS.len() => self
                .features()
                .and_then(|f| f.get(i - BASE_FIELDS.len()).copied())
                .filter(|v| v.is_finite()),
            _ => None,
        }
    }

    fn text(&self, field: usize) -> Option<&str> {
        let c = &self.row.customer;
        match field {
            1 => Some(c.region.as_str()),
            2 => Some(c.occupation.as_str()),
            3 => Some(c.kyc_status.as_str()),
            _ => None,
        }
    }

    fn boolean(&self, field: usize) -> Option<bool> {
        let consents = &self.row.customer.consents;
        match field {
            7 => Some(consents.profiling),
            8 => Some(consents.marketing.push),
            9 => Some(consents.marketing.email),
            10 => Some(consents.marketing.sms),
            11 => Some(consents.marketing.in_app),
            _ => None,
        }
    }
}

/// What a lookalike audience is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LookalikeSpec {
    /// Customers the audience should resemble (1..=1000 customer ids).
    #[schema(min_items = 1, max_items = 1000, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub seeds: Vec<String>,
    /// How many customers to take (1..=100,000), the most similar first. Give `size` or
    /// `min_similarity` (a rule the schema cannot state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub size: Option<u64>,
    /// Or everyone at least this similar (cosine, -1..=1) to the seeds' centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -1.0, maximum = 1.0)]
    pub min_similarity: Option<f64>,
}

impl LookalikeSpec {
    /// Checks the spec, naming the offending field under `prefix`.
    pub fn check(&self, prefix: &str) -> Result<Vec<CustomerId>> {
        let mut problems = Vec::new();
        let field = |f: &str| format!("{prefix}{f}");
        if self.seeds.is_empty() || self.seeds.len() > SEEDS_MAX {
            problems.push(ItemProblem::field(
                &field("seeds"),
                "out_of_range",
                format!("a lookalike needs 1 to {SEEDS_MAX} seed customers"),
            ));
        }
        let mut seeds = Vec::with_capacity(self.seeds.len());
        for (i, s) in self.seeds.iter().enumerate() {
            match CustomerId::parse(s) {
                Ok(id) => seeds.push(id),
                Err(e) => problems.push(ItemProblem::field(
                    &format!("{prefix}seeds[{i}]"),
                    e.code,
                    e.message,
                )),
            }
        }
        match (self.size, self.min_similarity) {
            (None, None) => problems.push(ItemProblem::field(
                &field("size"),
                "required",
                "give `size` or `min_similarity`",
            )),
            (Some(size), _) if size == 0 || size > MAX_AUDIENCE as u64 => {
                problems.push(ItemProblem::field(
                    &field("size"),
                    "out_of_range",
                    format!("size must be 1..={MAX_AUDIENCE}"),
                ))
            }
            (_, Some(s)) if !(-1.0..=1.0).contains(&s) => problems.push(ItemProblem::field(
                &field("min_similarity"),
                "out_of_range",
                "min_similarity must be within -1..=1",
            )),
            _ => {}
        }
        if problems.is_empty() {
            Ok(seeds)
        } else {
            Err(ServiceError::Invalid(problems))
        }
    }
}

/// An audience definition, parsed: what a stored audience says to select.
pub enum Definition {
    Rule(Rule),
    Lookalike(LookalikeSpec),
}

impl Definition {
    pub fn from_stored(audience: &StoredAudience) -> Result<Definition> {
        let corrupt =
            |why: String| ServiceError::internal(format!("audience {}: {why}", audience.id));
        match audience.kind.as_str() {
            "rule" => {
                let source = audience
                    .definition
                    .get("rule")
                    .and_then(|r| r.as_str())
                    .ok_or_else(|| corrupt("no rule".into()))?;
                Ok(Definition::Rule(
                    Rule::parse(source, schema()).map_err(|e| corrupt(e.to_string()))?,
                ))
            }
            "lookalike" => Ok(Definition::Lookalike(
                serde_json::from_value(audience.definition.clone())
                    .map_err(|e| corrupt(e.to_string()))?,
            )),
            other => Err(corrupt(format!("unknown kind `{other}`"))),
        }
    }
}

/// The customers of a lookalike with their similarity, best first. Seeds themselves are
/// left out; seeds without a vector (no profile, no profiling consent) are skipped, and if
/// none has one the audience is refused.
pub async fn lookalike(
    vectors: &dyn VectorStore,
    spec: &LookalikeSpec,
) -> Result<Vec<(String, f32)>> {
    let seeds = spec.check("")?;
    let mut centre = vec![0f32; vectors.dim()];
    let mut found = 0usize;
    for seed in &seeds {
        let vector = vectors.vector(seed.as_str()).await?;
        if let Some(v) = vector {
            for (c, x) in centre.iter_mut().zip(&v) {
                *c += x;
            }
            found += 1;
        }
    }
    if found == 0 {
        return Err(ServiceError::invalid(
            "seeds",
            "no_profiled_seed",
            "none of the seeds has a profile embedding (no profile yet, or no profiling consent)",
        ));
    }
    let seed_set: HashSet<&str> = seeds.iter().map(|s| s.as_str()).collect();
    let k = (spec.size.unwrap_or(MAX_AUDIENCE as u64) as usize + seed_set.len()).min(MAX_AUDIENCE);
    let filter = Filter {
        profiling_consent: Some(true),
        ..Filter::default()
    };
    let hits = vectors
        .audience(&centre, k, spec.min_similarity.map(|s| s as f32), &filter)
        .await?;
    let limit = spec.size.map_or(usize::MAX, |s| s as usize);
    Ok(hits
        .into_iter()
        .filter(|h| !seed_set.contains(h.customer_id.as_str()))
        .take(limit)
        .map(|h| (h.customer_id, h.score))
        .collect())
}

/// Calls `visit` with every customer, a page at a time, in id order.
pub async fn for_each_row(store: &dyn Store, mut visit: impl FnMut(&MarketingRow)) -> Result<u64> {
    for_each_page(store, |page| page.iter().for_each(&mut visit)).await
}

/// Calls `visit` with every page of customers' rows, in id order, and returns how many
/// rows there were.
pub async fn for_each_page(
    store: &dyn Store,
    mut visit: impl FnMut(Vec<MarketingRow>),
) -> Result<u64> {
    let mut after: Option<CustomerId> = None;
    let mut seen = 0u64;
    loop {
        let page = store
            .marketing_rows(after.as_ref(), MARKETING_PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer.id.clone());
        seen += page.len() as u64;
        let full = page.len() as u64 == MARKETING_PAGE_MAX;
        visit(page);
        if !full {
            break;
        }
    }
    Ok(seen)
}

/// How large an audience is, with a sample of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Customers the definition selects.
    pub size: u64,
    /// Of those, customers the marketing channel may reach, per channel.
    pub reachable: Reachable,
    /// Customers looked at.
    pub evaluated: u64,
    /// A few customer ids of the audience (the first in id order for rules, the most
    /// similar for lookalikes).
    pub sample: Vec<String>,
    pub elapsed_ms: f64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Reachable {
    pub push: u64,
    pub email: u64,
    pub sms: u64,
    pub in_app: u64,
}

impl Reachable {
    fn add(&mut self, row: &MarketingRow) {
        let m = &row.customer.consents.marketing;
        self.push += u64::from(m.allows(MarketingChannel::Push));
        self.email += u64::from(m.allows(MarketingChannel::Email));
        self.sms += u64::from(m.allows(MarketingChannel::Sms));
        self.in_app += u64::from(m.allows(MarketingChannel::InApp));
    }
}

/// Evaluates a definition over everyone and calls `member` with each customer selected
/// (and, for lookalikes, their similarity).
pub async fn select(
    store: &dyn Store,
    vectors: &dyn VectorStore,
    definition: &Definition,
    today: DateTime<Utc>,
    mut member: impl FnMut(&MarketingRow, Option<f32>),
) -> Result<u64> {
    match definition {
        Definition::Rule(rule) => {
            for_each_row(store, |row| {
                if rule.matches(&CustomerRow::new(row, today)) {
                    member(row, None);
                }
            })
            .await
        }
        Definition::Lookalike(spec) => {
            let hits = lookalike(vectors, spec).await?;
            let similarity: std::collections::HashMap<String, f32> = hits.into_iter().collect();
            for_each_row(store, |row| {
                if let Some(s) = similarity.get(row.customer.id.as_str()) {
                    member(row, Some(*s));
                }
            })
            .await
        }
    }
}

/// Size, reach and a sample of an audience, evaluated over the audience index (every
/// customer's row in memory, current to the last committed write: see
/// [`super::audience_index`]).
pub async fn preview(ctx: &Context, definition: &Definition) -> Result<Preview> {
    let started = std::time::Instant::now();
    let similarity: Option<std::collections::HashMap<String, f32>> = match definition {
        Definition::Rule(_) => None,
        Definition::Lookalike(spec) => Some(
            lookalike(ctx.vectors.as_ref(), spec)
                .await?
                .into_iter()
                .collect(),
        ),
    };
    let today = Utc::now();
    let mut size = 0u64;
    let mut reachable = Reachable::default();
    let mut sample: Vec<(String, f32)> = Vec::new();
    let (evaluated, _) = ctx
        .engines
        .audience_index
        .for_each(ctx.store.as_ref(), |row| {
            let member = match (definition, &similarity) {
                (Definition::Rule(rule), _) => {
                    rule.matches(&CustomerRow::new(row, today)).then_some(0.0)
                }
                (Definition::Lookalike(_), Some(similar)) => {
                    similar.get(row.customer.id.as_str()).copied()
                }
                (Definition::Lookalike(_), None) => None,
            };
            let Some(similarity) = member else { return };
            size += 1;
            reachable.add(row);
            sample.push((row.customer.id.as_str().to_owned(), similarity));
            if sample.len() > 4 * SAMPLE_SIZE {
                keep_best(&mut sample);
            }
        })
        .await?;
    keep_best(&mut sample);
    Ok(Preview {
        size,
        reachable,
        evaluated,
        sample: sample.into_iter().map(|(id, _)| id).collect(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// Keeps the `SAMPLE_SIZE` most similar (for rules, all similarities are equal and the
/// stable sort keeps id order).
fn keep_best(sample: &mut Vec<(String, f32)>) {
    sample.sort_by(|a, b| b.1.total_cmp(&a.1));
    sample.truncate(SAMPLE_SIZE);
}

/// Audience ids: 1..=64 of `a-z 0-9 - _`.
pub fn audience_id(raw: &str) -> Result<String> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ServiceError::invalid(
            "id",
            "invalid_id",
            "1 to 64 characters of a-z, 0-9, - and _",
        ))
    }
}

/// A rule segment (`rule`) or a lookalike (`lookalike`): exactly one of the two.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    /// The version this write creates: 1 for a new audience, else the current version + 1.
    pub version: u32,
    /// Not blank, at most 4096 bytes (the schema counts characters, so its bound is looser
    /// for text beyond ASCII).
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    /// A rule over profile fields, e.g. `age between 25 and 40 and region in ("north")`: not
    /// blank, at most 4096 bytes. Give exactly one of `rule` and `lookalike`, and a rule that
    /// parses in the segment language (neither is expressible in the schema).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub rule: Option<String>,
    /// The customers most like these seeds in embedding space.
    #[serde(default)]
    pub lookalike: Option<LookalikeSpec>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceView {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// `rule` or `lookalike`.
    pub kind: String,
    pub definition: serde_json::Value,
    pub actor: String,
    pub created_at: String,
}

impl From<&StoredAudience> for AudienceView {
    fn from(a: &StoredAudience) -> Self {
        AudienceView {
            id: a.id.clone(),
            version: a.version,
            name: a.name.clone(),
            kind: a.kind.clone(),
            definition: a.definition.clone(),
            actor: a.actor.clone(),
            created_at: format_timestamp(a.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceList {
    pub audiences: Vec<AudienceView>,
}

/// An audience definition to try before saving it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A segment rule to try (not blank, at most 4096 bytes, and it must parse); or
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub rule: Option<String>,
    /// a lookalike to try. Exactly one of the two (a rule the schema cannot state).
    #[serde(default)]
    pub lookalike: Option<LookalikeSpec>,
}

fn exactly_one() -> ServiceError {
    ServiceError::invalid(
        "rule",
        "one_of",
        "give exactly one of `rule` and `lookalike`",
    )
}

impl PreviewRequest {
    /// The definition to evaluate, checked.
    pub fn definition(self) -> Result<Definition> {
        match (self.rule, self.lookalike) {
            (Some(rule), None) => Ok(Definition::Rule(parse_rule("rule", &rule)?)),
            (None, Some(spec)) => {
                spec.check("lookalike.")?;
                Ok(Definition::Lookalike(spec))
            }
            _ => Err(exactly_one()),
        }
    }
}

/// Saves the next version of an audience: a rule segment (checked against the schema, every
/// error with its line and column) or a lookalike of a seed list.
pub async fn put_version(
    ctx: &Context,
    id: String,
    request: &AudienceRequest,
    by: &Actor,
) -> Result<AudienceView> {
    let (kind, definition) = match (&request.rule, &request.lookalike) {
        (Some(rule), None) => {
            let rule = parse_rule("rule", rule)?;
            ("rule", serde_json::json!({ "rule": rule.source() }))
        }
        (None, Some(spec)) => {
            spec.check("lookalike.")?;
            (
                "lookalike",
                serde_json::to_value(spec).map_err(ServiceError::internal)?,
            )
        }
        _ => return Err(exactly_one()),
    };
    let mut problems = Vec::new();
    text_field("name", &request.name, &mut problems);
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let audience = StoredAudience {
        id,
        version: request.version,
        name: request.name.trim().to_owned(),
        kind: kind.to_owned(),
        definition,
        actor: by.id.clone(),
        created_at: Utc::now(),
    };
    ctx.store.put_audience(&audience, by).await?;
    Ok(AudienceView::from(&audience))
}

/// How many customers a stored audience (at a version, or its newest) selects now, how
/// many each channel may reach, and a sample.
pub async fn preview_stored(ctx: &Context, id: &str, version: Option<u32>) -> Result<Preview> {
    let stored = ctx
        .store
        .audience(id, version)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let definition = Definition::from_stored(&stored)?;
    preview(ctx, &definition).await
}
