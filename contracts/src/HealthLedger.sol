// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Anchoring} from "./Anchoring.sol";
import {Consent} from "./Consent.sol";
import {Membership} from "./Membership.sol";

/// @title HealthLedger — consortium membership, log anchoring, resident wallets and consent
/// @author HealthLedger
/// @notice One contract per regional health consortium. A governor admits institutions
/// (members); each member anchors the heads of its append-only RFC 9162 Merkle log here, and the
/// contract accepts a new head only with a valid consistency proof from the member's previous
/// one, so no member can rewrite or trim history it has anchored. Residents bind a wallet (after
/// an in-person identity check at a member) and grant or revoke consent to other members, either
/// directly or by an EIP-712 signature that any account may relay. Break-glass accesses are
/// recorded as events.
/// @dev The deployed contract; its parts live in `Membership` (governor, institutions,
/// regulators), `Anchoring` (anchored heads, checked by the `ConsistencyProof` library) and
/// `Consent` (residents, grants, EIP-712, break-glass). Nothing identifying is ever stored or
/// emitted: residents appear only as 32-byte pseudonyms (HMAC-SHA256 of their national id under
/// the consortium key, computed off chain), reasons and purposes only as hashes or short codes.
/// Log hashing is RFC 9162 §2.1 with SHA-256 (`leaf = SHA-256(0x00 || data)`,
/// `node = SHA-256(0x01 || left || right)`), computed with the SHA-256 precompile at address 0x02.
contract HealthLedger is Anchoring, Consent {
    /// @notice Deploys the contract for one consortium.
    /// @param initialGovernor The consortium authority.
    constructor(address initialGovernor) Membership(initialGovernor) {}
}
