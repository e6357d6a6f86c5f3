//! Who a node is on the network: its libp2p key is the institution's Ed25519 log key, so a
//! peer id names exactly one key registered on chain; and the consortium's pre-shared key.

use hl_ledger::note::NoteSigner;
use libp2p::PeerId;
use libp2p::identity::{Keypair, PublicKey, ed25519};
use libp2p::pnet::PreSharedKey;
use sha2::{Digest, Sha256};

use super::NetError;

/// Domain separation: the pnet key must never equal, or be usable as, the pseudonym key.
const PNET_DOMAIN: &[u8] = b"healthledger:pnet:v1";

/// The node's libp2p keypair: the same secret as its note signer.
pub fn keypair(signer: &NoteSigner) -> Result<Keypair, NetError> {
    // `ed25519_from_bytes` zeroizes the buffer it is given.
    let mut seed = signer.secret_seed();
    Keypair::ed25519_from_bytes(&mut seed)
        .map_err(|e| NetError::Identity(format!("log key as a libp2p key: {e}")))
}

/// The peer id of the institution whose Ed25519 public key (as registered on chain) is `key`.
pub fn peer_id_of_key(key: &[u8; 32]) -> Result<PeerId, NetError> {
    let public = ed25519::PublicKey::try_from_bytes(key)
        .map_err(|e| NetError::Identity(format!("not an Ed25519 public key: {e}")))?;
    Ok(PublicKey::from(public).to_peer_id())
}

/// The Ed25519 public key a peer id was made from (Ed25519 peer ids embed the key itself).
pub fn key_of_peer(peer: &PeerId) -> Option<[u8; 32]> {
    let digest = multihash_identity_digest(peer)?;
    let public = PublicKey::try_decode_protobuf(digest).ok()?;
    public.try_into_ed25519().ok().map(|k| k.to_bytes())
}

fn multihash_identity_digest(peer: &PeerId) -> Option<&[u8]> {
    let mh = peer.as_ref();
    // 0x00 is the identity multihash: the "digest" is the protobuf-encoded key itself.
    (mh.code() == 0x00).then(|| mh.digest())
}

/// The consortium's network key, derived from the consortium key every member already holds
/// (so joining the network needs no further secret).
pub fn pre_shared_key(consortium_key: &[u8; 32]) -> PreSharedKey {
    let mut h = Sha256::new();
    h.update(PNET_DOMAIN);
    h.update(consortium_key);
    PreSharedKey::new(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_is_the_registered_log_key() {
        let signer = NoteSigner::generate("example.org/log").unwrap();
        let kp = keypair(&signer).unwrap();
        let registered = signer.verifier().key.to_bytes();
        assert_eq!(
            kp.public().to_peer_id(),
            peer_id_of_key(&registered).unwrap()
        );
        assert_eq!(key_of_peer(&kp.public().to_peer_id()), Some(registered));
        let other = NoteSigner::generate("example.org/log").unwrap();
        assert_ne!(
            peer_id_of_key(&other.verifier().key.to_bytes()).unwrap(),
            kp.public().to_peer_id()
        );
    }

    #[test]
    fn psk_is_domain_separated_and_per_consortium() {
        let a = pre_shared_key(&[1; 32]);
        assert!(a == pre_shared_key(&[1; 32]));
        assert!(a != pre_shared_key(&[2; 32]));
        assert!(a != PreSharedKey::new([1; 32]), "the raw consortium key");
    }
}
