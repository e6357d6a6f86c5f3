// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title NaiveRecordRegistry — benchmark baseline only, never deployed by HealthLedger
/// @notice The naive alternative to anchoring log heads: one transaction per record, each
/// storing the record's hash in a fresh storage slot. scripts/contracts/gas-bench.mjs compiles
/// it (same solc-js and settings as contracts/out/) and compares its gas per record with
/// `HealthLedger.anchor`. It lives outside contracts/src so that it is neither a committed
/// artifact nor compiled by forge.
contract NaiveRecordRegistry {
    /// @notice Number of records stored; the next record's index.
    uint256 public count;

    /// @notice Record hash by index (one fresh slot per record).
    mapping(uint256 index => bytes32) public records;

    /// @notice A record hash was stored at `index`.
    /// @param index The record's index.
    /// @param hash The record's hash.
    event Recorded(uint256 indexed index, bytes32 hash);

    /// @notice Stores `h` as the next record.
    /// @param h The record's hash.
    function record(bytes32 h) external {
        uint256 index = count;
        records[index] = h;
        unchecked {
            count = index + 1;
        }
        emit Recorded(index, h);
    }
}
