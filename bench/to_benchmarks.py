"""Copy the measured tables of a `make bench` report into BENCHMARKS.md (`make bench-doc`).

bench/run.sh wraps each table of bench/results/latest.md in `<!-- bench:NAME -->` ...
`<!-- /bench:NAME -->`; BENCHMARKS.md has the same markers where each table belongs, with the
prose around them written by hand. This replaces what is between each pair of markers in
BENCHMARKS.md by the report's section of that name, so the figures in BENCHMARKS.md are always
copied from one run, never typed. A section the report lacks (a run with BENCH_PARTS=static,
say) is left as it was and named on stderr.

    python3 bench/to_benchmarks.py REPORT DOC
"""

import re
import sys

SECTION = re.compile(r"<!-- bench:([a-z0-9-]+) -->\n(.*?)<!-- /bench:\1 -->", re.S)


def sections(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in SECTION.finditer(text)}


def fill(doc: str, report: str) -> tuple[str, list[str]]:
    """`doc` with every marked section replaced from `report`, and the names left as they were."""
    found = sections(report)
    missing: list[str] = []

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in found:
            missing.append(name)
            return m.group(0)
        return f"<!-- bench:{name} -->\n{found[name]}<!-- /bench:{name} -->"

    return SECTION.sub(replace, doc), missing


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        report = f.read()
    with open(argv[2], encoding="utf-8") as f:
        doc = f.read()
    if not sections(report):
        print(f"error: {argv[1]} has no marked sections (is it a report of bench/run.sh?)", file=sys.stderr)
        return 1
    new, missing = fill(doc, report)
    for name in missing:
        print(f"warning: {argv[1]} has no section '{name}'; left as it was in {argv[2]}", file=sys.stderr)
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(new)
    print(f"{argv[2]}: {len(sections(doc)) - len(missing)} section(s) copied from {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
