// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./util/Test.sol";
import {MerkleTree} from "./util/MerkleTree.sol";

/// @notice Cross-checks the test Merkle library against the RFC 6962 test vectors (the
/// certificate-transparency-go merkle tree tests), so that the anchoring tests build real
/// RFC 9162 trees and proofs.
contract MerkleTreeTest is Test {
    using MerkleTree for MerkleTree.Tree;

    function vectorTree() internal pure returns (MerkleTree.Tree memory) {
        bytes[] memory data = new bytes[](8);
        data[0] = hex"";
        data[1] = hex"00";
        data[2] = hex"10";
        data[3] = hex"2021";
        data[4] = hex"3031";
        data[5] = hex"40414243";
        data[6] = hex"5051525354555657";
        data[7] = hex"606162636465666768696a6b6c6d6e6f";
        return MerkleTree.fromData(data);
    }

    function test_rfc6962_roots() public pure {
        MerkleTree.Tree memory t = vectorTree();
        // The two roots of the brief ...
        assertEq(t.root(8), hex"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", "root 8");
        assertEq(t.root(3), hex"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", "root 3");
        // ... and the other prefixes of the same vector set (also in ledger/tests/merkle_props.rs).
        assertEq(t.root(1), hex"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "root 1");
        assertEq(t.root(2), hex"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", "root 2");
        assertEq(t.root(4), hex"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", "root 4");
        assertEq(t.root(5), hex"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4", "root 5");
        assertEq(t.root(6), hex"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef", "root 6");
        assertEq(t.root(7), hex"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c", "root 7");
    }

    function test_rfc6962_consistencyProofs() public pure {
        MerkleTree.Tree memory t = vectorTree();
        bytes32[] memory want = new bytes32[](3);
        want[0] = hex"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
        want[1] = hex"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
        want[2] = hex"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";
        assertEq(t.consistencyProof(1, 8), want, "1 -> 8");

        want[0] = hex"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
        want[1] = hex"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
        want[2] = hex"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7";
        assertEq(t.consistencyProof(6, 8), want, "6 -> 8");

        bytes32[] memory want2 = new bytes32[](2);
        want2[0] = hex"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
        want2[1] = hex"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
        assertEq(t.consistencyProof(2, 5), want2, "2 -> 5");

        assertEq(t.consistencyProof(8, 8).length, 0, "8 -> 8 is empty");
    }

    function test_leafAndNodeHashing() public pure {
        // leaf = SHA-256(0x00 || data); the empty leaf is the well-known 6e340b9c...
        assertEq(
            MerkleTree.leafHash(""), hex"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "empty leaf"
        );
        bytes32 l = MerkleTree.leafHash(hex"00");
        bytes32 r = MerkleTree.leafHash(hex"10");
        assertEq(MerkleTree.nodeHash(l, r), sha256(abi.encodePacked(hex"01", l, r)));
    }

    function test_uniformTreeMatchesExplicitTree() public pure {
        bytes32[] memory leaves = new bytes32[](37);
        for (uint256 i; i < leaves.length; ++i) {
            leaves[i] = MerkleTree.leafHash("same");
        }
        MerkleTree.Tree memory explicitTree = MerkleTree.fromLeaves(leaves);
        MerkleTree.Tree memory uniformTree = MerkleTree.uniform("same");
        for (uint256 n = 1; n <= 37; ++n) {
            assertEq(uniformTree.root(n), explicitTree.root(n), "root");
            for (uint256 m = 1; m <= n; m += 3) {
                assertEq(uniformTree.consistencyProof(m, n), explicitTree.consistencyProof(m, n), "proof");
            }
        }
    }
}
