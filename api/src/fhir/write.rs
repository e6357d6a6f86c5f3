//! (being written)

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub async fn bundle() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
pub async fn create() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
pub async fn update() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
