// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";

/// @title Consent — resident wallets, consent grants (direct or EIP-712 signed) and break-glass
/// @author HealthLedger
/// @notice Residents bind a wallet (after an in-person identity check at a member) and grant or
/// revoke consent to other members, either directly or by an EIP-712 signature that any account
/// may relay. Break-glass accesses are recorded as events.
/// @dev Abstract: `HealthLedger` is the deployed contract, and the EIP-712 domain is its
/// ("HealthLedger", version "1"). Residents appear only as 32-byte pseudonyms (HMAC-SHA256 of
/// their national id under the consortium key, computed off chain); reasons and purposes only
/// as hashes or short codes.
abstract contract Consent is Membership {
    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @dev One consent grant for a (pseudonym, grantee, purpose) triple (two storage slots).
    /// `expiry == 0` means no grant was ever made.
    struct Grant {
        uint256 categories;
        uint64 expiry;
        bool revoked;
    }

    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    /// @notice EIP-712 type hash of a consent grant signed by a resident's bound wallet.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 pseudonym,address grantee,uint256 categories,bytes32 purpose,uint64 expiry,uint256 nonce,uint256 deadline)"
    );

    /// @notice EIP-712 type hash of a consent revocation signed by a resident's bound wallet.
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(bytes32 pseudonym,address grantee,bytes32 purpose,uint256 nonce,uint256 deadline)");

    /// @dev EIP-712 domain type hash.
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @dev keccak256 of the EIP-712 domain name "HealthLedger".
    bytes32 private constant _NAME_HASH = keccak256("HealthLedger");

    /// @dev keccak256 of the EIP-712 domain version "1".
    bytes32 private constant _VERSION_HASH = keccak256("1");

    /// @dev secp256k1 group order divided by two: signatures with a larger `s` are malleable
    /// copies of a low-`s` signature and are rejected (EIP-2).
    uint256 private constant _SECP256K1N_HALF = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev Chain id at deployment, to detect forks for the cached domain separator.
    uint256 private immutable _cachedChainId;

    /// @dev EIP-712 domain separator computed at deployment.
    bytes32 private immutable _cachedDomainSeparator;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @notice Next EIP-712 nonce of a resident wallet; incremented by every accepted
    /// `grantConsentBySig` and `revokeConsentBySig` signed by that wallet.
    mapping(address wallet => uint256) public nonces;

    /// @dev Resident pseudonym → bound wallet.
    mapping(bytes32 pseudonym => address) private _residentWallets;
    /// @dev The one current grant per (pseudonym, grantee, purpose).
    mapping(bytes32 pseudonym => mapping(address grantee => mapping(bytes32 purpose => Grant))) private _grants;

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A member bound a resident pseudonym to a wallet after an in-person identity check.
    /// @param pseudonym The resident's pseudonym.
    /// @param wallet The wallet now controlling the resident's consent.
    /// @param member The member that performed the identity check.
    event ResidentBound(bytes32 indexed pseudonym, address indexed wallet, address indexed member);

    /// @notice A resident moved their binding to a new wallet.
    /// @param pseudonym The resident's pseudonym.
    /// @param previousWallet The wallet that was bound and authorised the move.
    /// @param newWallet The wallet now bound.
    event ResidentRebound(bytes32 indexed pseudonym, address indexed previousWallet, address indexed newWallet);

    /// @notice A resident granted (or replaced) consent for one grantee and purpose.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution allowed to access the resident's records.
    /// @param purpose The purpose-of-use code (e.g. a right-padded "TREAT").
    /// @param categories Bitmask of the data categories covered (bit `c` covers category `c`).
    /// @param expiry Unix time from which the grant no longer applies.
    event ConsentGranted(
        bytes32 indexed pseudonym, address indexed grantee, bytes32 indexed purpose, uint256 categories, uint64 expiry
    );

    /// @notice A resident revoked consent for one grantee and purpose.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution whose access was revoked.
    /// @param purpose The purpose-of-use code of the revoked grant.
    event ConsentRevoked(bytes32 indexed pseudonym, address indexed grantee, bytes32 indexed purpose);

    /// @notice A member accessed a resident's records under break-glass (emergency) rules.
    /// @param pseudonym The resident's pseudonym.
    /// @param member The member that accessed the records.
    /// @param reasonHash Hash of the off-chain justification record.
    event EmergencyAccess(bytes32 indexed pseudonym, address indexed member, bytes32 reasonHash);

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice The pseudonym is zero.
    error InvalidPseudonym();
    /// @notice The pseudonym is already bound to a wallet.
    error ResidentAlreadyBound(bytes32 pseudonym);
    /// @notice The pseudonym is not bound to any wallet.
    error ResidentNotBound(bytes32 pseudonym);
    /// @notice The caller is not the wallet bound to the pseudonym.
    error NotResidentWallet(address caller);
    /// @notice The new wallet is the one already bound.
    error SameWallet();

    /// @notice A grant must cover at least one category.
    error NoCategories();
    /// @notice The grant's expiry is not in the future.
    error ExpiryNotInFuture(uint64 expiry);
    /// @notice There is no unrevoked grant for this pseudonym, grantee and purpose.
    error NoActiveGrant();

    /// @notice The signed message's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature is not 65 bytes (r, s, v).
    error InvalidSignatureLength(uint256 length);
    /// @notice The signature's `s` is in the upper half of the curve order (malleable).
    error InvalidSignatureS(bytes32 s);
    /// @notice The signature's `v` is neither 27 nor 28.
    error InvalidSignatureV(uint8 v);
    /// @notice The signature recovers to no address.
    error InvalidSignature();
    /// @notice The signature is valid but was made by `signer`, not by the bound `wallet`.
    error WrongSigner(address signer, address wallet);

    /// @notice An emergency access must carry the hash of its justification.
    error EmptyReason();

    // ---------------------------------------------------------------------------------------
    // Construction
    // ---------------------------------------------------------------------------------------

    /// @dev Caches the EIP-712 domain separator, recomputed only if the chain id changes (a fork).
    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ---------------------------------------------------------------------------------------
    // Residents
    // ---------------------------------------------------------------------------------------

    /// @notice Binds an unbound resident pseudonym to the resident's wallet. Only an active
    /// member, after it has checked the resident's identity in person.
    /// @param pseudonym The resident's pseudonym (non-zero).
    /// @param wallet The resident's wallet (non-zero).
    function bindResident(bytes32 pseudonym, address wallet) external onlyActiveMember {
        if (pseudonym == bytes32(0)) revert InvalidPseudonym();
        if (wallet == address(0)) revert ZeroAddress();
        if (_residentWallets[pseudonym] != address(0)) revert ResidentAlreadyBound(pseudonym);
        _residentWallets[pseudonym] = wallet;
        emit ResidentBound(pseudonym, wallet, msg.sender);
    }

    /// @notice Moves a resident's binding to a new wallet. Only the currently bound wallet.
    /// @dev Existing consents stay (they belong to the pseudonym); signatures made by the old
    /// wallet stop being accepted.
    /// @param pseudonym The resident's pseudonym.
    /// @param newWallet The wallet to bind (non-zero, different from the current one).
    function rebindResident(bytes32 pseudonym, address newWallet) external {
        address current = _residentWallets[pseudonym];
        if (current == address(0)) revert ResidentNotBound(pseudonym);
        if (msg.sender != current) revert NotResidentWallet(msg.sender);
        if (newWallet == address(0)) revert ZeroAddress();
        if (newWallet == current) revert SameWallet();
        _residentWallets[pseudonym] = newWallet;
        emit ResidentRebound(pseudonym, current, newWallet);
    }

    /// @notice The wallet bound to a pseudonym.
    /// @param pseudonym The resident's pseudonym.
    /// @return The bound wallet, or zero if unbound.
    function residentWallet(bytes32 pseudonym) external view returns (address) {
        return _residentWallets[pseudonym];
    }

    // ---------------------------------------------------------------------------------------
    // Consent
    // ---------------------------------------------------------------------------------------

    /// @notice Grants (or replaces) consent for `grantee` to access the resident's records of
    /// the given categories for `purpose` until `expiry`. Only the bound wallet.
    /// @dev A grant replaces any earlier grant, revoked or not, for the same pseudonym,
    /// grantee and purpose.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution granted access (non-zero).
    /// @param categories Bitmask of data categories (non-zero; bit `c` covers category `c`).
    /// @param purpose The purpose-of-use code.
    /// @param expiry Unix time from which the grant no longer applies (must be in the future).
    function grantConsent(bytes32 pseudonym, address grantee, uint256 categories, bytes32 purpose, uint64 expiry)
        external
    {
        _requireBoundWallet(pseudonym);
        _grant(pseudonym, grantee, categories, purpose, expiry);
    }

    /// @notice Revokes the resident's unrevoked grant for `grantee` and `purpose`. Only the bound
    /// wallet.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution whose access is revoked.
    /// @param purpose The purpose-of-use code of the grant.
    function revokeConsent(bytes32 pseudonym, address grantee, bytes32 purpose) external {
        _requireBoundWallet(pseudonym);
        _revoke(pseudonym, grantee, purpose);
    }

    /// @notice `grantConsent` authorised by an EIP-712 `Grant` signature of the bound wallet,
    /// so that anyone (typically a member's node) can submit it and pay the gas.
    /// @dev The signed `nonce` is `nonces(wallet)` at submission; it is consumed on success.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution granted access.
    /// @param categories Bitmask of data categories.
    /// @param purpose The purpose-of-use code.
    /// @param expiry Unix time from which the grant no longer applies.
    /// @param deadline Last Unix time (inclusive) at which the signature is accepted.
    /// @param signature 65-byte secp256k1 signature `r ‖ s ‖ v` with low `s` and `v` ∈ {27, 28}.
    function grantConsentBySig(
        bytes32 pseudonym,
        address grantee,
        uint256 categories,
        bytes32 purpose,
        uint64 expiry,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        address wallet = _boundWallet(pseudonym);
        uint256 nonce = nonces[wallet];
        bytes32 structHash =
            keccak256(abi.encode(GRANT_TYPEHASH, pseudonym, grantee, categories, purpose, expiry, nonce, deadline));
        _checkSigner(wallet, structHash, signature);
        unchecked {
            nonces[wallet] = nonce + 1;
        }
        _grant(pseudonym, grantee, categories, purpose, expiry);
    }

    /// @notice `revokeConsent` authorised by an EIP-712 `Revoke` signature of the bound wallet.
    /// @dev The signed `nonce` is `nonces(wallet)` at submission; it is consumed on success.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution whose access is revoked.
    /// @param purpose The purpose-of-use code of the grant.
    /// @param deadline Last Unix time (inclusive) at which the signature is accepted.
    /// @param signature 65-byte secp256k1 signature `r ‖ s ‖ v` with low `s` and `v` ∈ {27, 28}.
    function revokeConsentBySig(
        bytes32 pseudonym,
        address grantee,
        bytes32 purpose,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        address wallet = _boundWallet(pseudonym);
        uint256 nonce = nonces[wallet];
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, pseudonym, grantee, purpose, nonce, deadline));
        _checkSigner(wallet, structHash, signature);
        unchecked {
            nonces[wallet] = nonce + 1;
        }
        _revoke(pseudonym, grantee, purpose);
    }

    /// @notice Whether `grantee` may access the resident's records of `category` for `purpose`.
    /// @dev True iff there is an unrevoked grant for (pseudonym, grantee, purpose) whose
    /// bitmask has bit `category` set, `block.timestamp < expiry`, and the grantee is not a
    /// suspended member.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The institution asking.
    /// @param category The data category (bit index in the grant's mask).
    /// @param purpose The purpose-of-use code.
    /// @return Whether access is permitted now.
    function isPermitted(bytes32 pseudonym, address grantee, uint8 category, bytes32 purpose)
        external
        view
        returns (bool)
    {
        Grant storage g = _grants[pseudonym][grantee][purpose];
        if (g.revoked || block.timestamp >= g.expiry) return false;
        if ((g.categories >> category) & 1 == 0) return false;
        return _institutions[grantee].status != Status.Suspended;
    }

    /// @notice The stored grant for (pseudonym, grantee, purpose), whatever its state.
    /// @param pseudonym The resident's pseudonym.
    /// @param grantee The grantee.
    /// @param purpose The purpose-of-use code.
    /// @return categories The category bitmask (0 if never granted).
    /// @return expiry The expiry (0 if never granted).
    /// @return revoked Whether the grant was revoked.
    function consent(bytes32 pseudonym, address grantee, bytes32 purpose)
        external
        view
        returns (uint256 categories, uint64 expiry, bool revoked)
    {
        Grant storage g = _grants[pseudonym][grantee][purpose];
        return (g.categories, g.expiry, g.revoked);
    }

    /// @notice The EIP-712 domain separator (name "HealthLedger", version "1", this chain's id,
    /// this contract's address).
    /// @return The domain separator for the current chain id.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    // ---------------------------------------------------------------------------------------
    // Break-glass
    // ---------------------------------------------------------------------------------------

    /// @notice Records that the caller accessed a resident's records under emergency rules
    /// (without consent). Only an active member; the event is the record.
    /// @param pseudonym The resident's pseudonym (non-zero).
    /// @param reasonHash Hash of the off-chain justification (non-zero).
    function recordEmergencyAccess(bytes32 pseudonym, bytes32 reasonHash) external onlyActiveMember {
        if (pseudonym == bytes32(0)) revert InvalidPseudonym();
        if (reasonHash == bytes32(0)) revert EmptyReason();
        emit EmergencyAccess(pseudonym, msg.sender, reasonHash);
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /// @dev Reverts unless the caller is the wallet bound to `pseudonym`.
    function _requireBoundWallet(bytes32 pseudonym) private view {
        if (msg.sender != _boundWallet(pseudonym)) revert NotResidentWallet(msg.sender);
    }

    /// @dev The wallet bound to `pseudonym`; reverts with `ResidentNotBound` if none.
    function _boundWallet(bytes32 pseudonym) private view returns (address wallet) {
        wallet = _residentWallets[pseudonym];
        if (wallet == address(0)) revert ResidentNotBound(pseudonym);
    }

    /// @dev Validates and stores a grant, and emits `ConsentGranted`.
    function _grant(bytes32 pseudonym, address grantee, uint256 categories, bytes32 purpose, uint64 expiry) private {
        if (grantee == address(0)) revert ZeroAddress();
        if (categories == 0) revert NoCategories();
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry);
        Grant storage g = _grants[pseudonym][grantee][purpose];
        g.categories = categories;
        g.expiry = expiry;
        g.revoked = false;
        emit ConsentGranted(pseudonym, grantee, purpose, categories, expiry);
    }

    /// @dev Marks an existing unrevoked grant revoked, and emits `ConsentRevoked`.
    function _revoke(bytes32 pseudonym, address grantee, bytes32 purpose) private {
        Grant storage g = _grants[pseudonym][grantee][purpose];
        if (g.expiry == 0 || g.revoked) revert NoActiveGrant();
        g.revoked = true;
        emit ConsentRevoked(pseudonym, grantee, purpose);
    }

    /// @dev Reverts unless `signature` is a well-formed signature by `wallet` over the EIP-712
    /// digest of `structHash` in this contract's domain.
    function _checkSigner(address wallet, bytes32 structHash, bytes calldata signature) private view {
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", DOMAIN_SEPARATOR(), structHash));
        address signer = _recover(digest, signature);
        if (signer != wallet) revert WrongSigner(signer, wallet);
    }

    /// @dev ecrecover with the checks it lacks: exactly 65 bytes, `s` in the lower half of the
    /// curve order, `v` ∈ {27, 28}, and a non-zero result (zero `r`/`s` or an `r` off the curve
    /// make the precompile return zero).
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert InvalidSignatureLength(signature.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        if (uint256(s) > _SECP256K1N_HALF) revert InvalidSignatureS(s);
        if (v != 27 && v != 28) revert InvalidSignatureV(v);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }

    /// @dev The EIP-712 domain separator for the current chain id and this address.
    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }
}
