// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./util/Fixture.sol";
import {HealthLedger} from "../src/HealthLedger.sol";
import {Consent} from "../src/Consent.sol";
import {Membership} from "../src/Membership.sol";

/// @notice Governance, membership, regulators, resident wallets and break-glass events.
/// Anchoring is in Anchoring.t.sol, consent in Consent.t.sol.
contract GovernanceTest is Fixture {
    // ---- construction ----

    function test_constructor_setsGovernorAndEmits() public {
        vm.expectEmit(true, true, false, true);
        emit Membership.GovernorTransferred(address(0), OUTSIDER);
        HealthLedger other = new HealthLedger(OUTSIDER);
        assertEq(other.governor(), OUTSIDER);
        assertEq(other.pendingGovernor(), address(0));
    }

    function test_constructor_refusesZeroGovernor() public {
        vm.expectRevert(Membership.ZeroAddress.selector);
        new HealthLedger(address(0));
    }

    // ---- registration ----

    function test_register_storesAndExposesInstitution() public view {
        (bytes32 key, string memory origin, string memory name, Membership.Status status) = hl.institution(MEMBER_A);
        assertEq(key, KEY_A);
        assertEq(origin, ORIGIN_A);
        assertEq(name, "Hospital A");
        assertTrue(status == Membership.Status.Active, "status");
        assertTrue(hl.isActiveMember(MEMBER_A));
        assertTrue(hl.isActiveMember(MEMBER_B));
        assertFalse(hl.isActiveMember(OUTSIDER));
        assertEq(hl.memberByOrigin(ORIGIN_A), MEMBER_A);
        assertEq(hl.memberByOrigin(ORIGIN_B), MEMBER_B);
        assertEq(hl.memberByOrigin("unknown.example.cn/log"), address(0));
        assertEq(hl.memberByKey(KEY_B), MEMBER_B);
        assertEq(hl.memberByKey(bytes32(uint256(1))), address(0));
    }

    function test_register_unknownAddressIsNone() public view {
        (bytes32 key, string memory origin, string memory name, Membership.Status status) = hl.institution(OUTSIDER);
        assertEq(key, bytes32(0));
        assertEq(bytes(origin).length, 0);
        assertEq(bytes(name).length, 0);
        assertTrue(status == Membership.Status.None, "status");
    }

    function test_register_emitsEvent() public {
        vm.expectEmit(true, false, false, true, address(hl));
        emit Membership.InstitutionRegistered(OUTSIDER, bytes32(uint256(7)), "c.example.cn/log", "C");
        vm.prank(GOVERNOR);
        hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), "c.example.cn/log", "C");
    }

    function test_register_refusesDuplicateOrigin() public {
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.OriginTaken.selector, MEMBER_A));
        hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), ORIGIN_A, "Copycat");
        assertFalse(hl.isActiveMember(OUTSIDER));
    }

    function test_register_refusesDuplicateMember() public {
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.AlreadyRegistered.selector, MEMBER_A));
        hl.registerInstitution(MEMBER_A, bytes32(uint256(7)), "new.example.cn/log", "Again");
    }

    function test_register_refusesDuplicateMemberEvenWhenSuspended() public {
        vm.startPrank(GOVERNOR);
        hl.suspendInstitution(MEMBER_A);
        vm.expectRevert(abi.encodeWithSelector(Membership.AlreadyRegistered.selector, MEMBER_A));
        hl.registerInstitution(MEMBER_A, bytes32(uint256(7)), "new.example.cn/log", "Again");
        vm.stopPrank();
    }

    function test_register_refusesDuplicateKey() public {
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.KeyTaken.selector, MEMBER_B));
        hl.registerInstitution(OUTSIDER, KEY_B, "c.example.cn/log", "C");
    }

    function test_register_refusesBadArguments() public {
        vm.startPrank(GOVERNOR);
        vm.expectRevert(Membership.ZeroAddress.selector);
        hl.registerInstitution(address(0), bytes32(uint256(7)), "c.example.cn/log", "C");
        vm.expectRevert(Membership.InvalidKey.selector);
        hl.registerInstitution(OUTSIDER, bytes32(0), "c.example.cn/log", "C");
        vm.expectRevert(Membership.EmptyName.selector);
        hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), "c.example.cn/log", "");
        vm.stopPrank();
    }

    function test_register_refusesInvalidOrigins() public {
        string[7] memory bad =
            ["", "has space.example/log", "plus+sign.example/log", "new\nline", "tab\there", "del\x7f", "\x00"];
        vm.startPrank(GOVERNOR);
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(Membership.InvalidOrigin.selector);
            hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), bad[i], "C");
        }
        bytes memory tooLong = new bytes(257);
        for (uint256 i; i < tooLong.length; ++i) {
            tooLong[i] = "a";
        }
        vm.expectRevert(Membership.InvalidOrigin.selector);
        hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), string(tooLong), "C");
        // 256 bytes is the limit, and non-ASCII UTF-8 is fine.
        assembly ("memory-safe") {
            mstore(tooLong, 256)
        }
        hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), string(tooLong), "C");
        hl.registerInstitution(address(0xC0C), bytes32(uint256(8)), unicode"医院.example.cn/log", unicode"医院");
        vm.stopPrank();
        assertEq(hl.memberByOrigin(string(tooLong)), OUTSIDER);
    }

    function test_nonGovernorRefused() public {
        address[3] memory callers = [MEMBER_A, OUTSIDER, address(hl)];
        for (uint256 i; i < callers.length; ++i) {
            address c = callers[i];
            bytes memory err = abi.encodeWithSelector(Membership.NotGovernor.selector, c);
            vm.prank(c);
            vm.expectRevert(err);
            hl.registerInstitution(OUTSIDER, bytes32(uint256(7)), "c.example.cn/log", "C");
            vm.prank(c);
            vm.expectRevert(err);
            hl.suspendInstitution(MEMBER_B);
            vm.prank(c);
            vm.expectRevert(err);
            hl.reinstateInstitution(MEMBER_B);
            vm.prank(c);
            vm.expectRevert(err);
            hl.setRegulator(OUTSIDER, true);
            vm.prank(c);
            vm.expectRevert(err);
            hl.transferGovernor(c);
        }
        assertTrue(hl.isActiveMember(MEMBER_B));
        assertFalse(hl.isRegulator(OUTSIDER));
        assertEq(hl.governor(), GOVERNOR);
    }

    // ---- suspension ----

    function test_suspendAndReinstate() public {
        vm.expectEmit(true, false, false, true, address(hl));
        emit Membership.InstitutionSuspended(MEMBER_B);
        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_B);
        assertFalse(hl.isActiveMember(MEMBER_B));
        (,,, Membership.Status status) = hl.institution(MEMBER_B);
        assertTrue(status == Membership.Status.Suspended, "suspended");
        // Still owns its origin and key while suspended.
        assertEq(hl.memberByOrigin(ORIGIN_B), MEMBER_B);

        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.InstitutionNotActive.selector, MEMBER_B));
        hl.suspendInstitution(MEMBER_B);

        vm.expectEmit(true, false, false, true, address(hl));
        emit Membership.InstitutionReinstated(MEMBER_B);
        vm.prank(GOVERNOR);
        hl.reinstateInstitution(MEMBER_B);
        assertTrue(hl.isActiveMember(MEMBER_B));

        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.InstitutionNotSuspended.selector, MEMBER_B));
        hl.reinstateInstitution(MEMBER_B);
    }

    function test_suspendUnknownRefused() public {
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.InstitutionNotActive.selector, OUTSIDER));
        hl.suspendInstitution(OUTSIDER);
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.InstitutionNotSuspended.selector, OUTSIDER));
        hl.reinstateInstitution(OUTSIDER);
    }

    // ---- regulators ----

    function test_setRegulator() public {
        assertFalse(hl.isRegulator(OUTSIDER));
        vm.expectEmit(true, false, false, true, address(hl));
        emit Membership.RegulatorSet(OUTSIDER, true);
        vm.prank(GOVERNOR);
        hl.setRegulator(OUTSIDER, true);
        assertTrue(hl.isRegulator(OUTSIDER));
        assertFalse(hl.isActiveMember(OUTSIDER), "a regulator is not a member");

        vm.expectEmit(true, false, false, true, address(hl));
        emit Membership.RegulatorSet(OUTSIDER, false);
        vm.prank(GOVERNOR);
        hl.setRegulator(OUTSIDER, false);
        assertFalse(hl.isRegulator(OUTSIDER));

        vm.prank(GOVERNOR);
        vm.expectRevert(Membership.ZeroAddress.selector);
        hl.setRegulator(address(0), true);
    }

    // ---- governor handover ----

    function test_governorHandover_twoStep() public {
        address next = address(0x6E7);
        vm.expectEmit(true, true, false, true, address(hl));
        emit Membership.GovernorTransferStarted(GOVERNOR, next);
        vm.prank(GOVERNOR);
        hl.transferGovernor(next);
        assertEq(hl.pendingGovernor(), next);
        assertEq(hl.governor(), GOVERNOR, "nothing changes before acceptance");

        // The old governor still governs until the handover completes.
        vm.prank(GOVERNOR);
        hl.setRegulator(OUTSIDER, true);
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotGovernor.selector, next));
        hl.setRegulator(OUTSIDER, false);

        // Nobody else can accept.
        vm.prank(OUTSIDER);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotPendingGovernor.selector, OUTSIDER));
        hl.acceptGovernor();
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotPendingGovernor.selector, GOVERNOR));
        hl.acceptGovernor();

        vm.expectEmit(true, true, false, true, address(hl));
        emit Membership.GovernorTransferred(GOVERNOR, next);
        vm.prank(next);
        hl.acceptGovernor();
        assertEq(hl.governor(), next);
        assertEq(hl.pendingGovernor(), address(0));

        // Roles swapped.
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotGovernor.selector, GOVERNOR));
        hl.suspendInstitution(MEMBER_A);
        vm.prank(next);
        hl.suspendInstitution(MEMBER_A);
        assertFalse(hl.isActiveMember(MEMBER_A));

        // Accepting twice is impossible.
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotPendingGovernor.selector, next));
        hl.acceptGovernor();
    }

    function test_governorHandover_cancel() public {
        address next = address(0x6E7);
        vm.prank(GOVERNOR);
        hl.transferGovernor(next);
        vm.prank(GOVERNOR);
        hl.transferGovernor(address(0));
        assertEq(hl.pendingGovernor(), address(0));
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotPendingGovernor.selector, next));
        hl.acceptGovernor();
        assertEq(hl.governor(), GOVERNOR);
    }

    function test_governorHandover_renominationReplacesPending() public {
        vm.startPrank(GOVERNOR);
        hl.transferGovernor(address(0x111));
        hl.transferGovernor(address(0x222));
        vm.stopPrank();
        vm.prank(address(0x111));
        vm.expectRevert(abi.encodeWithSelector(Membership.NotPendingGovernor.selector, address(0x111)));
        hl.acceptGovernor();
        vm.prank(address(0x222));
        hl.acceptGovernor();
        assertEq(hl.governor(), address(0x222));
    }
}

