//! QC API: rules, per-resident findings and score, institution summary, event stream (SSE).

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
}
