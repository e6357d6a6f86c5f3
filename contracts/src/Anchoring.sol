// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsistencyProof} from "./ConsistencyProof.sol";
import {Membership} from "./Membership.sol";

/// @title Anchoring — each member's history of anchored log heads
/// @author HealthLedger
/// @notice Each member anchors the heads of its append-only RFC 9162 Merkle log here, and a new
/// head is accepted only with a valid consistency proof from the member's previous one, so no
/// member can rewrite or trim history it has anchored.
/// @dev Abstract: `HealthLedger` is the deployed contract. The member's head count and latest
/// head's size and timestamp live in `Membership.Institution` (one slot with its status).
abstract contract Anchoring is Membership {
    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @dev Root of every anchored head, by index: one fresh slot per anchor.
    mapping(address member => mapping(uint256 index => bytes32)) private _headRoots;
    /// @dev Size and timestamp of heads 2k and 2k+1, packed in slot k as four uint64s (low to
    /// high: size 2k, timestamp 2k, size 2k+1, timestamp 2k+1). Written when head 2k+1 is
    /// anchored, from the latest-head fields of `Institution`, so that every other anchor writes
    /// one fresh slot instead of two. Until then, the last head's size and timestamp live only
    /// in `Institution.latestSize` / `latestTimestamp`.
    mapping(address member => mapping(uint256 pair => uint256)) private _headPairs;

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A member anchored a new head of its log.
    /// @param member The anchoring member.
    /// @param index The head's position in the member's anchor history (0 for the first).
    /// @param size The tree size (number of leaves).
    /// @param root The RFC 9162 root hash of the tree of that size.
    event Anchored(address indexed member, uint256 indexed index, uint64 size, bytes32 root);

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice A tree head must have at least one leaf.
    error ZeroSize();
    /// @notice The new size is smaller than the member's latest anchored size.
    error SizeBelowLatest(uint64 latestSize, uint64 size);
    /// @notice The size equals the latest anchored size but the root differs (a fork).
    error ConflictingRoot(uint64 size, bytes32 latestRoot, bytes32 root);
    /// @notice This exact head is already the member's latest anchored head.
    error AlreadyAnchored(uint64 size, bytes32 root);
    /// @notice No anchored head has this index.
    error HeadIndexOutOfRange(uint256 index, uint256 count);

    // ---------------------------------------------------------------------------------------
    // Anchoring
    // ---------------------------------------------------------------------------------------

    /// @notice Anchors a new head of the caller's log. Only an active member.
    /// @dev The first head of a member needs no proof (`consistencyProof` must be empty) and
    /// may have any size ≥ 1. Every later head must be strictly larger than the latest one and
    /// come with the RFC 9162 §2.1.4 consistency proof from the latest head to this one (as
    /// produced by SUBPROOF, RFC 9162 §2.1.4.1), which is verified here with SHA-256. Anchoring
    /// the latest head again reverts with `AlreadyAnchored`, so a retrying node can never
    /// double-anchor.
    /// @param size The new tree size.
    /// @param root The root hash of the tree of that size.
    /// Storage per anchor: the root in a fresh slot, plus, on every second anchor, one fresh
    /// slot holding the sizes and timestamps of the last two heads.
    /// @param consistencyProof The consistency proof from the latest anchored head.
    function anchor(uint64 size, bytes32 root, bytes32[] calldata consistencyProof) external {
        // The status check is inlined rather than `onlyActiveMember`, so that the member's
        // record is read once for both the gate and the bookkeeping.
        Institution storage inst = _institutions[msg.sender];
        if (inst.status != Status.Active) revert NotActiveMember(msg.sender);
        if (size == 0) revert ZeroSize();
        uint64 count = inst.headCount;
        uint64 latestSize = inst.latestSize;
        if (count == 0) {
            if (consistencyProof.length != 0) {
                revert ConsistencyProof.InvalidProofLength(0, consistencyProof.length);
            }
        } else {
            bytes32 latestRoot;
            unchecked {
                latestRoot = _headRoots[msg.sender][count - 1];
            }
            if (size < latestSize) revert SizeBelowLatest(latestSize, size);
            if (size == latestSize) {
                if (root == latestRoot) revert AlreadyAnchored(size, root);
                revert ConflictingRoot(size, latestRoot, root);
            }
            ConsistencyProof.verify(latestSize, size, latestRoot, root, consistencyProof);
        }
        uint64 timestamp = uint64(block.timestamp);
        _headRoots[msg.sender][count] = root;
        if (count & 1 == 1) {
            // Completes pair count/2: the previous head (still in `inst`) and this one.
            _headPairs[msg.sender][count >> 1] = uint256(latestSize) | (uint256(inst.latestTimestamp) << 64)
                | (uint256(size) << 128) | (uint256(timestamp) << 192);
        }
        unchecked {
            inst.headCount = count + 1;
        }
        inst.latestSize = size;
        inst.latestTimestamp = timestamp;
        emit Anchored(msg.sender, count, size, root);
    }

    /// @notice The latest head anchored by `member`.
    /// @dev Does not revert: for a member with no anchored head (or an unknown address) all four
    /// values are zero. `size == 0` is the "no head" marker, since anchored sizes are ≥ 1.
    /// @param member The member's address.
    /// @return size The tree size, or 0 if none.
    /// @return root The root hash.
    /// @return index The head's index in the member's anchor history.
    /// @return timestamp The block timestamp at which it was anchored.
    function latestHead(address member)
        external
        view
        returns (uint64 size, bytes32 root, uint256 index, uint64 timestamp)
    {
        Institution storage inst = _institutions[member];
        uint64 count = inst.headCount;
        if (count == 0) return (0, bytes32(0), 0, 0);
        unchecked {
            index = count - 1;
        }
        return (inst.latestSize, _headRoots[member][index], index, inst.latestTimestamp);
    }

    /// @notice A head from `member`'s anchor history.
    /// @dev Reverts with `HeadIndexOutOfRange` when `index >= headCount(member)`.
    /// @param member The member's address.
    /// @param index The head's index (0 is the first anchored head).
    /// @return size The tree size.
    /// @return root The root hash.
    /// @return timestamp The block timestamp at which it was anchored.
    function headAt(address member, uint256 index) external view returns (uint64 size, bytes32 root, uint64 timestamp) {
        Institution storage inst = _institutions[member];
        uint256 count = inst.headCount;
        if (index >= count) revert HeadIndexOutOfRange(index, count);
        root = _headRoots[member][index];
        if (index == count - 1) return (inst.latestSize, root, inst.latestTimestamp);
        uint256 half = _headPairs[member][index >> 1] >> ((index & 1) << 7);
        return (uint64(half), root, uint64(half >> 64));
    }

    /// @notice How many heads `member` has anchored.
    /// @param member The member's address.
    /// @return The number of anchored heads.
    function headCount(address member) external view returns (uint256) {
        return _institutions[member].headCount;
    }
}
