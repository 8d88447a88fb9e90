#!/usr/bin/env python3
"""Gives every file under <site>/assets/ a content-hashed name and rewrites the
references to it, so editing stays easy: edit `assets/site.3f2a...css` (or drop
in a plain `assets/site.css`), run `python3 sites/rehash.py`, commit.

Name format: `<stem>.<first 10 hex chars of the SHA-256 of the content>.<ext>`;
the server marks such names `Cache-Control: immutable`. References are
rewritten in every .html/.css/.js/.svg file of the site wherever they appear
after a `/` (`/assets/site.css`, `./api.js`). Assets that reference other
assets (ES module imports) are processed until nothing changes, so an
importer's hash covers its imports' hashes. Standard library only.

Usage: python3 sites/rehash.py [SITE_DIR ...]   (default: marketing, frontend)
       python3 sites/rehash.py --check          (exit 1 if anything would change)
"""

import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"^(?P<stem>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*?)(?:\.(?P<hash>[0-9a-f]{8,}))?\.(?P<ext>[A-Za-z0-9]+)$")
TEXT_EXT = {".html", ".css", ".js", ".mjs", ".svg", ".json", ".webmanifest", ".txt", ".xml"}
HASH_LEN = 10
MAX_PASSES = 10


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:HASH_LEN]


def text_files(site):
    for dirpath, _dirs, files in os.walk(site):
        for name in files:
            if os.path.splitext(name)[1] in TEXT_EXT:
                yield os.path.join(dirpath, name)


def rewrite_refs(site, stem, ext, new_name):
    pattern = re.compile(r"(?<=/)" + re.escape(stem) + r"(?:\.[0-9a-f]{8,})?\." + re.escape(ext) + r"(?![A-Za-z0-9_.-])")
    changed = []
    for path in text_files(site):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new_text = pattern.sub(new_name, text)
        if new_text != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new_text)
            changed.append(path)
    return changed


def rehash(site, dry_run=False):
    assets = os.path.join(site, "assets")
    if not os.path.isdir(assets):
        return []
    renames = []
    for _ in range(MAX_PASSES):
        changed = False
        for name in sorted(os.listdir(assets)):
            path = os.path.join(assets, name)
            m = NAME.match(name)
            if not m or not os.path.isfile(path):
                continue
            stem, ext = m.group("stem"), m.group("ext")
            new_name = f"{stem}.{digest(path)}.{ext}"
            if new_name == name:
                continue
            if dry_run:
                renames.append((name, new_name))
                continue
            os.rename(path, os.path.join(assets, new_name))
            rewrite_refs(site, stem, ext, new_name)
            renames.append((name, new_name))
            changed = True
        if not changed:
            return renames
    sys.exit(f"{site}: hashes did not settle after {MAX_PASSES} passes (circular imports?)")


def main(argv):
    check = "--check" in argv
    sites = [a for a in argv if not a.startswith("--")] or [
        os.path.join(HERE, "marketing"), os.path.join(HERE, "frontend")]
    pending = False
    for site in sites:
        for old, new in rehash(site, dry_run=check):
            pending = True
            print(f"{os.path.relpath(site, HERE)}/assets: {old} -> {new}")
    if check and pending:
        print("assets are not content-hashed: run python3 sites/rehash.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
