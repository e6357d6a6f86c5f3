//! The QC service as the API sees it.
// Placeholder wiring while the QC API is being built in this issue; every call answers 501.

use async_trait::async_trait;
use hl_api::ports::{PortError, PortResult, Qc, QcEvent};
use hl_ledger::pseudonym::Pseudonym;
use tokio::sync::broadcast;

pub struct QcPort {
    events: broadcast::Sender<QcEvent>,
}

impl QcPort {
    pub fn new() -> Self {
        Self {
            events: broadcast::channel(1024).0,
        }
    }
}

impl Default for QcPort {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Qc for QcPort {
    fn rules(&self) -> serde_json::Value {
        serde_json::Value::Array(Vec::new())
    }
    async fn resident(&self, _: &Pseudonym) -> PortResult<serde_json::Value> {
        Err(PortError::NotConfigured("QC API not wired yet".into()))
    }
    async fn summary(&self) -> PortResult<serde_json::Value> {
        Err(PortError::NotConfigured("QC API not wired yet".into()))
    }
    fn subscribe(&self) -> broadcast::Receiver<QcEvent> {
        self.events.subscribe()
    }
}
