//! The FHIR R4 facade under `/fhir`. Reads (read, vread, history, search, `$everything`, proof
//! bundles) are in [`read`], [`search`] and [`everything`]; writes (transaction/batch,
//! create, update) in [`write`]; the CapabilityStatement in [`capability`].

pub mod capability;
pub mod consent_view;
pub mod consortium;
pub mod everything;
pub mod meta;
pub mod page;
pub mod params;
pub mod read;
pub mod search;
pub mod write;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::state::AppState;

/// The OpenAPI paths of every FHIR module.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = capability::Doc::openapi();
    doc.merge(read::Doc::openapi());
    doc.merge(search::Doc::openapi());
    doc.merge(everything::Doc::openapi());
    doc.merge(write::Doc::openapi());
    doc
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/metadata", get(capability::metadata))
        .route("/fhir", axum::routing::post(write::bundle))
        .route("/fhir/{type}", get(search::search).post(write::create))
        .route("/fhir/{type}/{id}", get(read::read).put(write::update))
        // `_history` and `$everything` share one route: the router cannot tell a literal
        // segment after a parameter from a parameter.
        .route("/fhir/{type}/{id}/{op}", get(read::instance_op))
        .route("/fhir/{type}/{id}/_history/{vid}", get(read::vread))
}
