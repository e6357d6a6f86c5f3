#!/usr/bin/env bash
# The pinned Python environment of the tests (requirements.txt + constraints.txt) in a private
# venv, created or updated only when the pins or the interpreter changed. Prints the venv's
# python on standard output (its only output there); progress goes to standard error.
#
#   HL_PYENV   venv directory (default: <repo>/target/pyenv)
#   PYTHON     interpreter to create it with (default: python3; 3.9 or newer)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${HL_PYENV:-$repo/target/pyenv}"
base="${PYTHON:-python3}"

if ! command -v "$base" >/dev/null 2>&1; then
    echo "error: $base not found: install Python 3.9+ (or set PYTHON=/path/to/python3)" >&2
    exit 1
fi
if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "error: $base is $("$base" -V 2>&1); the tests need Python 3.9 or newer" >&2
    exit 1
fi

# The stamp names what the venv was built from; the same stamp means nothing to do.
stamp_of() {
    {
        "$base" -c 'import sys; print(sys.version)'
        cat "$here/requirements.txt" "$here/constraints.txt"
    } | "$base" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}
want="$(stamp_of)"
py="$venv/bin/python"
if [[ -x "$py" && -f "$venv/.hl-stamp" && "$(cat "$venv/.hl-stamp")" == "$want" ]]; then
    echo "$py"
    exit 0
fi

echo "== python: installing the pinned test tools into $venv" >&2
started=$SECONDS
rm -rf "$venv"
if ! "$base" -m venv "$venv" >&2; then
    echo "error: '$base -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
fi
"$py" -m pip install --disable-pip-version-check --no-input --quiet \
    -r "$here/requirements.txt" -c "$here/constraints.txt" >&2
# Only a complete install gets the stamp, so an interrupted one is redone next time.
echo "$want" >"$venv/.hl-stamp"
echo "   done in $((SECONDS - started)) s" >&2
echo "$py"
