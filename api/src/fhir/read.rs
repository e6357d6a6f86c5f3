//! (being written)

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;

pub async fn read() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
pub async fn vread() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
pub async fn instance_op() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "not-supported",
        "not yet",
    )
}
