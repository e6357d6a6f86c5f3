// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MerkleTree — RFC 9162 §2.1 Merkle trees for tests
/// @notice Computes tree heads (MTH) and SUBPROOF consistency proofs (RFC 9162 §2.1.4.1) by the
/// RFC's recursive definitions, deliberately written independently of the contract's iterative
/// verifier so that one checks the other.
/// @dev Two kinds of trees:
///  - explicit: the leaf hashes are given (`fromData` / `fromLeaves`);
///  - uniform: every leaf is the same, so a subtree's hash depends only on its size and trees of
///    millions of leaves cost O(log² n) hashes. Used only to measure gas for realistic sizes:
///    the verifier's work depends on the two sizes, not on the hash values.
library MerkleTree {
    struct Tree {
        bool uniform;
        bytes32[] leaves; // explicit trees
        bytes32[] perfect; // uniform trees: perfect[k] = hash of a complete subtree of 2^k leaves
    }

    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @notice An explicit tree over `data` (one leaf per item).
    function fromData(bytes[] memory data) internal pure returns (Tree memory t) {
        t.leaves = new bytes32[](data.length);
        for (uint256 i; i < data.length; ++i) {
            t.leaves[i] = leafHash(data[i]);
        }
    }

    /// @notice An explicit tree over the given leaf hashes.
    function fromLeaves(bytes32[] memory leaves) internal pure returns (Tree memory t) {
        t.leaves = leaves;
    }

    /// @notice An explicit tree of `n` synthetic leaves: leaf i has data `abi.encode(seed, i)`.
    function synthetic(uint256 seed, uint256 n) internal pure returns (Tree memory t) {
        t.leaves = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            t.leaves[i] = leafHash(abi.encode(seed, i));
        }
    }

    /// @notice A uniform tree (every leaf has data `data`) of any size up to 2^63.
    function uniform(bytes memory data) internal pure returns (Tree memory t) {
        t.uniform = true;
        t.perfect = new bytes32[](64);
        t.perfect[0] = leafHash(data);
        for (uint256 k = 1; k < 64; ++k) {
            t.perfect[k] = nodeHash(t.perfect[k - 1], t.perfect[k - 1]);
        }
    }

    /// @notice The largest power of two strictly smaller than `n` (n ≥ 2).
    function splitPoint(uint256 n) internal pure returns (uint256 k) {
        require(n >= 2, "splitPoint: n < 2");
        k = 1;
        while (k << 1 < n) k <<= 1;
    }

    /// @notice MTH(D[lo:hi]) for 0 ≤ lo < hi.
    function subtreeRoot(Tree memory t, uint256 lo, uint256 hi) internal pure returns (bytes32) {
        require(lo < hi, "subtreeRoot: empty range");
        uint256 n = hi - lo;
        if (t.uniform) {
            if (n & (n - 1) == 0) return t.perfect[_log2(n)];
        } else {
            require(hi <= t.leaves.length, "subtreeRoot: past the last leaf");
            if (n == 1) return t.leaves[lo];
        }
        uint256 k = splitPoint(n);
        return nodeHash(subtreeRoot(t, lo, lo + k), subtreeRoot(t, lo + k, hi));
    }

    /// @notice The root of the first `size` leaves (size ≥ 1).
    function root(Tree memory t, uint256 size) internal pure returns (bytes32) {
        return subtreeRoot(t, 0, size);
    }

    /// @notice PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), for 1 ≤ m ≤ n.
    function consistencyProof(Tree memory t, uint256 m, uint256 n) internal pure returns (bytes32[] memory proof) {
        require(m >= 1 && m <= n, "consistencyProof: need 1 <= m <= n");
        proof = new bytes32[](130);
        uint256 len = _subproof(t, m, 0, n, true, proof, 0);
        assembly ("memory-safe") {
            mstore(proof, len)
        }
    }

    /// @dev SUBPROOF(m, D[lo:hi], complete), appended to `out` at `len`; returns the new length.
    function _subproof(
        Tree memory t,
        uint256 m,
        uint256 lo,
        uint256 hi,
        bool complete,
        bytes32[] memory out,
        uint256 len
    ) private pure returns (uint256) {
        uint256 n = hi - lo;
        if (m == n) {
            if (!complete) out[len++] = subtreeRoot(t, lo, hi);
            return len;
        }
        uint256 k = splitPoint(n);
        if (m <= k) {
            len = _subproof(t, m, lo, lo + k, complete, out, len);
            out[len++] = subtreeRoot(t, lo + k, hi);
        } else {
            len = _subproof(t, m - k, lo + k, hi, false, out, len);
            out[len++] = subtreeRoot(t, lo, lo + k);
        }
        return len;
    }

    function _log2(uint256 powerOfTwo) private pure returns (uint256 k) {
        while (powerOfTwo > 1) {
            powerOfTwo >>= 1;
            ++k;
        }
    }
}