contract ResidentTest is Fixture {
    bytes32 internal constant P = keccak256("pseudonym of a resident");
    address internal constant WALLET = address(0x1111);
    address internal constant WALLET2 = address(0x2222);

    function test_bind_byActiveMember() public {
        assertEq(hl.residentWallet(P), address(0));
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ResidentBound(P, WALLET, MEMBER_A);
        vm.prank(MEMBER_A);
        hl.bindResident(P, WALLET);
        assertEq(hl.residentWallet(P), WALLET);
    }

    function test_bind_refusesNonMemberAndSuspended() public {
        vm.prank(OUTSIDER);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotActiveMember.selector, OUTSIDER));
        hl.bindResident(P, WALLET);
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotActiveMember.selector, GOVERNOR));
        hl.bindResident(P, WALLET);

        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_A);
        vm.prank(MEMBER_A);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotActiveMember.selector, MEMBER_A));
        hl.bindResident(P, WALLET);
        assertEq(hl.residentWallet(P), address(0));
    }

    function test_bind_refusesAlreadyBoundAndBadArguments() public {
        vm.startPrank(MEMBER_A);
        hl.bindResident(P, WALLET);
        vm.stopPrank();
        // Not even another member may take over a bound pseudonym.
        vm.prank(MEMBER_B);
        vm.expectRevert(abi.encodeWithSelector(Consent.ResidentAlreadyBound.selector, P));
        hl.bindResident(P, WALLET2);

        vm.startPrank(MEMBER_A);
        vm.expectRevert(Consent.InvalidPseudonym.selector);
        hl.bindResident(bytes32(0), WALLET);
        vm.expectRevert(Membership.ZeroAddress.selector);
        hl.bindResident(keccak256("other"), address(0));
        vm.stopPrank();
        assertEq(hl.residentWallet(P), WALLET);
    }

    function test_oneWalletMayHoldSeveralPseudonyms() public {
        // e.g. a guardian's wallet for a child under 14
        vm.startPrank(MEMBER_A);
        hl.bindResident(P, WALLET);
        hl.bindResident(keccak256("child"), WALLET);
        vm.stopPrank();
        assertEq(hl.residentWallet(keccak256("child")), WALLET);
    }

    function test_rebind_onlyByBoundWallet() public {
        vm.prank(MEMBER_A);
        hl.bindResident(P, WALLET);

        vm.prank(MEMBER_A);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, MEMBER_A));
        hl.rebindResident(P, WALLET2);
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, GOVERNOR));
        hl.rebindResident(P, WALLET2);

        vm.startPrank(WALLET);
        vm.expectRevert(Membership.ZeroAddress.selector);
        hl.rebindResident(P, address(0));
        vm.expectRevert(Consent.SameWallet.selector);
        hl.rebindResident(P, WALLET);
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ResidentRebound(P, WALLET, WALLET2);
        hl.rebindResident(P, WALLET2);
        vm.stopPrank();
        assertEq(hl.residentWallet(P), WALLET2);

        // The old wallet has lost control.
        vm.prank(WALLET);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, WALLET));
        hl.rebindResident(P, WALLET);
    }

    function test_rebind_unboundRefused() public {
        vm.prank(WALLET);
        vm.expectRevert(abi.encodeWithSelector(Consent.ResidentNotBound.selector, P));
        hl.rebindResident(P, WALLET2);
    }
}

