#!/usr/bin/env python3
"""Writes the benchmark's large JavaScript file to stdout, so `make bench` measures a large asset
whatever the sites happen to ship: deterministic (the same bytes on every machine and run), 123 KiB,
and as compressible as the 123 KiB script the marketing site used to serve, which the figures in
BENCHMARKS.md up to December 2026 measured (gzip -9: 29 KiB, 23 %). Function-shaped text over a
small vocabulary, seeded. Standard library only.

Usage: python3 bench/large_js.py > large.js
"""

import random
import sys

TARGET_BYTES = 123 * 1024
WORDS = ("account balance ledger entry amount cents debit credit invoice payment total period month "
         "currency format parse render chart series value label tick scale range domain income "
         "expense asset liability transaction description date filter cursor page limit offset "
         "client studio template order supplier rent payroll software travel marketing").split()


# Real code reuses a modest vocabulary of names, which is much of why it compresses; so does this.
NAMES = [a + b.capitalize() for a in WORDS[:12] for b in WORDS[12:24]]


def identifier(rnd):
    return NAMES[rnd.randrange(len(NAMES))]


def function(rnd, index):
    name = f"{identifier(rnd)}{index}"
    args = [identifier(rnd) for _ in range(rnd.randint(1, 3))]
    lines = [f"export function {name}({', '.join(args)}) {{"]
    for _ in range(rnd.randint(3, 9)):
        target, source = identifier(rnd), rnd.choice(args)
        kind = rnd.randrange(4)
        if kind == 0:
            lines.append(f"  const {target} = {source} * {rnd.randint(2, 9999)} + {rnd.randint(0, 99)};")
        elif kind == 1:
            lines.append(f"  if ({source} > {rnd.randint(0, 999)}) {{ return \"{rnd.choice(WORDS)} {rnd.choice(WORDS)}\"; }}")
        elif kind == 2:
            lines.append(f"  const {target} = [{', '.join(str(rnd.randint(0, 9999)) for _ in range(rnd.randint(2, 6)))}];")
        else:
            lines.append(f"  // {' '.join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 10)))}")
    lines.append(f"  return {rnd.choice(args)};")
    lines.append("}")
    return "\n".join(lines) + "\n\n"


def main():
    rnd = random.Random(20261201)
    out = ["// Benchmark fixture written by bench/large_js.py: not part of any site.\n\n"]
    size, index = len(out[0]), 0
    while size < TARGET_BYTES:
        chunk = function(rnd, index)
        out.append(chunk)
        size += len(chunk.encode())
        index += 1
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
