#!/usr/bin/env python3
"""Fails when modules of a Rust crate depend on each other in a cycle.

Modules should depend one way: `server` uses `shutdown`, never the reverse. rustc accepts cycles
between modules of one crate, so nothing else catches them; this does, fast enough for
`make lint` (it reads source text, it compiles nothing).

For every crate root under the given directories (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`,
`tests/*.rs`, `tests/*/main.rs`) it finds the modules (`mod x;` files and inline `mod x { }`),
then every path in a module's code that names another module of the same crate:
`use crate::a::b`, `super::x`, `self::x`, a child module by name (`use workers::Workers`,
`load::read_tree(..)`), in `use` trees (`use crate::a::{b, c::d}`) and in expressions alike. A
path counts as a dependency on the deepest module it names (`crate::db::is_unavailable` is a
dependency on `db`). Comments and string literals are skipped, so SQL casts such as `$1::uuid`
are not mistaken for paths.

Usage: module_cycles.py DIR...   (each DIR holds crates: a Cargo.toml, or subdirectories with one)
Exit 0 when no crate has a cycle; 1 with each cycle and the lines that make it, otherwise.
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_RE = re.compile(rf"(?<![\w:$]){IDENT}(?:\s*::\s*{IDENT})+")


def strip_code(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "/" and nxt == "*":
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else " ")
                    i += 1
            continue
        raw = re.match(r'(?:b|c)?r(#*)"', text[i:]) if c in "bcr" else None
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + raw.group(1)
            j = text.find(end, i + raw.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
            continue
        if c == "'":
            lit = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i:])
            if lit:
                out.append(" " * lit.end())
                i += lit.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def use_paths(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (globs and renames dropped)."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)

    def parse(s, prefix):
        # Split s at top-level commas.
        parts, depth, start = [], 0, 0
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        paths = []
        for part in filter(None, parts):
            brace = part.find("{")
            if brace >= 0 and part.endswith("}"):
                head = [p for p in part[:brace].split("::") if p]
                paths += parse(part[brace + 1 : -1], prefix + head)
            else:
                segs = [p for p in part.split("::") if p and p != "*"]
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                paths.append(prefix + segs)
        return paths

    return [p for p in parse(tree.lstrip(":"), []) if p]


class Crate:
    def __init__(self, root):
        self.root = root
        self.files = {}  # module path (tuple) -> file
        self.children = {}  # module path -> set of child names (file and inline modules)
        self.discover((), root)

    def module_dir(self, path, file):
        if file.name in ("lib.rs", "main.rs", "mod.rs") or path == ():
            return file.parent
        return file.with_suffix("")

    def discover(self, path, file):
        self.files[path] = file
        self.children.setdefault(path, set())
        code = strip_code(file.read_text(encoding="utf-8"))
        for inline, _, _ in self.spans(path, code):
            self.children.setdefault(inline[:-1], set()).add(inline[-1])
            self.children.setdefault(inline, set())
        for m in re.finditer(rf"\bmod\s+({IDENT})\s*;", code):
            name = m.group(1)
            base = self.module_dir(path, file)
            for candidate in (base / f"{name}.rs", base / name / "mod.rs"):
                if candidate.exists():
                    self.children[path].add(name)
                    self.discover(path + (name,), candidate)
                    break

    def is_module(self, path):
        return path in self.children

    def resolve(self, here, segs):
        """The deepest module of this crate that `segs`, written in module `here`, names."""
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] in ("super", "self"):
            base = here
            rest = list(segs)
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    base = base[:-1]
                rest = rest[1:]
        elif segs[0] in self.children.get(here, ()):
            base, rest = here, segs
        else:
            return None  # another crate, a type, a local
        target = base
        for seg in rest:
            if self.is_module(target + (seg,)):
                target = target + (seg,)
            else:
                break
        return target

    def edges(self):
        """{(from, to): [(file, line), ...]} for every dependency between two modules."""
        edges = {}
        for path, file in self.files.items():
            code = strip_code(file.read_text(encoding="utf-8"))
            spans = self.spans(path, code)

            def module_at(offset):
                inner = path
                for mod_path, start, end in spans:
                    if start <= offset < end and len(mod_path) > len(inner):
                        inner = mod_path
                return inner

            def add(offset, segs):
                here = module_at(offset)
                target = self.resolve(here, segs)
                if target is not None and target != here:
                    line = code.count("\n", 0, offset) + 1
                    edges.setdefault((here, target), []).append((file, line))

            uses = list(re.finditer(r"\buse\s+([^;]+);", code))
            for m in uses:
                for segs in use_paths(m.group(1)):
                    add(m.start(), segs)
            in_use = [(m.start(), m.end()) for m in uses]
            for m in PATH_RE.finditer(code):
                if any(s <= m.start() < e for s, e in in_use):
                    continue
                segs = re.split(r"\s*::\s*", m.group(0))
                add(m.start(), segs)
        return edges

    @staticmethod
    def spans(path, code):
        """The inline `mod x { }` blocks: (module path, start offset, end offset)."""
        spans, stack, depth = [], [], 0
        for m in re.finditer(rf"\bmod\s+({IDENT})\s*\{{|[{{}}]", code):
            tok = m.group(0)
            if tok.startswith("mod"):
                depth += 1
                stack.append((m.group(1), depth, m.start()))
            elif tok == "{":
                depth += 1
            else:
                if stack and stack[-1][1] == depth:
                    names = tuple(n for n, _, _ in stack)
                    spans.append((path + names, stack[-1][2], m.end()))
                    stack.pop()
                depth -= 1
        return spans


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def crate_roots(directory):
    directory = Path(directory)
    crates = [directory] if (directory / "Cargo.toml").exists() else sorted(
        p for p in directory.iterdir() if (p / "Cargo.toml").exists()
    )
    for crate in crates:
        for root in [crate / "src" / "lib.rs", crate / "src" / "main.rs"]:
            if root.exists():
                yield root
        yield from sorted((crate / "src" / "bin").glob("*.rs"))
        yield from sorted((crate / "tests").glob("*.rs"))
        yield from sorted((crate / "tests").glob("*/main.rs"))
        # A package whose only target is named in Cargo.toml (`path = "x.rs"`).
        manifest = (crate / "Cargo.toml").read_text(encoding="utf-8")
        for target in re.findall(r'^path\s*=\s*"([^"]+\.rs)"', manifest, re.M):
            if (crate / target).exists():
                yield crate / target


def name(path):
    return "crate" if not path else "::".join(path)


def sibling_edges(edges):
    """The same dependencies between sibling subtrees: `auth::routes -> billing` and
    `billing -> auth` make `auth` and `billing` a cycle even though no single module of one
    names the module of the other that names it back."""
    lifted = {}
    for (a, b), places in edges.items():
        common = 0
        while common < min(len(a), len(b)) and a[common] == b[common]:
            common += 1
        if common < len(a) and common < len(b):
            key = (a[: common + 1], b[: common + 1])
            lifted.setdefault(key, []).extend((f"{name(a)} -> {name(b)}", *p) for p in places)
    return lifted


def check(directories):
    """Returns the report lines of every cycle found (empty: none)."""
    report = []
    for directory in directories:
        for root in crate_roots(directory):
            edges = Crate(root).edges()
            seen = set()
            for kind, graph in (("modules", edges), ("module trees", sibling_edges(edges))):
                for component in cycles(graph):
                    if tuple(component) in seen:
                        continue
                    seen.add(tuple(component))
                    members = set(component)
                    report.append(f"{root}: {kind} in a cycle: {', '.join(map(name, component))}")
                    for (a, b), places in sorted(graph.items()):
                        if a in members and b in members:
                            place = places[0]
                            via = f"{place[0]}, " if kind == "module trees" else ""
                            report.append(f"  {name(a)} -> {name(b)}  ({via}{place[-2]}:{place[-1]})")
    return report


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: module_cycles.py DIR...", file=sys.stderr)
        return 2
    report = check(argv[1:])
    for line in report:
        print(line, file=sys.stderr)
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
