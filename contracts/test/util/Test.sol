// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Vm — the few forge cheatcodes the HealthLedger tests use
/// @notice forge-std cannot be fetched here (no GitHub), so this declares only what we call.
/// forge answers calls to the cheatcode address 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D.
interface Vm {
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function chainId(uint256 newChainId) external;
    function assume(bool condition) external pure;
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function label(address account, string calldata newLabel) external;
    function eip712HashTypedData(string calldata jsonData) external pure returns (bytes32 digest);
    function eip712HashType(string calldata typeNameOrDefinition) external pure returns (bytes32 typeHash);
    function toString(uint256 value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bool value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
}

/// @title Test — base contract for forge tests: cheatcodes, assertions, fuzz helpers, logging
/// @notice Our own minimal replacement for forge-std's `Test`. A failed assertion reverts with a
/// message, which forge reports as a test failure.
abstract contract Test {
    /// @dev forge's cheatcode address: uint160(uint256(keccak256("hevm cheat code"))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev forge's console address (decodes `log(...)` calls into test output).
    address private constant _CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// @notice Marks this contract as a test contract (forge convention).
    bool public IS_TEST = true;

    // ---- assertions ----

    function fail(string memory message) internal pure {
        revert(message);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert(string.concat("assertTrue failed: ", message));
    }

    function assertTrue(bool condition) internal pure {
        assertTrue(condition, "");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) revert(string.concat("assertFalse failed: ", message));
    }

    function assertFalse(bool condition) internal pure {
        assertFalse(condition, "");
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) {
            revert(string.concat("assertEq(uint256) failed: ", vm.toString(a), " != ", vm.toString(b), " ", message));
        }
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bytes32 a, bytes32 b, string memory message) internal pure {
        if (a != b) {
            revert(string.concat("assertEq(bytes32) failed: ", vm.toString(a), " != ", vm.toString(b), " ", message));
        }
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(address a, address b, string memory message) internal pure {
        if (a != b) {
            revert(string.concat("assertEq(address) failed: ", vm.toString(a), " != ", vm.toString(b), " ", message));
        }
    }

    function assertEq(address a, address b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bool a, bool b, string memory message) internal pure {
        if (a != b) {
            revert(string.concat("assertEq(bool) failed: ", vm.toString(a), " != ", vm.toString(b), " ", message));
        }
    }

    function assertEq(bool a, bool b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(string memory a, string memory b, string memory message) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) {
            revert(string.concat("assertEq(string) failed: \"", a, "\" != \"", b, "\" ", message));
        }
    }

    function assertEq(string memory a, string memory b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bytes memory a, bytes memory b, string memory message) internal pure {
        if (keccak256(a) != keccak256(b)) {
            revert(string.concat("assertEq(bytes) failed: ", vm.toString(a), " != ", vm.toString(b), " ", message));
        }
    }

    function assertEq(bytes memory a, bytes memory b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bytes32[] memory a, bytes32[] memory b, string memory message) internal pure {
        if (a.length != b.length) {
            revert(
                string.concat(
                    "assertEq(bytes32[]) failed: length ",
                    vm.toString(a.length),
                    " != ",
                    vm.toString(b.length),
                    " ",
                    message
                )
            );
        }
        for (uint256 i; i < a.length; ++i) {
            if (a[i] != b[i]) {
                revert(
                    string.concat(
                        "assertEq(bytes32[]) failed at [",
                        vm.toString(i),
                        "]: ",
                        vm.toString(a[i]),
                        " != ",
                        vm.toString(b[i]),
                        " ",
                        message
                    )
                );
            }
        }
    }

    function assertLt(uint256 a, uint256 b, string memory message) internal pure {
        if (a >= b) {
            revert(string.concat("assertLt failed: ", vm.toString(a), " >= ", vm.toString(b), " ", message));
        }
    }

    // ---- fuzz helpers ----

    /// @dev Maps any `x` into [min, max] (inclusive), uniformly enough for fuzzing.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        uint256 span = max - min;
        if (span == type(uint256).max) return x;
        return min + (x % (span + 1));
    }

    // ---- logging (shown with forge test -vv) ----

    function log(string memory label_, uint256 value) internal view {
        (bool ok,) = _CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label_, value));
        ok;
    }
}
