#!/usr/bin/env python3
"""Validates FHIR R4 JSON files with the R4 (4.0.1) models of fhir.resources 6.4.0.

    fhir_validate.py FILE...

Each file holds one resource (a Bundle, or any resource type) and is parsed with the model its
resourceType names; a Bundle's entries are validated with their own types too. Prints one line
per file; exits 1 if any file is invalid, naming the file and the error.

The models check structure, types, cardinality, required elements and primitive formats; they
do not check value-set bindings or reference integrity.
"""

import json
import sys


def validate(path):
    """None if valid, else the reason."""
    from fhir.resources import get_fhir_model_class

    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return f"not readable JSON: {e}"
    if not isinstance(data, dict):
        return "not a JSON object"
    kind = data.get("resourceType")
    if not isinstance(kind, str):
        return "no resourceType"
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError) as e:
        return f"unknown resourceType {kind!r}: {e}"
    try:
        model.parse_obj(data)
    except Exception as e:  # pydantic.ValidationError and model-specific errors alike
        return f"invalid {kind}: {e}"
    return None


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for path in argv[1:]:
        reason = validate(path)
        if reason is None:
            print(f"ok {path}")
        else:
            failed += 1
            # One line per file: the whole pydantic report, its newlines folded.
            print(f"INVALID {path}: {' | '.join(reason.splitlines())}", file=sys.stderr)
    print(f"{len(argv) - 1 - failed} valid, {failed} invalid", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
