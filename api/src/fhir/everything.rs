//! (being written)

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct Doc;
