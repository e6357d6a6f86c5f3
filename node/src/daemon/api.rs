//! The HTTP API task: binds `api.listen`, serves until the node stops, then lets requests in
//! flight finish (their writes are acknowledged only once durable, so none is lost).

use std::sync::Arc;

use anyhow::{Context, Result};
use hl_api::AppState;
use tokio::sync::watch;

/// Binds the listener now, so a taken port fails the start rather than a background task.
pub async fn bind(listen: &str) -> Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the API on api.listen = '{listen}'"))?;
    let addr = listener.local_addr().context("API listener address")?;
    Ok((listener, format!("http://{addr}")))
}

pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    hl_api::serve(listener, state, shutdown)
        .await
        .context("serving the API")
}

/// The API's state over the node's log, chain and QC.
pub fn state(
    node: &crate::config::Node,
    ledger: Arc<hl_ledger::Ledger>,
    base_url: String,
    chain: Arc<dyn hl_api::ports::Chain>,
    qc: Arc<dyn hl_api::ports::Qc>,
    consortium: Option<Arc<dyn hl_api::ports::Consortium>>,
) -> Result<AppState> {
    Ok(AppState::new(
        ledger,
        node.input_options()?,
        node.config.api.clone(),
        node.config.api.base_url.clone().unwrap_or(base_url),
        node.config.institution.name.clone(),
        hl_api::state::Ports {
            chain,
            qc,
            consortium,
        },
    ))
}
