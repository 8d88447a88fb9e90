"""What each served site is made of, for check.py, rehash.py, the tests and the benchmark.

A site is served from several directories overlaid, like a PATH: its own directory, then
sites/shared/ (the modules both sites use, such as money.js). marketing-server merges them when
it loads (SITE_DIR=sites/marketing:sites/shared); the images copy both into /site. A URL path
that two directories of one site both provide is an error, never a silent override.

Pages share their <head>, header and footer through load-time includes, which marketing-server
resolves as it loads the site (crates/marketing-server/src/site/include.rs; this is the same rule,
and the browser check compares the two byte for byte):

    <!--#include file="_partials/header.html" -->

is replaced by that file's bytes (less one trailing newline). `file` is relative to the page's
directory and must name a file inside a `_partials/` directory; only .html pages are resolved,
partials cannot include, and `_partials/` is never served. Any other `<!--#` is an error.

Usage: python3 sites/layout.py export SITE OUT_DIR   (the site as served, includes resolved)
"""

import os
import posixpath
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "shared")
SITES = {
    "marketing": [os.path.join(HERE, "marketing"), SHARED],
    "frontend": [os.path.join(HERE, "frontend"), SHARED],
}
PARTIALS = "_partials"
DIRECTIVE = re.compile(rb'<!--#include file="([^"]*)" -->')


class IncludeError(Exception):
    pass


def layers():
    """Every directory that is part of some site, each once, in a stable order."""
    seen = []
    for dirs in SITES.values():
        seen += [d for d in dirs if d not in seen]
    return seen


def sites_using(layer):
    """The sites whose files may refer to assets of `layer`."""
    return [site for site, dirs in SITES.items() if layer in dirs]


def source_files(site):
    """URL path -> file for one site, partials included, plus the paths two directories provide."""
    files, clashes = {}, []
    for root in SITES[site]:
        for dirpath, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = os.path.join(dirpath, name)
                url = "/" + os.path.relpath(path, root).replace(os.sep, "/")
                if url in files:
                    clashes.append((url, files[url], path))
                else:
                    files[url] = path
    return files, clashes


def is_partial(url):
    return PARTIALS in url.split("/")[:-1]


def served_files(site):
    """URL path -> file of what the site serves (no partials), plus clashes as in source_files."""
    files, clashes = source_files(site)
    return {u: p for u, p in files.items() if not is_partial(u)}, clashes


def partial_url(page_url, target):
    """The URL path `<!--#include file="target" -->` in `page_url` names, or IncludeError."""
    if target.startswith("/") or not target:
        raise IncludeError(f'{page_url}: include file="{target}" must be a relative path')
    parts = []
    for seg in (posixpath.dirname(page_url).strip("/") + "/" + target).split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise IncludeError(f'{page_url}: include file="{target}" leaves the site')
            parts.pop()
        else:
            parts.append(seg)
    url = "/" + "/".join(parts)
    if not is_partial(url):
        raise IncludeError(f'{page_url}: include file="{target}" is not in a {PARTIALS}/ directory')
    return url


def resolve(page_url, body, read):
    """`body` of an .html page with its includes replaced; `read(url)` gives a partial's bytes or None."""
    out, pos = [], 0
    while (start := body.find(b"<!--#", pos)) != -1:
        m = DIRECTIVE.match(body, start)
        if not m:
            line = body.count(b"\n", 0, start) + 1
            raise IncludeError(f'{page_url}: line {line}: not an include directive of the form <!--#include file="..." -->')
        target = m.group(1).decode("utf-8", "replace")
        url = partial_url(page_url, target)
        partial = read(url)
        if partial is None:
            raise IncludeError(f'{page_url}: include file="{target}": {url} does not exist')
        if b"<!--#" in partial:
            raise IncludeError(f"{page_url}: {url} contains a directive (partials cannot include)")
        out += [body[pos:start], partial[:-1] if partial.endswith(b"\n") else partial]
        pos = m.end()
    out.append(body[pos:])
    return b"".join(out)


def served_bytes(site, files, url):
    """The bytes marketing-server answers for `url` (a key of `files`, as from source_files)."""
    with open(files[url], "rb") as f:
        body = f.read()
    if not url.endswith(".html") or is_partial(url):
        return body

    def read(partial):
        if partial not in files:
            return None
        with open(files[partial], "rb") as f:
            return f.read()

    return resolve(url, body, read)


def export(site, out):
    """Writes `site` as served (directories merged, includes resolved, no partials) into `out`."""
    files, clashes = source_files(site)
    if clashes:
        raise IncludeError(f"{clashes[0][0]} is in two directories of the {site} site")
    for url in files:
        if is_partial(url):
            continue
        dest = os.path.join(out, url.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if url.endswith(".html"):
            with open(dest, "wb") as f:
                f.write(served_bytes(site, files, url))
        else:
            shutil.copyfile(files[url], dest)


def main(argv):
    if len(argv) != 3 or argv[0] != "export" or argv[1] not in SITES:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        export(argv[1], argv[2])
    except IncludeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
