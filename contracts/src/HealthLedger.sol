// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title HealthLedger — consortium membership, log anchoring, resident wallets and consent
/// @author HealthLedger
/// @notice One contract per regional health consortium. A governor admits institutions
/// (members); each member anchors the heads of its append-only RFC 9162 Merkle log here, and the
/// contract accepts a new head only with a valid consistency proof from the member's previous
/// one, so no member can rewrite or trim history it has anchored. Residents bind a wallet (after
/// an in-person identity check at a member) and grant or revoke consent to other members, either
/// directly or by an EIP-712 signature that any account may relay. Break-glass accesses are
/// recorded as events.
/// @dev Nothing identifying is ever stored or emitted: residents appear only as 32-byte
/// pseudonyms (HMAC-SHA256 of their national id under the consortium key, computed off chain),
/// reasons and purposes only as hashes or short codes. Log hashing is RFC 9162 §2.1 with SHA-256
/// (`leaf = SHA-256(0x00 || data)`, `node = SHA-256(0x01 || left || right)`), computed with the
/// SHA-256 precompile at address 0x02.
contract HealthLedger {
    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice Membership status of an address.
    /// @dev `None`: never registered. `Active`: may anchor, bind residents and record
    /// emergency accesses, and consent granted to it is effective. `Suspended`: may do none of
    /// that and consent granted to it is not effective until it is reinstated. A registered
    /// institution never returns to `None`.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @dev Storage record of a member. Slot 0 packs `status`, `headCount` and the latest
    /// head's size and timestamp, so that `anchor` reads and writes the member's bookkeeping as
    /// one slot.
    struct Institution {
        Status status;
        uint64 headCount;
        uint64 latestSize;
        uint64 latestTimestamp;
        bytes32 ed25519Key;
        string origin;
        string name;
    }

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

    /// @dev Longest accepted log origin, in bytes.
    uint256 private constant _MAX_ORIGIN_LENGTH = 256;

    /// @dev Chain id at deployment, to detect forks for the cached domain separator.
    uint256 private immutable _cachedChainId;

    /// @dev EIP-712 domain separator computed at deployment.
    bytes32 private immutable _cachedDomainSeparator;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @notice The consortium authority: admits, suspends and reinstates institutions and sets
    /// regulators.
    address public governor;

    /// @notice The address nominated by `transferGovernor`, which becomes governor once it calls
    /// `acceptGovernor`; zero when no handover is pending.
    address public pendingGovernor;

    /// @notice Next EIP-712 nonce of a resident wallet; incremented by every accepted
    /// `grantConsentBySig` and `revokeConsentBySig` signed by that wallet.
    mapping(address wallet => uint256) public nonces;

    /// @dev Registered institutions (status `None` for any other address).
    mapping(address member => Institution) private _institutions;
    /// @dev keccak256 of a member's origin → the member (origins are unique).
    mapping(bytes32 originHash => address) private _memberByOriginHash;
    /// @dev Ed25519 public key → the member (keys are unique).
    mapping(bytes32 ed25519Key => address) private _memberByKey;
    /// @dev Regulator addresses.
    mapping(address account => bool) private _regulators;
    /// @dev Root of every anchored head, by index: one fresh slot per anchor.
    mapping(address member => mapping(uint256 index => bytes32)) private _headRoots;
    /// @dev Size and timestamp of heads 2k and 2k+1, packed in slot k as four uint64s (low to
    /// high: size 2k, timestamp 2k, size 2k+1, timestamp 2k+1). Written when head 2k+1 is
    /// anchored, from the latest-head fields of `Institution`, so that every other anchor writes
    /// one fresh slot instead of two. Until then, the last head's size and timestamp live only
    /// in `Institution.latestSize` / `latestTimestamp`.
    mapping(address member => mapping(uint256 pair => uint256)) private _headPairs;
    /// @dev Resident pseudonym → bound wallet.
    mapping(bytes32 pseudonym => address) private _residentWallets;
    /// @dev The one current grant per (pseudonym, grantee, purpose).
    mapping(bytes32 pseudonym => mapping(address grantee => mapping(bytes32 purpose => Grant))) private _grants;

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A governor handover was started (or cancelled, when `pendingGovernor` is zero).
    /// @param governor The current governor.
    /// @param pendingGovernor The nominated successor.
    event GovernorTransferStarted(address indexed governor, address indexed pendingGovernor);

    /// @notice The governor changed (also emitted by the constructor, from the zero address).
    /// @param previousGovernor The former governor.
    /// @param newGovernor The new governor.
    event GovernorTransferred(address indexed previousGovernor, address indexed newGovernor);

    /// @notice An institution was admitted as an active member.
    /// @param member The member's address (the account that anchors its log).
    /// @param ed25519Key The member's Ed25519 public key (log signing key and network identity).
    /// @param origin The origin line of the member's log checkpoints.
    /// @param name The institution's public name.
    event InstitutionRegistered(address indexed member, bytes32 ed25519Key, string origin, string name);

    /// @notice A member was suspended.
    /// @param member The suspended member.
    event InstitutionSuspended(address indexed member);

    /// @notice A suspended member was reinstated.
    /// @param member The reinstated member.
    event InstitutionReinstated(address indexed member);

    /// @notice A regulator address was enabled or disabled.
    /// @param account The regulator's address.
    /// @param enabled Whether the address is now a regulator.
    event RegulatorSet(address indexed account, bool enabled);

    /// @notice A member anchored a new head of its log.
    /// @param member The anchoring member.
    /// @param index The head's position in the member's anchor history (0 for the first).
    /// @param size The tree size (number of leaves).
    /// @param root The RFC 9162 root hash of the tree of that size.
    event Anchored(address indexed member, uint256 indexed index, uint64 size, bytes32 root);

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

    /// @notice The caller is not the governor.
    error NotGovernor(address caller);
    /// @notice The caller is not the pending governor.
    error NotPendingGovernor(address caller);
    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice The address is already a registered institution (active or suspended).
    error AlreadyRegistered(address member);
    /// @notice The Ed25519 key is zero.
    error InvalidKey();
    /// @notice The Ed25519 key is already registered to `holder`.
    error KeyTaken(address holder);
    /// @notice The origin is empty, longer than 256 bytes, or contains a space, a control
    /// character or '+'.
    error InvalidOrigin();
    /// @notice The origin is already registered to `holder`.
    error OriginTaken(address holder);
    /// @notice The institution name is empty.
    error EmptyName();
    /// @notice The institution is not active (for `suspendInstitution`).
    error InstitutionNotActive(address member);
    /// @notice The institution is not suspended (for `reinstateInstitution`).
    error InstitutionNotSuspended(address member);
    /// @notice The caller is not an active member.
    error NotActiveMember(address caller);

    /// @notice A tree head must have at least one leaf.
    error ZeroSize();
    /// @notice The new size is smaller than the member's latest anchored size.
    error SizeBelowLatest(uint64 latestSize, uint64 size);
    /// @notice The size equals the latest anchored size but the root differs (a fork).
    error ConflictingRoot(uint64 size, bytes32 latestRoot, bytes32 root);
    /// @notice This exact head is already the member's latest anchored head.
    error AlreadyAnchored(uint64 size, bytes32 root);
    /// @notice The consistency proof has the wrong number of hashes for the two sizes.
    error InvalidProofLength(uint256 expected, uint256 actual);
    /// @notice The consistency proof does not connect the latest anchored head to the new one.
    error InconsistentProof();
    /// @notice The SHA-256 precompile call failed (out of gas).
    error Sha256Failed();
    /// @notice No anchored head has this index.
    error HeadIndexOutOfRange(uint256 index, uint256 count);

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
    // Modifiers
    // ---------------------------------------------------------------------------------------

    /// @dev Reverts with `NotGovernor` unless the caller is the governor.
    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    /// @dev Reverts with `NotActiveMember` unless the caller is an active member.
    modifier onlyActiveMember() {
        if (_institutions[msg.sender].status != Status.Active) revert NotActiveMember(msg.sender);
        _;
    }

    // ---------------------------------------------------------------------------------------
    // Construction and governance
    // ---------------------------------------------------------------------------------------

    /// @notice Deploys the contract for one consortium.
    /// @param initialGovernor The consortium authority.
    constructor(address initialGovernor) {
        if (initialGovernor == address(0)) revert ZeroAddress();
        governor = initialGovernor;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
        emit GovernorTransferred(address(0), initialGovernor);
    }

    /// @notice Starts a two-step governor handover; `newGovernor` must call `acceptGovernor`.
    /// @dev Passing the zero address cancels a pending handover. Only the governor.
    /// @param newGovernor The nominated successor.
    function transferGovernor(address newGovernor) external onlyGovernor {
        pendingGovernor = newGovernor;
        emit GovernorTransferStarted(msg.sender, newGovernor);
    }

    /// @notice Completes a governor handover. Only the pending governor.
    function acceptGovernor() external {
        if (msg.sender != pendingGovernor) revert NotPendingGovernor(msg.sender);
        address previous = governor;
        governor = msg.sender;
        pendingGovernor = address(0);
        emit GovernorTransferred(previous, msg.sender);
    }

    /// @notice Admits an institution as an active member. Only the governor.
    /// @dev An address registers once; its origin and key must not belong to another member.
    /// @param member The address the institution anchors from.
    /// @param ed25519Key The institution's Ed25519 public key (32 bytes, non-zero).
    /// @param origin The origin line of its log checkpoints (1–256 bytes, no spaces, control
    /// characters or '+').
    /// @param name The institution's public name (non-empty).
    function registerInstitution(address member, bytes32 ed25519Key, string calldata origin, string calldata name)
        external
        onlyGovernor
    {
        if (member == address(0)) revert ZeroAddress();
        Institution storage inst = _institutions[member];
        if (inst.status != Status.None) revert AlreadyRegistered(member);
        if (ed25519Key == bytes32(0)) revert InvalidKey();
        address keyHolder = _memberByKey[ed25519Key];
        if (keyHolder != address(0)) revert KeyTaken(keyHolder);
        _checkOrigin(bytes(origin));
        bytes32 originHash = keccak256(bytes(origin));
        address originHolder = _memberByOriginHash[originHash];
        if (originHolder != address(0)) revert OriginTaken(originHolder);
        if (bytes(name).length == 0) revert EmptyName();

        inst.status = Status.Active;
        inst.ed25519Key = ed25519Key;
        inst.origin = origin;
        inst.name = name;
        _memberByKey[ed25519Key] = member;
        _memberByOriginHash[originHash] = member;
        emit InstitutionRegistered(member, ed25519Key, origin, name);
    }

    /// @notice Suspends an active member: it can no longer anchor, bind residents or record
    /// emergency accesses, and consent granted to it stops being effective. Only the governor.
    /// @param member The member to suspend.
    function suspendInstitution(address member) external onlyGovernor {
        Institution storage inst = _institutions[member];
        if (inst.status != Status.Active) revert InstitutionNotActive(member);
        inst.status = Status.Suspended;
        emit InstitutionSuspended(member);
    }

    /// @notice Reinstates a suspended member; its anchor history continues where it stopped.
    /// Only the governor.
    /// @param member The member to reinstate.
    function reinstateInstitution(address member) external onlyGovernor {
        Institution storage inst = _institutions[member];
        if (inst.status != Status.Suspended) revert InstitutionNotSuspended(member);
        inst.status = Status.Active;
        emit InstitutionReinstated(member);
    }

    /// @notice Enables or disables a regulator address. Only the governor.
    /// @param account The regulator's address.
    /// @param enabled Whether it is a regulator from now on.
    function setRegulator(address account, bool enabled) external onlyGovernor {
        if (account == address(0)) revert ZeroAddress();
        _regulators[account] = enabled;
        emit RegulatorSet(account, enabled);
    }

    // ---------------------------------------------------------------------------------------
    // Membership views
    // ---------------------------------------------------------------------------------------

    /// @notice A registered institution's public record.
    /// @dev Returns zeros, empty strings and `Status.None` for an unknown address.
    /// @param member The institution's address.
    /// @return ed25519Key Its Ed25519 public key.
    /// @return origin The origin line of its log.
    /// @return name Its public name.
    /// @return status Its membership status.
    function institution(address member)
        external
        view
        returns (bytes32 ed25519Key, string memory origin, string memory name, Status status)
    {
        Institution storage inst = _institutions[member];
        return (inst.ed25519Key, inst.origin, inst.name, inst.status);
    }

    /// @notice Whether `member` is a registered, unsuspended institution.
    /// @param member The address to check.
    /// @return True iff the status is `Active`.
    function isActiveMember(address member) external view returns (bool) {
        return _institutions[member].status == Status.Active;
    }

    /// @notice Whether `account` is a regulator.
    /// @param account The address to check.
    /// @return True iff the governor enabled it with `setRegulator`.
    function isRegulator(address account) external view returns (bool) {
        return _regulators[account];
    }

    /// @notice The member whose log has this origin (exact byte match).
    /// @param origin A checkpoint origin line.
    /// @return The member's address, or zero if no member has that origin.
    function memberByOrigin(string calldata origin) external view returns (address) {
        return _memberByOriginHash[keccak256(bytes(origin))];
    }

    /// @notice The member registered with this Ed25519 public key.
    /// @param ed25519Key An Ed25519 public key.
    /// @return The member's address, or zero if no member has that key.
    function memberByKey(bytes32 ed25519Key) external view returns (address) {
        return _memberByKey[ed25519Key];
    }

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
        Institution storage inst = _institutions[msg.sender];
        if (inst.status != Status.Active) revert NotActiveMember(msg.sender);
        if (size == 0) revert ZeroSize();
        uint64 count = inst.headCount;
        uint64 latestSize = inst.latestSize;
        if (count == 0) {
            if (consistencyProof.length != 0) revert InvalidProofLength(0, consistencyProof.length);
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
            _verifyConsistency(latestSize, size, latestRoot, root, consistencyProof);
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

    /// @dev Reverts with `InvalidOrigin` unless `origin` is 1–256 bytes with no byte ≤ 0x20,
    /// no 0x7F and no '+' (C2SP note key names exclude spaces and '+'; the origin is also the
    /// checkpoint's first line, so no newline either).
    function _checkOrigin(bytes calldata origin) private pure {
        uint256 length = origin.length;
        if (length == 0 || length > _MAX_ORIGIN_LENGTH) revert InvalidOrigin();
        for (uint256 i; i < length;) {
            bytes1 c = origin[i];
            if (c <= 0x20 || c == 0x7f || c == "+") revert InvalidOrigin();
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Verifies an RFC 9162 §2.1.4.2 consistency proof from a tree of `size1` leaves with
    /// root `root1` to a tree of `size2` leaves with root `root2`, for 1 ≤ size1 < size2, and
    /// reverts with `InvalidProofLength` or `InconsistentProof` if it does not hold.
    ///
    /// This is the RFC's algorithm rearranged so that the expected proof length is known up
    /// front (as in the transparency-dev Go verifier): the proof is the seed (the root of the
    /// largest complete subtree ending at leaf `size1 - 1`, left out when that subtree is the
    /// whole old tree) followed by the `inner` hashes of the audit path from that subtree up to
    /// where the old and new trees' paths split, then `border` hashes of the old tree's left
    /// border above it. Walking the path from the seed rebuilds both roots: a set bit of
    /// `(size1 - 1) >> shift` means the proof hash is a left sibling (part of both trees), a
    /// clear bit means a right sibling present only in the new tree.
    function _verifyConsistency(uint256 size1, uint256 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        private
        view
    {
        unchecked {
            uint256 index = size1 - 1;
            uint256 shift = _bitLength(size1 & (0 - size1)) - 1; // trailing zeros of size1
            uint256 start = size1 == (1 << shift) ? 0 : 1; // the seed is the old root itself
            uint256 innerEnd;
            {
                uint256 inner = _bitLength(index ^ (size2 - 1)) - shift; // > 0 as size2 > size1
                innerEnd = start + inner;
                uint256 expected = innerEnd + _popCount(index >> (inner + shift));
                if (proof.length != expected) revert InvalidProofLength(expected, proof.length);
            }
            bytes32 seed = start == 0 ? root1 : proof[0];
            (bytes32 hash1, bytes32 hash2) = _chainProof(proof, start, innerEnd, seed, index >> shift);
            if (hash1 != root1 || hash2 != root2) revert InconsistentProof();
        }
    }

    /// @dev Walks `proof[start:]` from `seed` and returns the old and new tree roots it implies:
    /// `proof[start:innerEnd]` is the audit path, where bit i of `mask` set means a left sibling
    /// (in both trees) and clear means a right sibling (new tree only); the rest is the old
    /// tree's left border (left siblings of both). Node hashes `SHA-256(0x01 || left || right)`
    /// use the SHA-256 precompile in scratch memory past the free-memory pointer (nothing is
    /// allocated; the result lands in scratch slot 0x00).
    function _chainProof(bytes32[] calldata proof, uint256 start, uint256 innerEnd, bytes32 seed, uint256 mask)
        private
        view
        returns (bytes32 hash1, bytes32 hash2)
    {
        bool ok = true;
        assembly ("memory-safe") {
            hash1 := seed
            hash2 := seed
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            let p := add(proof.offset, shl(5, start))
            innerEnd := add(proof.offset, shl(5, innerEnd))
            for {} lt(p, innerEnd) { p := add(p, 0x20) } {
                switch and(mask, 1)
                case 0 {
                    mstore(add(buf, 0x01), hash2)
                    mstore(add(buf, 0x21), calldataload(p))
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                default {
                    mstore(add(buf, 0x01), calldataload(p))
                    mstore(add(buf, 0x21), hash1)
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash1 := mload(0x00)
                    mstore(add(buf, 0x21), hash2)
                    ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                    hash2 := mload(0x00)
                }
                mask := shr(1, mask)
            }
            let end := add(proof.offset, shl(5, proof.length))
            for {} lt(p, end) { p := add(p, 0x20) } {
                mstore(add(buf, 0x01), calldataload(p))
                mstore(add(buf, 0x21), hash1)
                ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                hash1 := mload(0x00)
                mstore(add(buf, 0x21), hash2)
                ok := and(ok, staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20))
                hash2 := mload(0x00)
            }
        }
        if (!ok) revert Sha256Failed();
    }

    /// @dev Number of significant bits of `x` (0 for 0); `x` < 2^64.
    function _bitLength(uint256 x) private pure returns (uint256 n) {
        unchecked {
            if (x >= 1 << 32) {
                x >>= 32;
                n = 32;
            }
            if (x >= 1 << 16) {
                x >>= 16;
                n += 16;
            }
            if (x >= 1 << 8) {
                x >>= 8;
                n += 8;
            }
            if (x >= 1 << 4) {
                x >>= 4;
                n += 4;
            }
            if (x >= 1 << 2) {
                x >>= 2;
                n += 2;
            }
            if (x >= 1 << 1) {
                x >>= 1;
                n += 1;
            }
            n += x;
        }
    }

    /// @dev Number of set bits of `x`; `x` < 2^64.
    function _popCount(uint256 x) private pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return ((x * 0x0101010101010101) >> 56) & 0xff;
        }
    }
}
