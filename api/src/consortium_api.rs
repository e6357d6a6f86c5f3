//! `GET /v1/consortium`: the consortium network as this node sees it — connected members,
//! their latest verified checkpoints, split views and refused announcements — so that a split
//! view is visible to the people who must act on it, not only in a log line.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::ApiResult;
use crate::ports::ConsortiumStatus;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(status), components(schemas(ConsortiumStatus)))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/consortium", get(status))
}

/// The consortium network: peers, members' checkpoints, split views, refusals, reported
/// members; `enabled: false` on a node that is not in one.
#[utoipa::path(get, path = "/v1/consortium", tag = "consortium", security(("bearer" = [])),
    responses(
        (status = 200, description = "Status of the consortium network", body = ConsortiumStatus),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
    ))]
async fn status(
    State(state): State<AppState>,
    access: Access,
) -> ApiResult<Json<ConsortiumStatus>> {
    access.allow(Op::Consortium)?;
    // A node outside a consortium answers that it is outside (enabled: false), not an error:
    // "is this node in the network" is the first thing an operator asks.
    Ok(Json(
        state
            .consortium
            .as_ref()
            .map_or_else(ConsortiumStatus::default, |c| c.status()),
    ))
}
