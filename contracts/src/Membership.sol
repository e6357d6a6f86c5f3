// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Membership — the consortium's governor, its institutions and its regulators
/// @author HealthLedger
/// @notice A governor admits institutions (members), suspends and reinstates them, and names
/// regulators; the governor role moves only by a two-step handover, so a typo in the successor's
/// address cannot lock the consortium out.
/// @dev Abstract: `HealthLedger` is the deployed contract. The other parts (`Anchoring`,
/// `Consent`) build on the member records and the `onlyActiveMember` gate defined here.
abstract contract Membership {
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
    /// head's size and timestamp, so that `Anchoring.anchor` reads and writes the member's
    /// bookkeeping as one slot. That is why the anchoring fields live in this struct rather than
    /// in `Anchoring`: a separate record would cost a second cold slot on every anchor.
    struct Institution {
        Status status;
        uint64 headCount;
        uint64 latestSize;
        uint64 latestTimestamp;
        bytes32 ed25519Key;
        string origin;
        string name;
    }

    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    /// @dev Longest accepted log origin, in bytes.
    uint256 private constant _MAX_ORIGIN_LENGTH = 256;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @notice The consortium authority: admits, suspends and reinstates institutions and sets
    /// regulators.
    address public governor;

    /// @notice The address nominated by `transferGovernor`, which becomes governor once it calls
    /// `acceptGovernor`; zero when no handover is pending.
    address public pendingGovernor;

    /// @dev Regulator addresses.
    mapping(address account => bool) private _regulators;
    /// @dev Registered institutions (status `None` for any other address). Internal because
    /// anchoring keeps its per-member bookkeeping here and consent checks the grantee's status.
    /// Declared after `_regulators` so that it keeps slot 3, its slot before the split: in slot 2
    /// the optimizer shares the constant 2 between the slot and the `Status` range check on
    /// every read, which costs 9 gas more than pushing it (isActiveMember, onlyActiveMember).
    mapping(address member => Institution) internal _institutions;
    /// @dev keccak256 of a member's origin → the member (origins are unique).
    mapping(bytes32 originHash => address) private _memberByOriginHash;
    /// @dev Ed25519 public key → the member (keys are unique).
    mapping(bytes32 ed25519Key => address) private _memberByKey;

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

    /// @dev Takes the governor here rather than in `HealthLedger` so that no part can run
    /// without one; `GovernorTransferred` from zero records the first governor like any other.
    /// @param initialGovernor The consortium authority.
    constructor(address initialGovernor) {
        if (initialGovernor == address(0)) revert ZeroAddress();
        governor = initialGovernor;
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
    // Internals
    // ---------------------------------------------------------------------------------------

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
}
