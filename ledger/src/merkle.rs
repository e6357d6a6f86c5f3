//! RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs, with SHA-256.
//!
//! The slice functions (`root`, `inclusion_proof`, `consistency_proof`) are the reference face
//! that regulators' tools call. The durable store answers the same proofs through
//! [`NodeSource`] from stored complete-subtree hashes, so a proof for a log of millions of
//! leaves costs O(log n) reads and never rehashes leaves.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size must be at least 1, got 0")]
    OldSizeZero,
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeLarger { old_size: u64, new_size: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("proof for equal tree sizes must be empty and the roots equal")]
    EqualSizeMismatch,
    #[error("computed root does not match the expected root")]
    RootMismatch,
}

/// Errors from a [`NodeSource`]-backed computation: either the source failed or the request was
/// outside the tree.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("reading tree nodes: {0}")]
    Source(#[source] E),
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Gives the hash of any complete, aligned subtree: level `l`, index `i` covers leaves
/// `[i·2^l, (i+1)·2^l)`. Only ever asked for subtrees that lie inside the tree it answers for.
pub trait NodeSource {
    type Error: std::error::Error + 'static;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Hash of leaves `[start, start+size)`: one read when the range is a complete aligned subtree,
/// otherwise a left complete subtree plus the recursion down the right edge (O(log n) reads).
pub fn subtree_hash<S: NodeSource>(src: &S, start: u64, size: u64) -> Result<Hash, S::Error> {
    debug_assert!(size >= 1);
    if size.is_power_of_two() && start.is_multiple_of(size) {
        return src.node(size.trailing_zeros() as u8, start / size);
    }
    let k = split_point(size);
    let left = subtree_hash(src, start, k)?;
    let right = subtree_hash(src, start + k, size - k)?;
    Ok(node_hash(&left, &right))
}

/// Root of a tree of `size` leaves read from `src`.
pub fn root_from<S: NodeSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_hash(src, 0, size)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[start:start+size]), hashes ordered leaf to root.
fn path<S: NodeSource>(
    src: &S,
    m: u64,
    start: u64,
    size: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if size <= 1 {
        return Ok(());
    }
    let k = split_point(size);
    if m < k {
        path(src, m, start, k, out)?;
        out.push(subtree_hash(src, start + k, size - k)?);
    } else {
        path(src, m - k, start + k, size - k, out)?;
        out.push(subtree_hash(src, start, k)?);
    }
    Ok(())
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves read from `src`.
pub fn inclusion_proof_from<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut out = Vec::with_capacity(64 - size.leading_zeros() as usize);
    path(src, index, 0, size, &mut out).map_err(TreeError::Source)?;
    Ok(out)
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:start+size], b).
fn subproof<S: NodeSource>(
    src: &S,
    m: u64,
    start: u64,
    size: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == size {
        if !whole {
            out.push(subtree_hash(src, start, size)?);
        }
        return Ok(());
    }
    let k = split_point(size);
    if m <= k {
        subproof(src, m, start, k, whole, out)?;
        out.push(subtree_hash(src, start + k, size - k)?);
    } else {
        subproof(src, m - k, start + k, size - k, false, out)?;
        out.push(subtree_hash(src, start, k)?);
    }
    Ok(())
}

/// Consistency proof between the trees of `old_size` and `new_size` leaves read from `src`.
pub fn consistency_proof_from<S: NodeSource>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if old_size == 0 {
        return Err(ProofError::OldSizeZero.into());
    }
    if old_size > new_size {
        return Err(ProofError::OldSizeLarger { old_size, new_size }.into());
    }
    let mut out = Vec::new();
    if old_size < new_size {
        subproof(src, old_size, 0, new_size, true, &mut out).map_err(TreeError::Source)?;
    }
    Ok(out)
}

/// A [`NodeSource`] over an in-memory slice of leaf hashes; complete subtrees are hashed on
/// demand, so proofs from it cost O(n). For tools and tests, not for the store.
pub struct SliceSource<'a>(pub &'a [Hash]);

impl NodeSource for SliceSource<'_> {
    type Error = std::convert::Infallible;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let width = 1usize << level;
        let start = index as usize * width;
        Ok(complete_root(&self.0[start..start + width]))
    }
}

fn complete_root(leaves: &[Hash]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let (l, r) = leaves.split_at(leaves.len() / 2);
    node_hash(&complete_root(l), &complete_root(r))
}

fn infallible<T>(r: Result<T, TreeError<std::convert::Infallible>>) -> Result<T, ProofError> {
    r.map_err(|e| match e {
        TreeError::Proof(p) => p,
        TreeError::Source(never) => match never {},
    })
}

/// Root of the tree whose leaf hashes are `leaves` (the empty root for no leaves).
pub fn root(leaves: &[Hash]) -> Hash {
    match root_from(&SliceSource(leaves), leaves.len() as u64) {
        Ok(h) => h,
        Err(never) => match never {},
    }
}

