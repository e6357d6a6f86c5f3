//! The FHIR R4 facade under `/fhir`.

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
}