contract EmergencyAccessTest is Fixture {
    bytes32 internal constant P = keccak256("pseudonym of a resident");
    bytes32 internal constant REASON = keccak256("ETREAT: unconscious patient, ED admission 2025-06-15");

    function test_breakGlass_emitsEvent() public {
        vm.expectEmit(true, true, false, true, address(hl));
        emit Consent.EmergencyAccess(P, MEMBER_B, REASON);
        vm.prank(MEMBER_B);
        hl.recordEmergencyAccess(P, REASON);
    }

    function test_breakGlass_worksWithoutBindingOrConsent() public {
        // The resident has no wallet and granted nothing: break-glass is still recorded.
        assertEq(hl.residentWallet(P), address(0));
        vm.expectEmit(true, true, false, true, address(hl));
        emit Consent.EmergencyAccess(P, MEMBER_A, REASON);
        vm.prank(MEMBER_A);
        hl.recordEmergencyAccess(P, REASON);
    }

    function test_breakGlass_refusesNonMemberSuspendedAndEmptyArguments() public {
        vm.prank(OUTSIDER);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotActiveMember.selector, OUTSIDER));
        hl.recordEmergencyAccess(P, REASON);

        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_B);
        vm.prank(MEMBER_B);
        vm.expectRevert(abi.encodeWithSelector(Membership.NotActiveMember.selector, MEMBER_B));
        hl.recordEmergencyAccess(P, REASON);

        vm.startPrank(MEMBER_A);
        vm.expectRevert(Consent.EmptyReason.selector);
        hl.recordEmergencyAccess(P, bytes32(0));
        vm.expectRevert(Consent.InvalidPseudonym.selector);
        hl.recordEmergencyAccess(bytes32(0), REASON);
        vm.stopPrank();
    }
}
