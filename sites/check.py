#!/usr/bin/env python3
"""Static checks for the sites as they are served (standard library + node).

Each site is checked as marketing-server serves it: its own directory with
sites/shared/ overlaid (layout.py), so a reference or an import is fine when the
file exists in either directory, and shared modules are checked in both sites.

- no URL path is provided by two directories of a site, and no asset stem
  (`money.js`) exists in two of them under different hashes;
- docker/Dockerfile and compose/docker-compose.yml serve each site from exactly
  the directories layout.py lists;
- every HTML page, as served (includes resolved, see layout.py), parses and its
  non-void elements are balanced; every include names an existing partial;
- nothing inline that the CSP (`default-src 'self'`) would block: no <script>
  without src, no <style>, no style= attributes, no on*= handlers, no
  javascript: URLs; no scripts, styles, images or fonts from other origins;
- every local reference (HTML src/href, CSS url(), JS module imports) exists;
- every file under assets/ carries the first 10 hex chars of its SHA-256;
- every JS file passes `node --check` (ES modules as a .mjs copy).

Usage: python3 sites/check.py      (exit 1 and one line per problem on failure)
"""

import hashlib
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

import layout

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Served by marketing-server itself, not a file in the site.
SERVER_PATHS = {"/runtime-config.js", "/healthz"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HASHED = re.compile(r"^(?P<stem>.+?)\.(?P<hash>[0-9a-f]{10})\.(?P<ext>[A-Za-z0-9]+)$")
problems = []


def problem(path, message):
    problems.append(f"{os.path.relpath(path, REPO)}: {message}")


class PageChecker(HTMLParser):
    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.stack = []
        self.refs = []
        self.modules = []
        self.has_lang = False
        self.has_viewport = False
        self.has_title = False
        self.h1 = 0
        self._script_has_src = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        line = self.getpos()[0]
        if tag not in VOID:
            self.stack.append((tag, line))
        if tag == "html" and a.get("lang"):
            self.has_lang = True
        if tag == "meta" and a.get("name") == "viewport":
            self.has_viewport = True
        if tag == "title":
            self.has_title = True
        if tag == "h1":
            self.h1 += 1
        if tag == "style":
            problem(self.path, f"line {line}: <style> element (CSP blocks inline styles)")
        if tag == "img" and "alt" not in a:
            problem(self.path, f"line {line}: <img> without alt")
        for name, value in attrs:
            if name == "style":
                problem(self.path, f"line {line}: style= attribute on <{tag}>")
            if name.startswith("on"):
                problem(self.path, f"line {line}: inline handler {name}= on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                problem(self.path, f"line {line}: javascript: URL")
        if tag == "script":
            self._script_has_src = bool(a.get("src"))
            if not a.get("src"):
                self._inline_script_line = line
            else:
                self.refs.append((a["src"], line, True))
                if a.get("type") == "module":
                    self.modules.append(a["src"])
        for attr in ("src", "href"):
            if tag != "script" and a.get(attr):
                embedded = tag in ("img", "link", "source", "iframe", "embed", "audio", "video")
                self.refs.append((a[attr], line, embedded))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            opened = self.stack[-1] if self.stack else ("nothing", 0)
            problem(self.path, f"line {self.getpos()[0]}: </{tag}> closes <{opened[0]}> from line {opened[1]}")
            if any(t == tag for t, _ in self.stack):
                while self.stack and self.stack[-1][0] != tag:
                    self.stack.pop()
                self.stack.pop()
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "script" and not self._script_has_src and data.strip():
            problem(self.path, f"line {self.getpos()[0]}: inline <script> (CSP blocks it)")


class Site:
    """One served site: its name and URL path -> file map (see layout.py)."""

    def __init__(self, name):
        self.name = name
        self.sources, clashes = layout.source_files(name)
        self.files = {u: p for u, p in self.sources.items() if not layout.is_partial(u)}
        self.url_of = {path: url for url, path in self.sources.items()}
        for url, first, second in clashes:
            problem(second, f"{url} is also provided by {os.path.relpath(first, HERE)} ({name} serves both)")
        stems = {}
        for url, path in self.files.items():
            m = HASHED.match(posixpath.basename(url))
            if url.startswith("/assets/") and m:
                key = (m.group("stem"), m.group("ext"))
                if key in stems:
                    problem(path, f"{name}: asset {key[0]}.{key[1]} also at {os.path.relpath(stems[key], HERE)}")
                stems[key] = path


def local_target(site, base_path, ref):
    """Map a reference to a URL path of the site, or None for non-file refs."""
    ref = ref.split("#")[0].split("?")[0]
    if not ref or re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I) or ref.startswith("//"):
        return None
    if ref in SERVER_PATHS:
        return None
    base_url = site.url_of[base_path]
    target = posixpath.normpath(posixpath.join(posixpath.dirname(base_url), ref))
    if ref.endswith("/"):
        target = posixpath.join(target, "index.html")
    return target


def check_ref(site, path, ref, line, embedded):
    if re.match(r"^(https?:)?//", ref):
        host = re.sub(r"^(https?:)?//", "", ref).split("/")[0]
        if embedded and not host.startswith(("localhost", "127.0.0.1")):
            problem(path, f"line {line}: external resource {ref} (CSP allows only 'self')")
        return
    target = local_target(site, path, ref)
    if target is None:
        return
    if not target.startswith("/") or target.startswith("//") or "/../" in target + "/":
        problem(path, f"line {line}: {ref} points outside the site")
    elif target not in site.files:
        problem(path, f"line {line}: {ref} does not exist in the {site.name} site")


def check_html(site, path):
    # The page as served: includes resolved (a partial is checked inside every page using it).
    try:
        text = layout.served_bytes(site.name, site.sources, site.url_of[path]).decode("utf-8")
    except layout.IncludeError as e:
        problem(path, str(e))
        return
    parser = PageChecker(path)
    try:
        parser.feed(text)
        parser.close()
    except Exception as e:  # html.parser raises on badly broken markup
        problem(path, f"does not parse: {e}")
        return
    if not text.lower().startswith("<!doctype html>"):
        problem(path, "missing <!doctype html>")
    for tag, line in parser.stack:
        if tag not in ("html", "body", "head"):
            problem(path, f"<{tag}> from line {line} never closed")
    if not parser.has_lang:
        problem(path, "<html> without lang")
    if not parser.has_viewport:
        problem(path, "no meta viewport")
    if not parser.has_title:
        problem(path, "no <title>")
    # The SPA shell gets its heading from the view the router renders.
    spa_shell = site.name == "frontend" and site.url_of[path] == "/index.html"
    if parser.h1 != (0 if spa_shell else 1):
        problem(path, f"{parser.h1} <h1> elements (want {0 if spa_shell else 1})")
    for ref, line, embedded in parser.refs:
        check_ref(site, path, ref, line, embedded)


def check_css(site, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
        if not m.group(1).startswith("data:"):
            check_ref(site, path, m.group(1), text[: m.start()].count("\n") + 1, True)
    if "@import" in text and re.search(r"@import\s+(url\()?['\"]?https?:", text):
        problem(path, "@import from another origin")


IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*\(?\s*['"]([^'"]+)['"]""", re.M)


def is_module(text):
    return re.search(r"^\s*(import|export)\s", text, re.M) is not None


def check_js(site, path, scratch, syntax=True):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    module = is_module(text)
    if module:
        for m in IMPORT.finditer(text):
            ref = m.group(1) or m.group(2)
            if ref.startswith((".", "/")):
                check_ref(site, path, ref, text[: m.start()].count("\n") + 1, True)
            else:
                problem(path, f"bare import {ref!r} (no bundler here)")
    if not syntax:
        return
    target = path
    if module:
        target = os.path.join(scratch, os.path.basename(path) + ".mjs")
        shutil.copyfile(path, target)
    result = subprocess.run(["node", "--check", target], capture_output=True, text=True)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["node --check failed"])
        problem(path, "node --check: " + " | ".join(first[:4]))


def check_hash(path):
    m = HASHED.match(os.path.basename(path))
    if not m:
        problem(path, "asset name carries no 10-hex content hash (run sites/rehash.py)")
        return
    with open(path, "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()[:10]
    if actual != m.group("hash"):
        problem(path, f"name hash {m.group('hash')} but content hash {actual} (run sites/rehash.py)")


def check_deployments():
    """The image and the dev stack serve each site from the directories layout.py names."""
    rel = lambda d: os.path.relpath(d, REPO)
    dockerfile = os.path.join(REPO, "docker", "Dockerfile")
    with open(dockerfile, encoding="utf-8") as f:
        text = f.read()
    for name, dirs in layout.SITES.items():
        stage = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", text, re.M | re.S)
        copied = re.findall(r"^COPY (sites/\S+) /site/?$", stage.group(1) if stage else "", re.M)
        if copied != [rel(d) for d in dirs]:
            problem(dockerfile, f"stage {name} copies {copied or 'no site'} into /site, want {[rel(d) for d in dirs]}")
    compose = os.path.join(REPO, "compose", "docker-compose.yml")
    with open(compose, encoding="utf-8") as f:
        text = f.read()
    for name, dirs in layout.SITES.items():
        want = ":".join("/src/" + rel(d) for d in dirs)
        service = re.search(rf"^  {name}:\n(.*?)(?=^  \S|^\S|\Z)", text, re.M | re.S)
        got = re.search(r"SITE_DIR: (\S+)", service.group(1)) if service else None
        if not got or got.group(1) != want:
            problem(compose, f"service {name}: SITE_DIR {got.group(1) if got else 'missing'}, want {want}")


def main():
    if shutil.which("node") is None:
        print("node is required (apt-get install nodejs)", file=sys.stderr)
        return 2
    counts = {"html": 0, "css": 0, "js": 0, "assets": 0}
    seen = set()
    with tempfile.TemporaryDirectory() as scratch:
        for name in layout.SITES:
            site = Site(name)
            for required in ("/index.html", "/404.html"):
                if required not in site.files:
                    problem(layout.SITES[name][0], f"missing {required}")
            for url, path in sorted(site.files.items()):
                ext = os.path.splitext(path)[1]
                # References are checked per site; what a file is by itself, once.
                first = path not in seen
                seen.add(path)
                if url.startswith("/assets/") and first:
                    counts["assets"] += 1
                    check_hash(path)
                if ext == ".html":
                    counts["html"] += first
                    check_html(site, path)
                elif ext == ".css":
                    counts["css"] += first
                    check_css(site, path)
                elif ext in (".js", ".mjs"):
                    counts["js"] += first
                    check_js(site, path, scratch, syntax=first)
    check_deployments()
    for line in problems:
        print(line)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if problems:
        print(f"sites check: {len(problems)} problem(s) ({summary})", file=sys.stderr)
        return 1
    print(f"sites check: ok ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
