// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ConsistencyProof — RFC 9162 Merkle tree consistency proofs, checked with SHA-256
/// @author HealthLedger
/// @notice Verifies that a tree of `size2` leaves extends a tree of `size1` leaves (RFC 9162
/// §2.1.4), so that an anchored log head can only be followed by one that keeps every earlier
/// leaf.
/// @dev Hashing is RFC 9162 §2.1.1 with SHA-256 (`node = SHA-256(0x01 || left || right)`),
/// computed with the SHA-256 precompile at address 0x02. Internal functions only: the code is
/// compiled into the calling contract, so there is no library to deploy or link.
library ConsistencyProof {
    /// @notice The consistency proof has the wrong number of hashes for the two sizes.
    error InvalidProofLength(uint256 expected, uint256 actual);
    /// @notice The consistency proof does not connect the latest anchored head to the new one.
    error InconsistentProof();
    /// @notice The SHA-256 precompile call failed (out of gas).
    error Sha256Failed();

    /// @dev Verifies an RFC 9162 §2.1.4.2 consistency proof from a tree of `size1` leaves with
    /// root `root1` to a tree of `size2` leaves with root `root2`, for 1 ≤ size1 < size2 < 2^64,
    /// and reverts with `InvalidProofLength` or `InconsistentProof` if it does not hold.
    ///
    /// This is the RFC's algorithm rearranged so that the expected proof length is known up
    /// front (as in the transparency-dev Go verifier): the proof is the seed (the root of the
    /// largest complete subtree ending at leaf `size1 - 1`, left out when that subtree is the
    /// whole old tree) followed by the `inner` hashes of the audit path from that subtree up to
    /// where the old and new trees' paths split, then `border` hashes of the old tree's left
    /// border above it. Walking the path from the seed rebuilds both roots: a set bit of
    /// `(size1 - 1) >> shift` means the proof hash is a left sibling (part of both trees), a
    /// clear bit means a right sibling present only in the new tree.
    function verify(uint256 size1, uint256 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        internal
        view
    {
        unchecked {
            uint256 index = size1 - 1;
            uint256 shift = _bitLength(size1 & (0 - size1)) - 1; // trailing zeros of size1
            uint256 start = size1 == (1 << shift) ? 0 : 1; // the seed is the old root itself
            uint256 innerEnd;
            {
                uint256 inner = _bitLength(index ^ (size2 - 1)) - shift; // > 0 as size2 > size1
                innerEnd = start + inner;
                uint256 expected = innerEnd + _popCount(index >> (inner + shift));
                if (proof.length != expected) revert InvalidProofLength(expected, proof.length);
            }
            bytes32 seed = start == 0 ? root1 : proof[0];
            (bytes32 hash1, bytes32 hash2) = _chainProof(proof, start, innerEnd, seed, index >> shift);
            if (hash1 != root1 || hash2 != root2) revert InconsistentProof();
        }
    }

    /// @dev Walks `proof[start:]` from `seed` and returns the old and new tree roots it implies:
    /// `proof[start:innerEnd]` is the audit path, where bit i of `mask` set means a left sibling
    /// (in both trees) and clear means a right sibling (new tree only); the rest is the old
    /// tree's left border (left siblings of both). Node hashes `SHA-256(0x01 || left || right)`
    /// use the SHA-256 precompile in scratch memory past the free-memory pointer (nothing is
    /// allocated; the result lands in scratch slot 0x00).
    function _chainProof(bytes32[] calldata proof, uint256 start, uint256 innerEnd, bytes32 seed, uint256 mask)
        private
        view
        returns (bytes32 hash1, bytes32 hash2)
    {
        bool ok = true;
        assembly ("memory-safe") {
            hash1 := seed
            hash2 := seed
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            let p := add(proof.offset, shl(5, start))
            innerEnd := add(proof.offset, shl(5, innerEnd))
            for {} lt(p, innerEnd) { p := add(p, 0x20) } {
                switch and(mask, 1)
                case 0 {
                    mstore(add(buf, 0x01), hash2)
                    mstore(add(buf, 0x21), calldataload(p))
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                default {
                    mstore(add(buf, 0x01), calldataload(p))
                    mstore(add(buf, 0x21), hash1)
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash1 := mload(0x00)
                    mstore(add(buf, 0x21), hash2)
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                mask := shr(1, mask)
            }
            let end := add(proof.offset, shl(5, proof.length))
            for {} lt(p, end) { p := add(p, 0x20) } {
                mstore(add(buf, 0x01), calldataload(p))
                mstore(add(buf, 0x21), hash1)
                ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                hash1 := mload(0x00)
                mstore(add(buf, 0x21), hash2)
                ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                hash2 := mload(0x00)
            }
        }
        if (!ok) revert Sha256Failed();
    }

    /// @dev Number of significant bits of `x` (0 for 0); `x` < 2^64.
    function _bitLength(uint256 x) private pure returns (uint256 n) {
        unchecked {
            if (x >= 1 << 32) {
                x >>= 32;
                n = 32;
            }
            if (x >= 1 << 16) {
                x >>= 16;
                n += 16;
            }
            if (x >= 1 << 8) {
                x >>= 8;
                n += 8;
            }
            if (x >= 1 << 4) {
                x >>= 4;
                n += 4;
            }
            if (x >= 1 << 2) {
                x >>= 2;
                n += 2;
            }
            if (x >= 1 << 1) {
                x >>= 1;
                n += 1;
            }
            n += x;
        }
    }

    /// @dev Number of set bits of `x`; `x` < 2^64.
    function _popCount(uint256 x) private pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return ((x * 0x0101010101010101) >> 56) & 0xff;
        }
    }
}
