//! The consortium on top of the network (`crate::net`): checkpoint and locator gossip
//! ([`checkpoints`], [`locators`], run by [`gossip`]) and consent-gated record fetch with verification
//! ([`fetch`]), and the consortium view of a resident the API serves ([`view`]).

pub mod checkpoints;
pub mod fetch;
pub mod gossip;
pub mod locators;
pub mod view;
