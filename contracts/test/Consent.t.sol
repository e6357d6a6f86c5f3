// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./util/Fixture.sol";
import {HealthLedger} from "../src/HealthLedger.sol";
import {Consent} from "../src/Consent.sol";
import {Membership} from "../src/Membership.sol";

/// @notice Consent: direct grants and revocations, expiry, categories, purposes, suspended
/// grantees, and the EIP-712 by-signature variants (nonces, deadlines, malformed signatures).
contract ConsentTest is Fixture {
    uint256 internal constant RESIDENT_KEY = 0xA11CE5EED;
    uint256 internal constant OTHER_KEY = 0xB0B5EED;
    bytes32 internal constant P = keccak256("pseudonym of resident 1");
    bytes32 internal constant TREAT = "TREAT";
    bytes32 internal constant HRESCH = "HRESCH";
    uint256 internal constant CATS = (1 << 0) | (1 << 2) | (1 << 255);

    /// @dev secp256k1 group order.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    address internal wallet;
    uint64 internal expiry;

    function setUp() public override {
        super.setUp();
        wallet = vm.addr(RESIDENT_KEY);
        vm.label(wallet, "residentWallet");
        vm.prank(MEMBER_A);
        hl.bindResident(P, wallet);
        expiry = uint64(block.timestamp + 365 days);
    }

    // ---- EIP-712 helpers (computed here from the type strings, independently of the contract) ----

    function domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("HealthLedger"),
                keccak256("1"),
                block.chainid,
                address(hl)
            )
        );
    }

    function grantDigest(
        bytes32 pseudonym,
        address grantee,
        uint256 categories,
        bytes32 purpose,
        uint64 exp,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 typeHash = keccak256(
            "Grant(bytes32 pseudonym,address grantee,uint256 categories,bytes32 purpose,uint64 expiry,uint256 nonce,uint256 deadline)"
        );
        bytes32 structHash =
            keccak256(abi.encode(typeHash, pseudonym, grantee, categories, purpose, exp, nonce, deadline));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function revokeDigest(bytes32 pseudonym, address grantee, bytes32 purpose, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 typeHash = keccak256(
            "Revoke(bytes32 pseudonym,address grantee,bytes32 purpose,uint256 nonce,uint256 deadline)"
        );
        bytes32 structHash = keccak256(abi.encode(typeHash, pseudonym, grantee, purpose, nonce, deadline));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function signGrant(uint256 key, uint256 categories, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return sign(key, grantDigest(P, MEMBER_B, categories, TREAT, expiry, nonce, deadline));
    }

    function split(bytes memory sig) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
    }

    function permitted(uint8 category) internal view returns (bool) {
        return hl.isPermitted(P, MEMBER_B, category, TREAT);
    }

    // ---- direct grant ----

    function test_grant_permitsCoveredCategoriesOnly() public {
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ConsentGranted(P, MEMBER_B, TREAT, CATS, expiry);
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);

        assertTrue(permitted(0), "bit 0");
        assertTrue(permitted(2), "bit 2");
        assertTrue(permitted(255), "bit 255");
        assertFalse(permitted(1), "bit 1");
        assertFalse(permitted(3), "bit 3");
        assertFalse(permitted(254), "bit 254");
        (uint256 c, uint64 e, bool revoked) = hl.consent(P, MEMBER_B, TREAT);
        assertEq(c, CATS);
        assertEq(uint256(e), uint256(expiry));
        assertFalse(revoked);
    }

    function test_grant_purposeGranteeAndPseudonymMustMatch() public {
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        assertTrue(hl.isPermitted(P, MEMBER_B, 0, TREAT));
        assertFalse(hl.isPermitted(P, MEMBER_B, 0, HRESCH), "other purpose");
        assertFalse(hl.isPermitted(P, MEMBER_B, 0, bytes32(0)), "no purpose");
        assertFalse(hl.isPermitted(P, MEMBER_A, 0, TREAT), "other grantee");
        assertFalse(hl.isPermitted(P, OUTSIDER, 0, TREAT), "non-member grantee");
        assertFalse(hl.isPermitted(keccak256("someone else"), MEMBER_B, 0, TREAT), "other resident");
    }

    function testFuzz_categoriesBitmask(uint256 mask, uint8 category) public {
        vm.assume(mask != 0);
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, mask, TREAT, expiry);
        assertEq(permitted(category), (mask >> category) & 1 == 1);
    }

    function test_grant_replacesEarlierGrant() public {
        vm.startPrank(wallet);
        hl.grantConsent(P, MEMBER_B, 1 << 3, TREAT, expiry);
        hl.grantConsent(P, MEMBER_B, 1 << 4, TREAT, uint64(block.timestamp + 1 days));
        vm.stopPrank();
        assertFalse(permitted(3), "old categories gone");
        assertTrue(permitted(4), "new categories");
        vm.warp(block.timestamp + 1 days);
        assertFalse(permitted(4), "new expiry applies");
    }

    function test_grant_refusals() public {
        vm.prank(MEMBER_A);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, MEMBER_A));
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        vm.prank(MEMBER_B);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, MEMBER_B));
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);

        bytes32 unbound = keccak256("unbound");
        vm.prank(wallet);
        vm.expectRevert(abi.encodeWithSelector(Consent.ResidentNotBound.selector, unbound));
        hl.grantConsent(unbound, MEMBER_B, CATS, TREAT, expiry);

        vm.startPrank(wallet);
        vm.expectRevert(Membership.ZeroAddress.selector);
        hl.grantConsent(P, address(0), CATS, TREAT, expiry);
        vm.expectRevert(Consent.NoCategories.selector);
        hl.grantConsent(P, MEMBER_B, 0, TREAT, expiry);
        uint64 now_ = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Consent.ExpiryNotInFuture.selector, now_));
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, now_);
        vm.expectRevert(abi.encodeWithSelector(Consent.ExpiryNotInFuture.selector, uint64(0)));
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, 0);
        vm.stopPrank();
        assertFalse(permitted(0));
    }

    // ---- expiry ----

    function test_expiry() public {
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        vm.warp(expiry - 1);
        assertTrue(permitted(0), "one second before expiry");
        vm.warp(expiry);
        assertFalse(permitted(0), "at expiry");
        vm.warp(expiry + 365 days);
        assertFalse(permitted(0), "long after");
        // An expired (unrevoked) grant can still be revoked, and renewed.
        vm.prank(wallet);
        hl.revokeConsent(P, MEMBER_B, TREAT);
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, uint64(block.timestamp + 30 days));
        assertTrue(permitted(0), "renewed");
    }

    // ---- revoke ----

    function test_revoke() public {
        vm.startPrank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        hl.grantConsent(P, MEMBER_B, CATS, HRESCH, expiry);
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ConsentRevoked(P, MEMBER_B, TREAT);
        hl.revokeConsent(P, MEMBER_B, TREAT);
        vm.stopPrank();
        assertFalse(permitted(0), "revoked");
        assertTrue(hl.isPermitted(P, MEMBER_B, 0, HRESCH), "other purpose untouched");
        (,, bool revoked) = hl.consent(P, MEMBER_B, TREAT);
        assertTrue(revoked);

        vm.prank(wallet);
        vm.expectRevert(Consent.NoActiveGrant.selector);
        hl.revokeConsent(P, MEMBER_B, TREAT);

        // Granting again after a revocation works.
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        assertTrue(permitted(0), "granted again");
    }

    function test_revoke_refusals() public {
        vm.prank(wallet);
        vm.expectRevert(Consent.NoActiveGrant.selector);
        hl.revokeConsent(P, MEMBER_B, TREAT);

        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        // Neither the grantee nor another member may revoke on the resident's behalf.
        vm.prank(MEMBER_B);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, MEMBER_B));
        hl.revokeConsent(P, MEMBER_B, TREAT);
        vm.prank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, GOVERNOR));
        hl.revokeConsent(P, MEMBER_B, TREAT);
        assertTrue(permitted(0));
    }

    // ---- suspended grantee, rebinding ----

    function test_suspendedGranteeNotPermittedWhileSuspended() public {
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_B);
        assertFalse(permitted(0), "suspended");
        vm.prank(GOVERNOR);
        hl.reinstateInstitution(MEMBER_B);
        assertTrue(permitted(0), "reinstated");
    }

    function test_consentSurvivesRebinding_andOnlyNewWalletControls() public {
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        address newWallet = vm.addr(OTHER_KEY);
        vm.prank(wallet);
        hl.rebindResident(P, newWallet);
        assertTrue(permitted(0), "grant belongs to the pseudonym");

        vm.prank(wallet);
        vm.expectRevert(abi.encodeWithSelector(Consent.NotResidentWallet.selector, wallet));
        hl.revokeConsent(P, MEMBER_B, TREAT);

        // A signature by the old wallet is no longer accepted.
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory oldSig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, wallet, newWallet));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, oldSig);

        vm.prank(newWallet);
        hl.revokeConsent(P, MEMBER_B, TREAT);
        assertFalse(permitted(0));
    }

    // ---- EIP-712 ----

    function test_eip712_constantsAndDomain() public {
        assertEq(
            hl.GRANT_TYPEHASH(),
            keccak256(
                "Grant(bytes32 pseudonym,address grantee,uint256 categories,bytes32 purpose,uint64 expiry,uint256 nonce,uint256 deadline)"
            )
        );
        assertEq(
            hl.REVOKE_TYPEHASH(),
            keccak256("Revoke(bytes32 pseudonym,address grantee,bytes32 purpose,uint256 nonce,uint256 deadline)")
        );
        assertEq(hl.DOMAIN_SEPARATOR(), domainSeparator());
        // Recomputed on another chain id (after a fork), so old signatures do not carry over.
        bytes32 before = hl.DOMAIN_SEPARATOR();
        vm.chainId(4242);
        assertEq(hl.DOMAIN_SEPARATOR(), domainSeparator());
        assertTrue(hl.DOMAIN_SEPARATOR() != before, "chain id is part of the domain");
    }

    /// @dev Independent check of the typed-data encoding: forge's eip712HashTypedData (alloy's
    /// implementation, fed the JSON a wallet would sign with eth_signTypedData_v4) gives the
    /// same digest as the one the contract accepts.
    function test_eip712_digestMatchesWalletEncoding() public {
        uint256 deadline = block.timestamp + 1 hours;
        string memory domain = string.concat(
            '"domain":{"name":"HealthLedger","version":"1","chainId":',
            vm.toString(block.chainid),
            ',"verifyingContract":"',
            vm.toString(address(hl)),
            '"}'
        );
        string memory domainType =
            '"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}]';
        string memory json = string.concat(
            '{"types":{',
            domainType,
            ',"Grant":[{"name":"pseudonym","type":"bytes32"},{"name":"grantee","type":"address"},{"name":"categories","type":"uint256"},{"name":"purpose","type":"bytes32"},{"name":"expiry","type":"uint64"},{"name":"nonce","type":"uint256"},{"name":"deadline","type":"uint256"}]},"primaryType":"Grant",',
            domain,
            ',"message":{"pseudonym":"',
            vm.toString(P),
            '","grantee":"',
            vm.toString(MEMBER_B),
            '","categories":"',
            vm.toString(CATS),
            '","purpose":"',
            vm.toString(TREAT),
            '","expiry":',
            vm.toString(uint256(expiry)),
            ',"nonce":0,"deadline":',
            vm.toString(deadline),
            "}}"
        );
        bytes32 digest = vm.eip712HashTypedData(json);
        assertEq(digest, grantDigest(P, MEMBER_B, CATS, TREAT, expiry, 0, deadline), "grant digest");
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sign(RESIDENT_KEY, digest));
        assertTrue(permitted(0));

        string memory revokeJson = string.concat(
            '{"types":{',
            domainType,
            ',"Revoke":[{"name":"pseudonym","type":"bytes32"},{"name":"grantee","type":"address"},{"name":"purpose","type":"bytes32"},{"name":"nonce","type":"uint256"},{"name":"deadline","type":"uint256"}]},"primaryType":"Revoke",',
            domain,
            ',"message":{"pseudonym":"',
            vm.toString(P),
            '","grantee":"',
            vm.toString(MEMBER_B),
            '","purpose":"',
            vm.toString(TREAT),
            '","nonce":1,"deadline":',
            vm.toString(deadline),
            "}}"
        );
        bytes32 revokeD = vm.eip712HashTypedData(revokeJson);
        assertEq(revokeD, revokeDigest(P, MEMBER_B, TREAT, 1, deadline), "revoke digest");
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, sign(RESIDENT_KEY, revokeD));
        assertFalse(permitted(0));
    }

    // ---- by signature: success ----

    function test_grantBySig_relayedByAnyone() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        assertEq(hl.nonces(wallet), 0);
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ConsentGranted(P, MEMBER_B, TREAT, CATS, expiry);
        vm.prank(MEMBER_A); // the member relays; the resident pays no gas
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
        assertEq(hl.nonces(wallet), 1);
        assertTrue(permitted(0));

        // A second grant, relayed by a non-member, with the next nonce.
        bytes memory sig2 = sign(RESIDENT_KEY, grantDigest(P, MEMBER_A, 1, HRESCH, expiry, 1, deadline));
        vm.prank(OUTSIDER);
        hl.grantConsentBySig(P, MEMBER_A, 1, HRESCH, expiry, deadline, sig2);
        assertEq(hl.nonces(wallet), 2);
        assertTrue(hl.isPermitted(P, MEMBER_A, 0, HRESCH));
    }

    function test_revokeBySig() public {
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = sign(RESIDENT_KEY, revokeDigest(P, MEMBER_B, TREAT, 0, deadline));
        vm.expectEmit(true, true, true, true, address(hl));
        emit Consent.ConsentRevoked(P, MEMBER_B, TREAT);
        vm.prank(MEMBER_B);
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, sig);
        assertFalse(permitted(0));
        assertEq(hl.nonces(wallet), 1);
    }

    function test_bySig_deadlineIsInclusive() public {
        uint256 deadline = block.timestamp;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
        assertTrue(permitted(0));
    }

    // ---- by signature: refusals ----

    function test_grantBySig_replayedNonceRefused() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
        vm.prank(wallet);
        hl.revokeConsent(P, MEMBER_B, TREAT);

        // Replaying the same signature would re-grant: the nonce has moved on, so the signature
        // now recovers to some unrelated address.
        address recovered = replayRecovers(sig, grantDigest(P, MEMBER_B, CATS, TREAT, expiry, 1, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, recovered, wallet));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
        assertFalse(permitted(0));
        assertEq(hl.nonces(wallet), 1);
    }

    function test_revokeBySig_replayedNonceRefused() public {
        uint256 deadline = block.timestamp + 1 hours;
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        bytes memory sig = sign(RESIDENT_KEY, revokeDigest(P, MEMBER_B, TREAT, 0, deadline));
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, sig);
        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);

        address recovered = replayRecovers(sig, revokeDigest(P, MEMBER_B, TREAT, 1, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, recovered, wallet));
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, sig);
        assertTrue(permitted(0), "the replay did not revoke the new grant");
    }

    function test_bySig_noncesAreSharedByGrantAndRevoke() public {
        uint256 deadline = block.timestamp + 1 hours;
        // Both signed with nonce 0: only the first one submitted is valid.
        bytes memory grantSig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        bytes memory revokeSig = sign(RESIDENT_KEY, revokeDigest(P, MEMBER_B, TREAT, 0, deadline));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, grantSig);
        address recovered = replayRecovers(revokeSig, revokeDigest(P, MEMBER_B, TREAT, 1, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, recovered, wallet));
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, revokeSig);
    }

    function test_bySig_expiredDeadlineRefused() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Consent.SignatureExpired.selector, deadline));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);

        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        bytes memory rsig = sign(RESIDENT_KEY, revokeDigest(P, MEMBER_B, TREAT, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.SignatureExpired.selector, deadline));
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, rsig);
        assertEq(hl.nonces(wallet), 0);
    }

    function test_bySig_wrongSignerRefused() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(OTHER_KEY, CATS, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, vm.addr(OTHER_KEY), wallet));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);

        vm.prank(wallet);
        hl.grantConsent(P, MEMBER_B, CATS, TREAT, expiry);
        bytes memory rsig = sign(OTHER_KEY, revokeDigest(P, MEMBER_B, TREAT, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, vm.addr(OTHER_KEY), wallet));
        hl.revokeConsentBySig(P, MEMBER_B, TREAT, deadline, rsig);
        assertTrue(permitted(0));
    }

    function test_bySig_alteredFieldsRefused() public {
        // A relayer cannot change what the resident signed.
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline);
        uint256 moreCats = CATS | (1 << 7);
        address r1 = replayRecovers(sig, grantDigest(P, MEMBER_B, moreCats, TREAT, expiry, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, r1, wallet));
        hl.grantConsentBySig(P, MEMBER_B, moreCats, TREAT, expiry, deadline, sig);
        uint64 later = expiry + 1;
        address r2 = replayRecovers(sig, grantDigest(P, MEMBER_B, CATS, TREAT, later, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, r2, wallet));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, later, deadline, sig);
        address r3 = replayRecovers(sig, grantDigest(P, OUTSIDER, CATS, TREAT, expiry, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, r3, wallet));
        hl.grantConsentBySig(P, OUTSIDER, CATS, TREAT, expiry, deadline, sig);
        assertEq(hl.nonces(wallet), 0);
    }

    function test_bySig_otherChainRefused() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signGrant(RESIDENT_KEY, CATS, 0, deadline); // signed for this chain id
        vm.chainId(4242);
        address recovered = replayRecovers(sig, grantDigest(P, MEMBER_B, CATS, TREAT, expiry, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.WrongSigner.selector, recovered, wallet));
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
    }

    function test_bySig_unboundPseudonymRefused() public {
        bytes32 unbound = keccak256("unbound");
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = sign(RESIDENT_KEY, grantDigest(unbound, MEMBER_B, CATS, TREAT, expiry, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Consent.ResidentNotBound.selector, unbound));
        hl.grantConsentBySig(unbound, MEMBER_B, CATS, TREAT, expiry, deadline, sig);
    }

    /// @dev Submits a grant of CATS to MEMBER_B for TREAT with the given signature and a
    /// deadline one hour from the set-up time.
    function submitGrant(bytes memory sig) internal {
        hl.grantConsentBySig(P, MEMBER_B, CATS, TREAT, expiry, 1_750_000_000 + 1 hours, sig);
    }

    function validGrantSig() internal view returns (bytes memory) {
        return signGrant(RESIDENT_KEY, CATS, 0, 1_750_000_000 + 1 hours);
    }

    function assertNothingGranted() internal view {
        assertEq(hl.nonces(wallet), 0);
        assertFalse(permitted(0));
    }

    function test_bySig_wrongLengthRefused() public {
        (bytes32 r, bytes32 s, uint8 v) = split(validGrantSig());
        // Including the 64-byte EIP-2098 compact form, which is not supported.
        bytes[4] memory bad = [bytes(""), abi.encodePacked(r, s), abi.encodePacked(r, s, v, uint8(0)), new bytes(130)];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Consent.InvalidSignatureLength.selector, bad[i].length));
            submitGrant(bad[i]);
        }
        assertNothingGranted();
    }

    function test_bySig_highSRefused() public {
        (bytes32 r, bytes32 s, uint8 v) = split(validGrantSig());
        // (r, n - s, v ^ 1) is the malleable twin of a valid signature: ecrecover accepts it.
        bytes32 highS = bytes32(N - uint256(s));
        uint8 twinV = v == 27 ? 28 : 27;
        bytes32 digest = grantDigest(P, MEMBER_B, CATS, TREAT, expiry, 0, 1_750_000_000 + 1 hours);
        assertEq(ecrecover(digest, twinV, r, highS), wallet, "the twin is a valid ECDSA signature");
        vm.expectRevert(abi.encodeWithSelector(Consent.InvalidSignatureS.selector, highS));
        submitGrant(abi.encodePacked(r, highS, twinV));
        // Any s above n/2 is refused, whatever v.
        vm.expectRevert(abi.encodeWithSelector(Consent.InvalidSignatureS.selector, bytes32(type(uint256).max)));
        submitGrant(abi.encodePacked(r, bytes32(type(uint256).max), v));
        assertNothingGranted();
    }

    function test_bySig_badVRefused() public {
        (bytes32 r, bytes32 s,) = split(validGrantSig());
        uint8[4] memory badV = [uint8(0), 1, 29, 255];
        for (uint256 i; i < badV.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Consent.InvalidSignatureV.selector, badV[i]));
            submitGrant(abi.encodePacked(r, s, badV[i]));
        }
        assertNothingGranted();
    }

    function test_bySig_unrecoverableRefused() public {
        (bytes32 r, bytes32 s, uint8 v) = split(validGrantSig());
        // r = 0, s = 0, or r not an x-coordinate on the curve: ecrecover yields nothing.
        bytes[3] memory bad = [
            abi.encodePacked(bytes32(0), s, v), abi.encodePacked(r, bytes32(0), v), abi.encodePacked(bytes32(N), s, v)
        ];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(Consent.InvalidSignature.selector);
            submitGrant(bad[i]);
        }
        assertNothingGranted();
        // The untouched signature still works.
        submitGrant(validGrantSig());
        assertTrue(permitted(0));
    }

    /// @dev What `sig` recovers to over `digest` (the address a replayed or altered signature
    /// "comes from").
    function replayRecovers(bytes memory sig, bytes32 digest) internal pure returns (address) {
        (bytes32 r, bytes32 s, uint8 v) = split(sig);
        return ecrecover(digest, v, r, s);
    }
}
