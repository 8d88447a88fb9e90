"""Whether two API answers say the same thing (bench/run.sh: the Node peer must answer what the
backend answers, or its figures mean nothing).

`same_answer.py REFERENCE CANDIDATE ENDPOINT` prints `reference`, `same` or `differs: ...`.
Timestamps are compared to the millisecond (JavaScript's Date has no finer resolution). For the
endpoints whose answers carry fresh ids, tokens and times (POST /transactions, login), the
fields are compared by name and by every value that is not fresh.
"""

import json
import re
import sys

TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
FRESH = {"id", "token", "created_at"}


def normalise(value, fresh):
    if isinstance(value, dict):
        return {k: ("<fresh>" if k in fresh else normalise(v, fresh)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, fresh) for v in value]
    if isinstance(value, str):
        m = TIMESTAMP.match(value)
        if m:
            return f"{m.group(1)}.{(m.group(2) or '').ljust(3, '0')[:3]}Z"
    return value


def first_difference(a, b, where="$"):
    if type(a) is not type(b):
        return f"{where}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{where}: fields {sorted(a)} vs {sorted(b)}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{where}.{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := first_difference(x, y, f"{where}[{i}]"))), None)
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def main() -> int:
    reference, candidate, endpoint = sys.argv[1:4]
    if reference == candidate:
        print("reference")
        return 0
    fresh = FRESH if endpoint in ("post_transaction", "login") else set()
    # The login users differ by design (argon2 vs scrypt hash): compare the answer's shape.
    if endpoint == "login":
        fresh = fresh | {"email"}
    try:
        with open(reference, encoding="utf-8") as f:
            a = normalise(json.load(f), fresh)
        with open(candidate, encoding="utf-8") as f:
            b = normalise(json.load(f), fresh)
    except (OSError, ValueError) as e:
        print(f"differs: unreadable answer ({e})")
        return 0
    diff = first_difference(a, b)
    print("same" if diff is None else f"differs: {diff[:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
