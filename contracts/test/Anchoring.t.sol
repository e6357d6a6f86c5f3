// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./util/Fixture.sol";
import {MerkleTree} from "./util/MerkleTree.sol";
import {HealthLedger} from "../src/HealthLedger.sol";
import {Anchoring} from "../src/Anchoring.sol";
import {ConsistencyProof} from "../src/ConsistencyProof.sol";
import {Membership} from "../src/Membership.sol";

/// @notice Anchoring: first heads, consistency-proof verification, every refusal, fuzzing and
/// gas per proof length. Trees and proofs come from the test MerkleTree library (RFC 9162
/// SUBPROOF), which MerkleTree.t.sol checks against the RFC 6962 test vectors.
contract AnchoringTest is Fixture {
    using MerkleTree for MerkleTree.Tree;

    bytes32[] internal noProof;

    // ---- helpers ----

    function anchorAs(address member, uint256 size, bytes32 root, bytes32[] memory proof) internal {
        vm.prank(member);
        hl.anchor(uint64(size), root, proof);
    }

    /// @dev Expects `anchor` as `member` to revert with exactly `err`. The arguments are evaluated
    /// before the prank: computing them calls the SHA-256 precompile, which would otherwise
    /// consume `vm.prank` / `vm.expectRevert`.
    function expectAnchorRevert(address member, uint256 size, bytes32 root, bytes32[] memory proof, bytes memory err)
        internal
    {
        vm.prank(member);
        vm.expectRevert(err);
        hl.anchor(uint64(size), root, proof);
    }

    /// @dev Calls anchor as `member` and returns the revert data (empty if it succeeded).
    function tryAnchor(address member, uint256 size, bytes32 root, bytes32[] memory proof)
        internal
        returns (bytes memory)
    {
        vm.prank(member);
        try hl.anchor(uint64(size), root, proof) {
            return "";
        } catch (bytes memory err) {
            require(err.length >= 4, "anchor reverted without an error");
            return err;
        }
    }

    function copy(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i; i < a.length; ++i) {
            b[i] = a[i];
        }
    }

    function assertHead(address member, uint256 index, uint256 size, bytes32 root) internal view {
        (uint64 s, bytes32 r, uint64 ts) = hl.headAt(member, index);
        assertEq(uint256(s), size, "headAt size");
        assertEq(r, root, "headAt root");
        assertEq(uint256(ts), block.timestamp, "headAt timestamp");
    }

    function assertLatest(address member, uint256 index, uint256 size, bytes32 root) internal view {
        (uint64 s, bytes32 r, uint256 i, uint64 ts) = hl.latestHead(member);
        assertEq(uint256(s), size, "latest size");
        assertEq(r, root, "latest root");
        assertEq(i, index, "latest index");
        assertEq(uint256(ts), block.timestamp, "latest timestamp");
        assertEq(hl.headCount(member), index + 1, "headCount");
    }

    // ---- first anchor and views ----

    function test_noHead_viewsReturnZerosOrRevert() public {
        (uint64 s, bytes32 r, uint256 i, uint64 ts) = hl.latestHead(MEMBER_A);
        assertEq(uint256(s), 0);
        assertEq(r, bytes32(0));
        assertEq(i, 0);
        assertEq(uint256(ts), 0);
        assertEq(hl.headCount(MEMBER_A), 0);
        assertEq(hl.headCount(OUTSIDER), 0);
        vm.expectRevert(abi.encodeWithSelector(Anchoring.HeadIndexOutOfRange.selector, 0, 0));
        hl.headAt(MEMBER_A, 0);
    }

    function test_firstAnchor_storesHeadAndEmits() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 5);
        bytes32 root = t.root(5);
        vm.expectEmit(true, true, false, true, address(hl));
        emit Anchoring.Anchored(MEMBER_A, 0, 5, root);
        anchorAs(MEMBER_A, 5, root, noProof);
        assertLatest(MEMBER_A, 0, 5, root);
        assertHead(MEMBER_A, 0, 5, root);
        vm.expectRevert(abi.encodeWithSelector(Anchoring.HeadIndexOutOfRange.selector, 1, 1));
        hl.headAt(MEMBER_A, 1);
        // The other member's log is untouched.
        assertEq(hl.headCount(MEMBER_B), 0);
    }

    function test_firstAnchor_anySize() public {
        uint64[5] memory sizes = [uint64(1), 2, 3, 1_000_000, type(uint64).max];
        for (uint256 i; i < sizes.length; ++i) {
            address m = newMember();
            bytes32 root = keccak256(abi.encode("any root", i));
            anchorAs(m, sizes[i], root, noProof);
            assertLatest(m, 0, sizes[i], root);
        }
    }

    function test_firstAnchor_refusesProofAndZeroSize() public {
        bytes32[] memory proof = new bytes32[](1);
        expectAnchorRevert(
            MEMBER_A, 4, keccak256("r"), proof, abi.encodeWithSelector(ConsistencyProof.InvalidProofLength.selector, 0, 1)
        );
        expectAnchorRevert(MEMBER_A, 0, keccak256("r"), noProof, abi.encodeWithSelector(Anchoring.ZeroSize.selector));
        assertEq(hl.headCount(MEMBER_A), 0);
    }

    // ---- valid extensions ----

    function test_extension_everyPairUpTo33() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(33, 33);
        bytes32[] memory roots = new bytes32[](34);
        for (uint256 n = 1; n <= 33; ++n) {
            roots[n] = t.root(n);
        }
        for (uint256 m = 1; m < 33; ++m) {
            for (uint256 n = m + 1; n <= 33; ++n) {
                address member = newMember();
                anchorAs(member, m, roots[m], noProof);
                bytes32[] memory proof = t.consistencyProof(m, n);
                vm.expectEmit(true, true, false, true, address(hl));
                emit Anchoring.Anchored(member, 1, uint64(n), roots[n]);
                anchorAs(member, n, roots[n], proof);
                assertLatest(member, 1, n, roots[n]);
                assertHead(member, 0, m, roots[m]);
            }
        }
    }

    function test_extension_powerOfTwoBoundaries() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(7, 260);
        uint256[12] memory olds = [uint256(1), 2, 3, 4, 7, 8, 9, 63, 64, 65, 128, 255];
        uint256[8] memory news = [uint256(65), 127, 128, 129, 200, 256, 257, 260];
        for (uint256 i; i < olds.length; ++i) {
            for (uint256 j; j < news.length; ++j) {
                if (news[j] <= olds[i]) continue;
                address member = newMember();
                anchorAs(member, olds[i], t.root(olds[i]), noProof);
                anchorAs(member, news[j], t.root(news[j]), t.consistencyProof(olds[i], news[j]));
                assertLatest(member, 1, news[j], t.root(news[j]));
            }
        }
    }

    function test_extension_chainOfHeads() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(3, 144);
        uint256[11] memory sizes = [uint256(1), 2, 3, 5, 8, 13, 21, 34, 55, 89, 144];
        anchorAs(MEMBER_A, sizes[0], t.root(sizes[0]), noProof);
        for (uint256 i = 1; i < sizes.length; ++i) {
            vm.warp(block.timestamp + 60 + i);
            bytes32 root = t.root(sizes[i]);
            bytes32[] memory proof = t.consistencyProof(sizes[i - 1], sizes[i]);
            vm.expectEmit(true, true, false, true, address(hl));
            emit Anchoring.Anchored(MEMBER_A, i, uint64(sizes[i]), root);
            anchorAs(MEMBER_A, sizes[i], root, proof);
            assertLatest(MEMBER_A, i, sizes[i], root);
            // Every earlier head is still readable, whichever parity the latest index has
            // (sizes and timestamps are stored in pairs).
            for (uint256 j; j <= i; ++j) {
                (uint64 s, bytes32 r, uint64 ts) = hl.headAt(MEMBER_A, j);
                assertEq(uint256(s), sizes[j], "size");
                assertEq(r, t.root(sizes[j]), "root");
                assertEq(uint256(ts), anchoredAt(j), "timestamp");
            }
        }
        assertEq(hl.headCount(MEMBER_A), sizes.length);
    }

    /// @dev The timestamp at which test_extension_chainOfHeads anchors head j.
    function anchoredAt(uint256 j) internal pure returns (uint256 ts) {
        ts = 1_750_000_000;
        for (uint256 i = 1; i <= j; ++i) {
            ts += 60 + i;
        }
    }

    function test_extension_afterSuspensionAndReinstatement() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(4, 40);
        anchorAs(MEMBER_A, 10, t.root(10), noProof);
        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_A);

        expectAnchorRevert(
            MEMBER_A,
            20,
            t.root(20),
            t.consistencyProof(10, 20),
            abi.encodeWithSelector(Membership.NotActiveMember.selector, MEMBER_A)
        );
        assertEq(hl.headCount(MEMBER_A), 1);

        vm.prank(GOVERNOR);
        hl.reinstateInstitution(MEMBER_A);
        anchorAs(MEMBER_A, 40, t.root(40), t.consistencyProof(10, 40));
        assertLatest(MEMBER_A, 1, 40, t.root(40));
    }

    // ---- refusals ----

    function test_nonMemberRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 5);
        address[2] memory callers = [OUTSIDER, GOVERNOR];
        for (uint256 i; i < callers.length; ++i) {
            expectAnchorRevert(
                callers[i],
                5,
                t.root(5),
                noProof,
                abi.encodeWithSelector(Membership.NotActiveMember.selector, callers[i])
            );
        }
        vm.prank(GOVERNOR);
        hl.setRegulator(OUTSIDER, true);
        expectAnchorRevert(
            OUTSIDER, 5, t.root(5), noProof, abi.encodeWithSelector(Membership.NotActiveMember.selector, OUTSIDER)
        );
    }

    function test_suspendedMemberRefused_evenFirstAnchor() public {
        vm.prank(GOVERNOR);
        hl.suspendInstitution(MEMBER_B);
        expectAnchorRevert(
            MEMBER_B,
            5,
            keccak256("r"),
            noProof,
            abi.encodeWithSelector(Membership.NotActiveMember.selector, MEMBER_B)
        );
    }

    function test_rewriteOfAnchoredLeafRefused() public {
        MerkleTree.Tree memory honest = MerkleTree.synthetic(1, 16);
        anchorAs(MEMBER_A, 6, honest.root(6), noProof);

        // Rewrite leaf 2 (already covered by the anchored head of size 6) and extend to 10.
        MerkleTree.Tree memory forged = MerkleTree.fromLeaves(copy(honest.leaves));
        forged.leaves[2] = MerkleTree.leafHash("a different diagnosis");
        assertTrue(forged.root(6) != honest.root(6), "forged tree differs");

        // The forger's own proof is internally consistent (forged 6 -> forged 10) ...
        bytes32[] memory forgedProof = forged.consistencyProof(6, 10);
        expectAnchorRevert(
            MEMBER_A, 10, forged.root(10), forgedProof, abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
        // ... and the honest proof does not lead to the forged root either.
        expectAnchorRevert(
            MEMBER_A,
            10,
            forged.root(10),
            honest.consistencyProof(6, 10),
            abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
        // Same size, rewritten history: a fork.
        expectAnchorRevert(
            MEMBER_A,
            6,
            forged.root(6),
            noProof,
            abi.encodeWithSelector(Anchoring.ConflictingRoot.selector, uint64(6), honest.root(6), forged.root(6))
        );

        // Leaves after the anchored size are not history yet: changing one is fine.
        MerkleTree.Tree memory later = MerkleTree.fromLeaves(copy(honest.leaves));
        later.leaves[8] = MerkleTree.leafHash("a leaf that was never anchored");
        anchorAs(MEMBER_A, 10, later.root(10), later.consistencyProof(6, 10));
        assertLatest(MEMBER_A, 1, 10, later.root(10));
        // ... but from then on it is history too.
        expectAnchorRevert(
            MEMBER_A,
            16,
            honest.root(16),
            honest.consistencyProof(10, 16),
            abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
    }

    function test_shrinkRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 20);
        anchorAs(MEMBER_A, 20, t.root(20), noProof);
        expectAnchorRevert(
            MEMBER_A,
            19,
            t.root(19),
            noProof,
            abi.encodeWithSelector(Anchoring.SizeBelowLatest.selector, uint64(20), uint64(19))
        );
        expectAnchorRevert(
            MEMBER_A,
            1,
            t.root(1),
            noProof,
            abi.encodeWithSelector(Anchoring.SizeBelowLatest.selector, uint64(20), uint64(1))
        );
        expectAnchorRevert(MEMBER_A, 0, bytes32(0), noProof, abi.encodeWithSelector(Anchoring.ZeroSize.selector));
        assertLatest(MEMBER_A, 0, 20, t.root(20));
    }

    function test_sameSizeDifferentRootRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 8);
        anchorAs(MEMBER_A, 8, t.root(8), noProof);
        bytes32 other = MerkleTree.synthetic(2, 8).root(8);
        expectAnchorRevert(
            MEMBER_A,
            8,
            other,
            noProof,
            abi.encodeWithSelector(Anchoring.ConflictingRoot.selector, uint64(8), t.root(8), other)
        );
        // Also with a (meaningless) proof attached.
        expectAnchorRevert(
            MEMBER_A,
            8,
            other,
            t.consistencyProof(4, 8),
            abi.encodeWithSelector(Anchoring.ConflictingRoot.selector, uint64(8), t.root(8), other)
        );
    }

    function test_sameHeadAgainRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 8);
        anchorAs(MEMBER_A, 3, t.root(3), noProof);
        expectAnchorRevert(
            MEMBER_A,
            3,
            t.root(3),
            noProof,
            abi.encodeWithSelector(Anchoring.AlreadyAnchored.selector, uint64(3), t.root(3))
        );

        anchorAs(MEMBER_A, 8, t.root(8), t.consistencyProof(3, 8));
        // A retrying node re-sending the same anchor (same proof) never double-anchors.
        expectAnchorRevert(
            MEMBER_A,
            8,
            t.root(8),
            t.consistencyProof(3, 8),
            abi.encodeWithSelector(Anchoring.AlreadyAnchored.selector, uint64(8), t.root(8))
        );
        assertEq(hl.headCount(MEMBER_A), 2);
    }

    function test_wrongProofRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 50);
        MerkleTree.Tree memory other = MerkleTree.synthetic(2, 50);
        anchorAs(MEMBER_A, 21, t.root(21), noProof);
        // A proof of the right shape for another tree.
        expectAnchorRevert(
            MEMBER_A,
            50,
            t.root(50),
            other.consistencyProof(21, 50),
            abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
        // The right proof, but for a different new size of the same length.
        bytes32[] memory p = t.consistencyProof(21, 49);
        assertEq(p.length, t.consistencyProof(21, 50).length, "same length");
        expectAnchorRevert(MEMBER_A, 50, t.root(50), p, abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector));
        // The right proof and size, but the root of another size.
        expectAnchorRevert(
            MEMBER_A,
            50,
            t.root(49),
            t.consistencyProof(21, 50),
            abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
        // The proof hashes in reverse order.
        bytes32[] memory good = t.consistencyProof(21, 50);
        bytes32[] memory reversed = new bytes32[](good.length);
        for (uint256 i; i < good.length; ++i) {
            reversed[i] = good[good.length - 1 - i];
        }
        expectAnchorRevert(
            MEMBER_A, 50, t.root(50), reversed, abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
        // All zeros.
        expectAnchorRevert(
            MEMBER_A,
            50,
            t.root(50),
            new bytes32[](good.length),
            abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );

        assertEq(hl.headCount(MEMBER_A), 1);
        anchorAs(MEMBER_A, 50, t.root(50), good);
    }

    function test_tamperedProofHashRefused_everyPositionAndPairUpTo20() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(11, 20);
        for (uint256 m = 1; m < 20; ++m) {
            address member = newMember();
            anchorAs(member, m, t.root(m), noProof);
            for (uint256 n = m + 1; n <= 20; ++n) {
                bytes32[] memory proof = t.consistencyProof(m, n);
                for (uint256 i; i < proof.length; ++i) {
                    bytes32[] memory bad = copy(proof);
                    bad[i] ^= bytes32(uint256(1) << ((i * 37 + n) % 256));
                    bytes memory err = tryAnchor(member, n, t.root(n), bad);
                    assertEq(err, abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector), "tampered");
                }
            }
        }
    }

    function test_wrongProofLengthRefused() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 100);
        anchorAs(MEMBER_A, 37, t.root(37), noProof);
        bytes32[] memory good = t.consistencyProof(37, 100);
        uint256 len = good.length;

        bytes32[] memory longer = new bytes32[](len + 1);
        for (uint256 i; i < len; ++i) {
            longer[i] = good[i];
        }
        longer[len] = good[0];
        expectAnchorRevert(
            MEMBER_A,
            100,
            t.root(100),
            longer,
            abi.encodeWithSelector(ConsistencyProof.InvalidProofLength.selector, len, len + 1)
        );

        bytes32[] memory shorter = copy(good);
        assembly ("memory-safe") {
            mstore(shorter, sub(len, 1))
        }
        expectAnchorRevert(
            MEMBER_A,
            100,
            t.root(100),
            shorter,
            abi.encodeWithSelector(ConsistencyProof.InvalidProofLength.selector, len, len - 1)
        );

        expectAnchorRevert(
            MEMBER_A,
            100,
            t.root(100),
            noProof,
            abi.encodeWithSelector(ConsistencyProof.InvalidProofLength.selector, len, 0)
        );

        // Old size a power of two: the old root is not part of the proof; adding it is refused.
        address member = newMember();
        anchorAs(member, 32, t.root(32), noProof);
        bytes32[] memory p = t.consistencyProof(32, 100);
        bytes32[] memory withOldRoot = new bytes32[](p.length + 1);
        withOldRoot[0] = t.root(32);
        for (uint256 i; i < p.length; ++i) {
            withOldRoot[i + 1] = p[i];
        }
        expectAnchorRevert(
            member,
            100,
            t.root(100),
            withOldRoot,
            abi.encodeWithSelector(ConsistencyProof.InvalidProofLength.selector, p.length, p.length + 1)
        );
        anchorAs(member, 100, t.root(100), p);
    }

    function test_refusalsLeaveStateUnchanged() public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(1, 30);
        anchorAs(MEMBER_A, 12, t.root(12), noProof);
        tryAnchor(MEMBER_A, 30, t.root(29), t.consistencyProof(12, 30));
        tryAnchor(MEMBER_A, 11, t.root(11), noProof);
        tryAnchor(MEMBER_A, 12, t.root(11), noProof);
        assertLatest(MEMBER_A, 0, 12, t.root(12));
        anchorAs(MEMBER_A, 30, t.root(30), t.consistencyProof(12, 30));
        assertLatest(MEMBER_A, 1, 30, t.root(30));
    }

    // ---- fuzzing ----

    /// @dev Any valid extension of an explicit tree is accepted and recorded.
    function testFuzz_validExtension(uint256 seed, uint256 m, uint256 n) public {
        m = bound(m, 1, 199);
        n = bound(n, m + 1, 200);
        MerkleTree.Tree memory t = MerkleTree.synthetic(seed, n);
        anchorAs(MEMBER_A, m, t.root(m), noProof);
        anchorAs(MEMBER_A, n, t.root(n), t.consistencyProof(m, n));
        assertLatest(MEMBER_A, 1, n, t.root(n));
    }

    /// @dev Flipping any bit of any proof hash is refused.
    function testFuzz_tamperedProofRefused(uint256 seed, uint256 m, uint256 n, uint256 which, uint8 bit) public {
        m = bound(m, 1, 149);
        n = bound(n, m + 1, 150);
        MerkleTree.Tree memory t = MerkleTree.synthetic(seed, n);
        anchorAs(MEMBER_A, m, t.root(m), noProof);
        bytes32[] memory proof = t.consistencyProof(m, n);
        proof[which % proof.length] ^= bytes32(uint256(1) << bit);
        expectAnchorRevert(
            MEMBER_A, uint64(n), t.root(n), proof, abi.encodeWithSelector(ConsistencyProof.InconsistentProof.selector)
        );
    }

    /// @dev A proof for one old size never verifies from another old size.
    function testFuzz_proofFromOtherOldSizeRefused(uint256 seed, uint256 m, uint256 m2, uint256 n) public {
        m = bound(m, 1, 99);
        n = bound(n, m + 1, 100);
        m2 = bound(m2, 1, n - 1);
        vm.assume(m2 != m);
        MerkleTree.Tree memory t = MerkleTree.synthetic(seed, n);
        anchorAs(MEMBER_A, m, t.root(m), noProof);
        bytes memory err = tryAnchor(MEMBER_A, n, t.root(n), t.consistencyProof(m2, n));
        bytes4 sel = selectorOf(err);
        assertTrue(
            sel == ConsistencyProof.InconsistentProof.selector || sel == ConsistencyProof.InvalidProofLength.selector, "refused"
        );
    }

    /// @dev Million- to trillion-leaf trees (uniform leaves, see MerkleTree): proofs verify and
    /// their lengths are what the contract expects.
    function testFuzz_largeExtension(uint256 m, uint256 n) public {
        m = bound(m, 1, 1 << 40);
        n = bound(n, m + 1, (1 << 40) + 1);
        MerkleTree.Tree memory t = MerkleTree.uniform("record");
        anchorAs(MEMBER_A, m, t.root(m), noProof);
        bytes32[] memory proof = t.consistencyProof(m, n);
        anchorAs(MEMBER_A, n, t.root(n), proof);
        assertLatest(MEMBER_A, 1, n, t.root(n));
    }

    /// @dev A sequence of random growth steps; each head is recorded in order.
    function testFuzz_sequence(uint256 seed, uint8[6] memory steps) public {
        MerkleTree.Tree memory t = MerkleTree.synthetic(seed, 6 * 40 + 1);
        uint256 size = 1 + (seed % 7);
        anchorAs(MEMBER_A, size, t.root(size), noProof);
        uint256[7] memory sizes;
        sizes[0] = size;
        for (uint256 i; i < steps.length; ++i) {
            uint256 next = size + 1 + (steps[i] % 40);
            anchorAs(MEMBER_A, next, t.root(next), t.consistencyProof(size, next));
            size = next;
            sizes[i + 1] = size;
        }
        assertEq(hl.headCount(MEMBER_A), 7);
        for (uint256 i; i < 7; ++i) {
            (uint64 s, bytes32 r,) = hl.headAt(MEMBER_A, i);
            assertEq(uint256(s), sizes[i]);
            assertEq(r, t.root(sizes[i]));
        }
    }

    // ---- gas ----

    /// @notice Gas of `anchor` by proof length, printed with `forge test -vv --match-test gas`.
    /// @dev Measured with gasleft() around a low-level call whose calldata is encoded
    /// beforehand. In a plain `forge test` the whole test is one transaction, so the storage the
    /// first anchor touched is warm and the figure is about the execution gas only. On anvil
    /// (scripts/contracts/anchor-gas.mjs: real transactions, cold storage, 21000 base and
    /// calldata) a 17-hash anchor costs about 36,700 gas more than this figure, so the budget
    /// below keeps a 100,000-record anchor under 100,000 gas per transaction. Under
    /// `--isolate` / `--gas-report` each call is its own transaction and forge's figure
    /// includes more; the budget is then not checked. Each anchor here is a member's second
    /// (odd index), the dearer parity: it also writes a packed size/timestamp pair slot.
    function test_gas_anchorByProofLength() public {
        uint256[2][5] memory pairs = [
            [uint256(1024), 2048], // 1 hash
            [uint256(100), 200], // 7 hashes
            [uint256(1_500_000), 1_600_000], // 17 hashes: a 100,000-record checkpoint
            [uint256(1_000_004), 1_100_004], // 20 hashes: also 100,000 records
            [uint256(1_000_001), 1_100_001] // 22 hashes: the worst case near a million
        ];
        uint256[5] memory lengths = [uint256(1), 7, 17, 20, 22];
        MerkleTree.Tree memory t = MerkleTree.uniform("record");
        vm.prank(GOVERNOR);
        uint256 g = gasleft();
        hl.setRegulator(address(0xDEAD), false); // a cheap state-changing call
        bool isolated = g - gasleft() > 21_000; // it was a transaction of its own
        for (uint256 i; i < pairs.length; ++i) {
            (uint256 m, uint256 n) = (pairs[i][0], pairs[i][1]);
            address member = newMember();
            anchorAs(member, m, t.root(m), noProof);
            bytes32[] memory proof = t.consistencyProof(m, n);
            assertEq(proof.length, lengths[i], "proof length");
            bytes memory data = abi.encodeCall(Anchoring.anchor, (uint64(n), t.root(n), proof));
            vm.prank(member);
            uint256 before = gasleft();
            (bool ok,) = address(hl).call(data);
            uint256 used = before - gasleft();
            assertTrue(ok, "anchor succeeded");
            assertEq(hl.headCount(member), 2);
            log(string.concat("anchor gas, proof of ", vm.toString(proof.length), " hashes"), used);
            if (!isolated && proof.length == 17) assertLt(used, 62_000, "17-hash anchor execution gas budget");
        }
    }
}
