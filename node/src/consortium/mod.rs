//! The consortium on top of the network (`crate::net`): checkpoint and locator gossip
//! ([`checkpoints`], [`locators`]) and consent-gated record fetch with verification
//! ([`fetch`]).

pub mod checkpoints;
pub mod fetch;
pub mod locators;
