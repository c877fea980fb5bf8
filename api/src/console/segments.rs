//! The segments explorer: each segment with its description and size, and a 2-D map of
//! the customers' embeddings (their first two principal components, computed by the
//! service on a sample) coloured by segment.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::html;
use sextant_services::segments::{current_map, MAP_MAX_AGE};

use super::charts::{self, Point};
use super::layout::{self, grouped, notice, pct};
use super::session::{Rendered, Staff};
use crate::auth::Role;
use crate::AppState;

const READERS: &[Role] = &[Role::Marketer, Role::Compliance, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/segments", get(segments_page))
}

async fn segments_page(State(state): State<AppState>, staff: Staff) -> Rendered {
    staff.require(READERS)?;
    let segments = state.ctx.pipeline.segments();
    let map = current_map(&state.ctx).await?;
    let names: Vec<String> = segments
        .iter()
        .map(|s| format!("{}: {}", s.id, s.name))
        .collect();
    let group = |segment: Option<u32>| {
        segment
            .and_then(|id| segments.iter().position(|s| s.id == id))
            .unwrap_or(segments.len())
    };
    let points: Vec<Point> = map
        .points
        .iter()
        .map(|p| Point {
            x: p.x,
            y: p.y,
            group: group(p.segment),
            tip: format!(
                "{} · segment {}",
                p.customer_id,
                p.segment.map_or("none".into(), |s| s.to_string())
            ),
        })
        .collect();
    let total: u64 = segments.iter().map(|s| s.size).sum();
    Ok(layout::page(
        &staff,
        "segments",
        "Segments",
        html! {
            @if segments.is_empty() { (notice("No segments yet: they are found when the embedding model is trained (sextant profile).")) } @else {
                table {
                    thead { tr { th scope="col" class="num" { "Segment" } th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" class="num" { "Customers" } th scope="col" class="num" { "Share" } } }
                    tbody { @for s in segments.iter() { tr {
                        td class="num" { (s.id) } td { (s.name) } td { (s.description) }
                        td class="num" { (grouped(s.size)) }
                        td class="num" { (pct(s.size as f64 / total.max(1) as f64, 1)) }
                    } } }
                }
            }
            h2 { "Map of the embeddings" }
            p { (grouped(map.points.len() as u64)) " customers spread over the population, projected from " (map.dimensions) " embedding dimensions onto the two directions of widest spread (principal components: "
                (pct(map.explained_variance[0], 1)) " and " (pct(map.explained_variance[1], 1)) " of the variance). Customers close together behave alike. Computed at " (map.computed_at.format("%H:%M UTC")) "; recomputed when older than " (MAP_MAX_AGE.num_minutes()) " minutes." }
            @if points.is_empty() { (notice("No embedding yet.")) } @else {
                (charts::scatter("Customers' embeddings on their first two principal components, coloured by segment", "first principal component", "second principal component", &points, &names))
            }
        },
    ))
}
