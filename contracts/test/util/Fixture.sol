// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {HealthLedger} from "../../src/HealthLedger.sol";

/// @notice Shared set-up: a deployed HealthLedger with a governor and two active members.
abstract contract Fixture is Test {
    HealthLedger internal hl;

    address internal constant GOVERNOR = address(0x60F);
    address internal constant MEMBER_A = address(0xA11CE);
    address internal constant MEMBER_B = address(0xB0B);
    address internal constant OUTSIDER = address(0xBAD);

    bytes32 internal constant KEY_A = keccak256("ed25519 key of hospital A");
    bytes32 internal constant KEY_B = keccak256("ed25519 key of community health centre B");
    string internal constant ORIGIN_A = "hospital-a.example.cn/log";
    string internal constant ORIGIN_B = "chc-b.example.cn/log";

    uint256 internal extraMembers;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        hl = new HealthLedger(GOVERNOR);
        vm.startPrank(GOVERNOR);
        hl.registerInstitution(MEMBER_A, KEY_A, ORIGIN_A, "Hospital A");
        hl.registerInstitution(MEMBER_B, KEY_B, ORIGIN_B, "Community Health Centre B");
        vm.stopPrank();
        vm.label(address(hl), "HealthLedger");
        vm.label(GOVERNOR, "governor");
        vm.label(MEMBER_A, "memberA");
        vm.label(MEMBER_B, "memberB");
        vm.label(OUTSIDER, "outsider");
    }

    /// @dev Registers and returns a fresh active member (a new log with no anchored head).
    function newMember() internal returns (address member) {
        ++extraMembers;
        member = address(uint160(0x1000000 + extraMembers));
        vm.prank(GOVERNOR);
        hl.registerInstitution(
            member,
            keccak256(abi.encode("key", extraMembers)),
            string.concat("member-", vm.toString(extraMembers), ".example.cn/log"),
            "Extra member"
        );
    }

    /// @dev The 4-byte selector of revert data.
    function selectorOf(bytes memory revertData) internal pure returns (bytes4 sel) {
        if (revertData.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            sel := mload(add(revertData, 0x20))
        }
    }
}
