//! Ledger API: checkpoints, inclusion and consistency proofs, anchors, proof-bundle checks.

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
}