/// Inclusion proof (audit path) of `leaves[index]`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    infallible(inclusion_proof_from(
        &SliceSource(leaves),
        index,
        leaves.len() as u64,
    ))
}

/// Consistency proof from the tree of the first `old_size` leaves to the tree of all `leaves`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    infallible(consistency_proof_from(
        &SliceSource(leaves),
        old_size,
        leaves.len() as u64,
    ))
}

/// Root implied by an inclusion proof (RFC 9162 §2.1.3.2), or why the proof is malformed.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // A proof of the right length always ends with snode == 0; kept as a guard.
    if snode != 0 {
        return Err(ProofError::RootMismatch);
    }
    Ok(r)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf_hash, proof)?;
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size` (index < size).
pub fn inclusion_proof_len(mut index: u64, mut size: u64) -> usize {
    let mut len = 0;
    while size > 1 {
        let k = split_point(size);
        if index < k {
            size = k;
        } else {
            index -= k;
            size -= k;
        }
        len += 1;
    }
    len
}

/// Number of hashes in a consistency proof between `old_size` and `new_size` (0 < old ≤ new).
pub fn consistency_proof_len(mut old_size: u64, mut new_size: u64) -> usize {
    let mut len = 0;
    let mut whole = true;
    while old_size != new_size {
        let k = split_point(new_size);
        if old_size <= k {
            new_size = k;
        } else {
            old_size -= k;
            new_size -= k;
            whole = false;
        }
        len += 1;
    }
    len + usize::from(!whole)
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 {
        return Err(ProofError::OldSizeZero);
    }
    if old_size > new_size {
        return Err(ProofError::OldSizeLarger { old_size, new_size });
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::EqualSizeMismatch)
        };
    }
    // RFC 9162 §2.1.4.2: when the old size is a power of two the old root starts the path.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        *old_root
    } else {
        match path.next() {
            Some(h) => *h,
            None => return Err(ProofError::RootMismatch),
        }
    };
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if snode == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The right edge of a growing tree: the roots of the complete subtrees that make up a tree of
/// `size` leaves, one per set bit of `size`. Appending a leaf yields every complete subtree it
/// completes, which is what an append-only store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // levels[l] is the root of the complete subtree of 2^l leaves iff bit l of size is set.
    levels: Vec<Hash>,
}

impl Frontier {
    pub fn empty() -> Self {
        Self {
            size: 0,
            levels: vec![[0; 32]; 64],
        }
    }

    /// Rebuilds the frontier of a tree of `size` leaves from `src` (one read per set bit).
    pub fn load<S: NodeSource>(src: &S, size: u64) -> Result<Self, S::Error> {
        let mut f = Self::empty();
        f.size = size;
        for level in 0..64u8 {
            if size >> level & 1 == 1 {
                f.levels[level as usize] = src.node(level, (size >> level) - 1)?;
            }
        }
        Ok(f)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and calls `new_node(level, index, hash)` for the leaf and for every
    /// complete subtree it completes, bottom up.
    pub fn push(&mut self, leaf: Hash, mut new_node: impl FnMut(u8, u64, &Hash)) {
        let mut cur = leaf;
        let mut index = self.size;
        let mut level = 0u8;
        new_node(0, index, &cur);
        while index & 1 == 1 {
            cur = node_hash(&self.levels[level as usize], &cur);
            // Unset levels stay zero so that equal trees compare equal.
            self.levels[level as usize] = [0; 32];
            level += 1;
            index >>= 1;
            new_node(level, index, &cur);
        }
        self.levels[level as usize] = cur;
        self.size += 1;
    }

    /// The root of the tree: the frontier's subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for level in 0..64 {
            if self.size >> level & 1 == 1 {
                let left = &self.levels[level];
                acc = Some(match acc {
                    None => *left,
                    Some(right) => node_hash(left, &right),
                });
            }
        }
        acc.unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod frontier_tests {
    use super::*;
    use std::collections::HashMap;

    struct MapSource(HashMap<(u8, u64), Hash>);
    impl NodeSource for MapSource {
        type Error = std::convert::Infallible;
        fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
            Ok(self.0[&(level, index)])
        }
    }

    #[test]
    fn frontier_matches_root_and_writes_every_complete_subtree() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::empty();
        let mut nodes = HashMap::new();
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l, |lv, ix, h| {
                assert!(nodes.insert((lv, ix), *h).is_none(), "node written twice");
            });
            let n = i as u64 + 1;
            assert_eq!(f.root(), root(&leaves[..=i]));
            let src = MapSource(nodes.clone());
            assert_eq!(Frontier::load(&src, n).expect("load"), f);
            assert_eq!(root_from(&src, n).expect("root"), f.root());
            let proof = inclusion_proof_from(&src, i as u64 / 2, n).expect("proof");
            assert_eq!(
                proof,
                inclusion_proof(&leaves[..=i], i as u64 / 2).expect("ref")
            );
        }
        // 300 leaves make 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 complete subtrees.
        assert_eq!(nodes.len(), 596);
    }
}
