#!/usr/bin/env bash
# Recompiles contracts/src with the pinned solc-js into a temporary directory and fails (exit 1,
# naming the file) if the committed artifacts in contracts/out/ differ in any byte, or if a file
# is missing or extra. Installs the pinned npm packages first (npm ci) when node_modules is
# missing or was installed from a different package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/contracts/npm-ci-if-needed.sh

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

node scripts/contracts/build.mjs --out "$tmp" >/dev/null

status=0
for fresh in "$tmp"/*.json; do
  name="$(basename "$fresh")"
  committed="contracts/out/$name"
  if [[ ! -f "$committed" ]]; then
    echo "check.sh: $committed is missing (a fresh compile produces it)" >&2
    status=1
  elif ! cmp -s "$fresh" "$committed"; then
    echo "check.sh: $committed differs from a fresh compile of contracts/src:" >&2
    diff -u "$committed" "$fresh" | head -n 20 >&2 || true
    status=1
  fi
done
shopt -s nullglob
for committed in contracts/out/*; do
  if [[ ! -f "$tmp/$(basename "$committed")" ]]; then
    echo "check.sh: $committed is not produced by a fresh compile (stale file)" >&2
    status=1
  fi
done

if [[ $status -ne 0 ]]; then
  echo "check.sh: run 'node scripts/contracts/build.mjs' and commit contracts/out/" >&2
  exit 1
fi
echo "check.sh: contracts/out/ matches a fresh compile"
