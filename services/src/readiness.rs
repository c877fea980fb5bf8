//! What a serving process is still preparing, and which of its models are ready: the
//! answer of `GET /v1/status`. Long background work (the demo's import, profiling and
//! training) reports its progress here as it goes, so a caller sees percentages instead of
//! a silent server; routes that need a model not yet trained answer 503 with `Retry-After`
//! meanwhile (`ServiceError::NotReady`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

use crate::{Context, Result};

/// Background work in progress or finished, in the order it started.
#[derive(Default)]
pub struct Readiness {
    steps: Mutex<Vec<StepState>>,
}

struct StepState {
    name: String,
    stage: Option<String>,
    unit: &'static str,
    done: u64,
    total: Option<u64>,
    started: Instant,
    finished: Option<Instant>,
    failed: Option<String>,
}

/// One step of background work, as `GET /v1/status` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub name: String,
    /// Where within the step it is, when it has stages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    /// What `done` and `total` count (`bytes`, `customers`, ...).
    pub unit: &'static str,
    pub done: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// `done` of `total`, when the total is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// Since the step started (to its end when it ended).
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A step's handle: progress, then `finish` or `fail`. Dropped unfinished, it fails.
pub struct Step {
    readiness: Arc<Readiness>,
    index: usize,
}

impl Readiness {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<StepState>> {
        // Every change is a plain assignment: a panic elsewhere cannot leave a step torn.
        self.steps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a step counting `unit`s.
    pub fn start(self: &Arc<Self>, name: &str, unit: &'static str) -> Step {
        let mut steps = self.lock();
        steps.push(StepState {
            name: name.to_owned(),
            stage: None,
            unit,
            done: 0,
            total: None,
            started: Instant::now(),
            finished: None,
            failed: None,
        });
        Step {
            readiness: self.clone(),
            index: steps.len() - 1,
        }
    }

    pub fn steps(&self) -> Vec<StepView> {
        self.lock()
            .iter()
            .map(|s| StepView {
                name: s.name.clone(),
                stage: s.stage.clone(),
                state: match (&s.failed, s.finished) {
                    (Some(_), _) => "failed",
                    (None, Some(_)) => "done",
                    (None, None) => "running",
                },
                unit: s.unit,
                done: s.done,
                total: s.total,
                percent: s
                    .total
                    .filter(|&t| t > 0)
                    .map(|t| (100.0 * s.done as f64 / t as f64).min(100.0)),
                seconds: s
                    .finished
                    .unwrap_or_else(Instant::now)
                    .duration_since(s.started)
                    .as_secs_f64(),
                error: s.failed.clone(),
            })
            .collect()
    }

    /// Whether no step is running.
    pub fn idle(&self) -> bool {
        self.lock().iter().all(|s| s.finished.is_some())
    }
}

impl Step {
    fn with(&self, f: impl FnOnce(&mut StepState)) {
        if let Some(s) = self.readiness.lock().get_mut(self.index) {
            f(s);
        }
    }

    /// `done` of `total` (`None`: not known yet).
    pub fn progress(&self, done: u64, total: Option<u64>) {
        self.with(|s| {
            s.done = done;
            s.total = total.or(s.total);
        });
    }

    /// `done` of `total` within a named stage of the step.
    pub fn stage_progress(&self, stage: &str, done: u64, total: Option<u64>) {
        self.with(|s| {
            if s.stage.as_deref() != Some(stage) {
                s.stage = Some(stage.to_owned());
                s.total = None;
            }
            s.done = done;
            s.total = total.or(s.total);
        });
    }

    pub fn finish(self) {
        self.with(|s| {
            s.total = s.total.or(Some(s.done));
            s.finished = Some(Instant::now());
        });
    }

    pub fn fail(self, error: impl std::fmt::Display) {
        let error = error.to_string();
        self.with(|s| {
            s.failed = Some(error);
            s.finished = Some(Instant::now());
        });
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.with(|s| {
            if s.finished.is_none() {
                s.failed = Some("stopped before it finished".into());
                s.finished = Some(Instant::now());
            }
        });
    }
}

/// One model the service serves with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelReadiness {
    /// `embedding`, `credit`, `offers` or `monitoring`.
    pub model: &'static str,
    pub ready: bool,
    /// What answers 503 until it is.
    pub needed_by: &'static str,
}

/// The read model the hot paths serve from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadModelView {
    pub customers: usize,
    /// Whether it has been built from the whole database since the process started.
    pub built: bool,
    /// Customers dropped after a change, waiting to be read back in the background.
    pub refill_pending: usize,
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// Every model trained and no background work running.
    pub ready: bool,
    pub models: Vec<ModelReadiness>,
    pub read_model: ReadModelView,
    pub work: Vec<StepView>,
}

/// Which models are ready and what is still being prepared.
pub async fn status(ctx: &Context) -> Result<StatusView> {
    let monitoring = ctx.store.monitoring_stamp().await?.model_activation;
    let models = vec![
        ModelReadiness {
            model: "embedding",
            ready: ctx.pipeline.model().is_some(),
            needed_by: "similar customers, lookalike audiences, segments",
        },
        ModelReadiness {
            model: "credit",
            ready: ctx.lender().await.is_ok(),
            needed_by: "instalment quotes, loan applications",
        },
        ModelReadiness {
            model: "offers",
            ready: ctx.offers().await.is_ok(),
            needed_by: "offers, campaign launches",
        },
        ModelReadiness {
            model: "monitoring",
            ready: monitoring.is_some(),
            needed_by:
                "nothing: payments are assessed by the rules and typologies alone until it is",
        },
    ];
    let read_model = ctx.read_model().status();
    let work = ctx.readiness().steps();
    Ok(StatusView {
        ready: models.iter().all(|m| m.ready) && ctx.readiness().idle(),
        models,
        read_model: ReadModelView {
            customers: read_model.customers,
            built: read_model.built,
            refill_pending: read_model.refill_pending,
        },
        work,
    })
}
