#!/usr/bin/env python3
"""Gives every file under <dir>/assets/ a content-hashed name and rewrites the
references to it, so editing stays easy: edit `assets/site.3f2a...css` (or drop
in a plain `assets/site.css`), run `python3 sites/rehash.py`, commit.

Name format: `<stem>.<first 10 hex chars of the SHA-256 of the content>.<ext>`;
the server marks such names `Cache-Control: immutable`. References are
rewritten wherever they appear after a `/` (`/assets/site.css`, `./api.js`) in
every .html/.css/.js/.svg/... file of each site that serves the asset: a site's
own assets in that site, sites/shared/ assets in both sites (see layout.py).
Assets that reference other assets (ES module imports) are processed until
nothing changes, so an importer's hash covers its imports' hashes. Standard
library only.

Usage: python3 sites/rehash.py            (every directory in layout.SITES)
       python3 sites/rehash.py --check    (exit 1 if anything would change)
"""

import hashlib
import os
import re
import sys

import layout

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


def referring_dirs(layer):
    """Directories whose files may name `layer`'s assets: every directory of every site serving it."""
    dirs = []
    for site in layout.sites_using(layer):
        dirs += [d for d in layout.SITES[site] if d not in dirs]
    return dirs


def rehash(dry_run=False):
    renames = []
    for _ in range(MAX_PASSES):
        changed = False
        for layer in layout.layers():
            assets = os.path.join(layer, "assets")
            if not os.path.isdir(assets):
                continue
            for name in sorted(os.listdir(assets)):
                path = os.path.join(assets, name)
                m = NAME.match(name)
                if not m or not os.path.isfile(path):
                    continue
                stem, ext = m.group("stem"), m.group("ext")
                new_name = f"{stem}.{digest(path)}.{ext}"
                if new_name == name:
                    continue
                renames.append((os.path.relpath(assets, HERE), name, new_name))
                if dry_run:
                    continue
                os.rename(path, os.path.join(assets, new_name))
                for d in referring_dirs(layer):
                    rewrite_refs(d, stem, ext, new_name)
                changed = True
        if not changed:
            return renames
    sys.exit(f"hashes did not settle after {MAX_PASSES} passes (circular imports?)")


def main(argv):
    check = "--check" in argv
    renames = rehash(dry_run=check)
    for assets, old, new in renames:
        print(f"{assets}: {old} -> {new}")
    if check and renames:
        print("assets are not content-hashed: run python3 sites/rehash.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
