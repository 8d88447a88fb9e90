"""Extracts the rule groups of every PrometheusRule in the given manifests into one Prometheus
rules file, so `promtool check rules` / `promtool test rules` test the manifest itself (there is
no second copy of the rules to drift).

Usage: python scripts/prometheus_rules.py OUT.yaml MANIFEST.yaml...
"""

from __future__ import annotations

import sys

import yaml


def extract(paths: list[str]) -> dict:
    groups = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "PrometheusRule":
                    groups += doc["spec"]["groups"]
    if not groups:
        raise SystemExit(f"error: no PrometheusRule in {' '.join(paths)}")
    return {"groups": groups}


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as out:
        yaml.safe_dump(extract(argv[2:]), out, sort_keys=False, width=1000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
