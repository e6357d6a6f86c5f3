//! (being written)

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub async fn metadata() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
