//! Consent: relay residents' EIP-712 grants and revocations to the contract, list consents, bind wallets.

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
}
