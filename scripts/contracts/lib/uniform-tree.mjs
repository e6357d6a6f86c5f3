// RFC 9162 Merkle tree hashes and consistency proofs over identical leaves (as
// MerkleTree.uniform in the forge tests). A subtree's hash then depends only on its size, which
// makes million-leaf trees instant; the on-chain verifier's work and the calldata size depend
// only on the two tree sizes, not on the hash values.

import { createHash } from "node:crypto";

export const sha256 = (...parts) => createHash("sha256").update(Buffer.concat(parts)).digest();

const LEAF = sha256(Buffer.from([0]), Buffer.from("record"));
const perfect = [LEAF];
for (let k = 1; k < 64; k++) perfect.push(sha256(Buffer.from([1]), perfect[k - 1], perfect[k - 1]));

function split(n) {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}

/** MTH of the uniform tree with n (bigint ≥ 1) leaves. */
export function mth(n) {
  if ((n & (n - 1n)) === 0n) return perfect[n.toString(2).length - 1];
  const k = split(n);
  return sha256(Buffer.from([1]), mth(k), mth(n - k));
}

/** SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1 for the uniform tree (bigints, 0 < m ≤ n). */
export function subproof(m, n, complete) {
  if (m === n) return complete ? [] : [mth(n)];
  const k = split(n);
  if (m <= k) return [...subproof(m, k, complete), mth(n - k)];
  return [...subproof(m - k, n - k, false), mth(k)];
}

/** The consistency proof from size m to size n (empty for m = 0, a member's first anchor). */
export function consistencyProof(m, n) {
  return m === 0n ? [] : subproof(m, n, true);
}
