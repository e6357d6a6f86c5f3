//! The Merkle functions against a naive transcription of RFC 9162 §2.1 over slices.

use hl_ledger::merkle::{self, Hash, ProofError};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---- reference: the RFC's recursive definitions, written as plainly as possible ----

// Leaves enter as their RFC 9162 leaf hashes, SHA-256(0x00 || d), computed in `leaves` below.
fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => d[0],
        n => {
            let k = ref_split(n);
            let mut v = [1u8; 65];
            v[1..33].copy_from_slice(&ref_mth(&d[..k]));
            v[33..].copy_from_slice(&ref_mth(&d[k..]));
            Sha256::digest(v).into()
        }
    }
}

fn ref_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = ref_split(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = ref_split(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn data(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn leaves(d: &[Vec<u8>]) -> Vec<Hash> {
    d.iter()
        .map(|x| {
            let mut v = vec![0u8];
            v.extend_from_slice(x);
            let h: Hash = Sha256::digest(&v).into();
            assert_eq!(h, merkle::leaf_hash(x));
            h
        })
        .collect()
}

fn flip(h: &mut Hash, bit: usize) {
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
}

// ---- exhaustive over small trees ----

#[test]
fn rfc_6962_test_vectors() {
    // Roots of the classic CT test vectors (certificate-transparency-go merkletree tests).
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        vec![
            0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
            0x6e, 0x6f,
        ],
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let hashes = leaves(&inputs);
    for (i, want) in roots.iter().enumerate() {
        assert_eq!(
            hex::encode(merkle::root(&hashes[..=i])),
            *want,
            "size {}",
            i + 1
        );
    }
    assert_eq!(
        hex::encode(merkle::root(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn root_and_inclusion_match_reference_for_every_index_up_to_300() {
    let d = data(300);
    let all = leaves(&d);
    for n in 1..=300usize {
        let l = &all[..n];
        let root = merkle::root(l);
        assert_eq!(root, ref_mth(&all[..n]), "root of size {n}");
        for m in 0..n {
            let proof = merkle::inclusion_proof(l, m as u64).expect("in range");
            assert_eq!(proof, ref_path(m, &all[..n]), "path {m} of {n}");
            assert_eq!(proof.len(), merkle::inclusion_proof_len(m as u64, n as u64));
            merkle::verify_inclusion(m as u64, n as u64, &l[m], &proof, &root)
                .unwrap_or_else(|e| panic!("verify {m} of {n}: {e}"));
        }
        assert_eq!(
            merkle::inclusion_proof(l, n as u64),
            Err(ProofError::IndexOutOfRange {
                index: n as u64,
                size: n as u64
            })
        );
    }
}

#[test]
fn consistency_matches_reference_for_every_pair_up_to_130() {
    let d = data(130);
    let all = leaves(&d);
    let roots: Vec<Hash> = (0..=130).map(|n| merkle::root(&all[..n])).collect();
    for n in 1..=130usize {
        for m in 1..=n {
            let proof = merkle::consistency_proof(&all[..n], m as u64).expect("valid sizes");
            let want = if m == n {
                vec![]
            } else {
                ref_subproof(m, &all[..n], true)
            };
            assert_eq!(proof, want, "consistency {m} -> {n}");
            merkle::verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof)
                .unwrap_or_else(|e| panic!("verify {m} -> {n}: {e}"));
            // The old root of a different size never verifies with this proof.
            if m > 1 {
                assert!(
                    merkle::verify_consistency(
                        m as u64,
                        n as u64,
                        &roots[m - 1],
                        &roots[n],
                        &proof
                    )
                    .is_err()
                );
            }
        }
    }
}

#[test]
fn verifiers_reject_degenerate_arguments() {
    let all = leaves(&data(10));
    let root = merkle::root(&all);
    let proof = merkle::inclusion_proof(&all, 3).expect("in range");
    assert_eq!(
        merkle::verify_inclusion(10, 10, &all[3], &proof, &root),
        Err(ProofError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    assert!(matches!(
        merkle::verify_inclusion(3, 10, &all[3], &proof[..proof.len() - 1], &root),
        Err(ProofError::WrongLength { .. })
    ));
    let mut longer = proof.clone();
    longer.push([0; 32]);
    assert!(matches!(
        merkle::verify_inclusion(3, 10, &all[3], &longer, &root),
        Err(ProofError::WrongLength { .. })
    ));
    assert_eq!(
        merkle::verify_consistency(0, 10, &root, &root, &[]),
        Err(ProofError::OldSizeZero)
    );
    assert_eq!(
        merkle::consistency_proof(&all, 0),
        Err(ProofError::OldSizeZero)
    );
    assert!(matches!(
        merkle::verify_consistency(11, 10, &root, &root, &[]),
        Err(ProofError::OldSizeLarger { .. })
    ));
    let other = merkle::root(&all[..9]);
    assert_eq!(
        merkle::verify_consistency(10, 10, &other, &root, &[]),
        Err(ProofError::EqualSizeMismatch)
    );
    assert!(merkle::verify_consistency(10, 10, &root, &root, &[]).is_ok());
}

// ---- random mutations ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_flipped_bit_breaks_an_inclusion_proof(n in 1usize..=300, m_seed: usize, which: usize, bit in 0usize..256) {
        let all = leaves(&data(n));
        let m = m_seed % n;
        let root = merkle::root(&all);
        let proof = merkle::inclusion_proof(&all, m as u64).expect("in range");
        // Flip a bit in the proof, the leaf or the root: each must fail.
        let slots = proof.len() + 2;
        let (mut p, mut leaf, mut r) = (proof.clone(), all[m], root);
        match which % slots {
            0 => flip(&mut leaf, bit),
            1 => flip(&mut r, bit),
            i => flip(&mut p[i - 2], bit),
        }
        prop_assert!(merkle::verify_inclusion(m as u64, n as u64, &leaf, &p, &r).is_err());
        // The right proof for another index does not verify this leaf.
        if n > 1 {
            let other = (m + 1) % n;
            let wrong = merkle::verify_inclusion(other as u64, n as u64, &all[m], &proof, &root);
            prop_assert!(wrong.is_err());
        }
    }

    #[test]
    fn any_flipped_bit_breaks_a_consistency_proof(n in 2usize..=300, m_seed: usize, which: usize, bit in 0usize..256) {
        let all = leaves(&data(n));
        let m = 1 + m_seed % (n - 1); // 1..n, strictly smaller
        let (old, new) = (merkle::root(&all[..m]), merkle::root(&all));
        let proof = merkle::consistency_proof(&all, m as u64).expect("valid sizes");
        prop_assert!(merkle::verify_consistency(m as u64, n as u64, &old, &new, &proof).is_ok());
        let slots = proof.len() + 2;
        let (mut p, mut o, mut w) = (proof.clone(), old, new);
        match which % slots {
            0 => flip(&mut o, bit),
            1 => flip(&mut w, bit),
            i => flip(&mut p[i - 2], bit),
        }
        prop_assert!(merkle::verify_consistency(m as u64, n as u64, &o, &w, &p).is_err());
        // Dropping or adding a hash is a length error, never a pass.
        if !proof.is_empty() {
            prop_assert!(merkle::verify_consistency(m as u64, n as u64, &old, &new, &proof[1..]).is_err());
        }
        let mut extra = proof.clone();
        extra.push(new);
        prop_assert!(merkle::verify_consistency(m as u64, n as u64, &old, &new, &extra).is_err());
    }

    #[test]
    fn a_rewritten_history_is_never_consistent(n in 2usize..=200, m_seed: usize, changed_seed: usize) {
        let d = data(n);
        let all = leaves(&d);
        let m = 1 + m_seed % (n - 1);
        let old_root = merkle::root(&all[..m]);
        // Rewrite one leaf inside the old range, then prove from the old root.
        let mut forged = all.clone();
        forged[changed_seed % m][0] ^= 0xff;
        let proof = merkle::consistency_proof(&forged, m as u64).expect("valid sizes");
        let forged_root = merkle::root(&forged);
        prop_assert!(merkle::verify_consistency(m as u64, n as u64, &old_root, &forged_root, &proof).is_err());
    }
}
