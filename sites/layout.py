"""What each served site is made of, for check.py and rehash.py.

A site is served from several directories overlaid, like a PATH: its own directory, then
sites/shared/ (the modules both sites use, such as money.js). marketing-server merges them when
it loads (SITE_DIR=sites/marketing:sites/shared); the images copy both into /site. A URL path
that two directories of one site both provide is an error, never a silent override.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "shared")
SITES = {
    "marketing": [os.path.join(HERE, "marketing"), SHARED],
    "frontend": [os.path.join(HERE, "frontend"), SHARED],
}


def layers():
    """Every directory that is part of some site, each once, in a stable order."""
    seen = []
    for dirs in SITES.values():
        seen += [d for d in dirs if d not in seen]
    return seen


def served_files(site):
    """URL path -> file for one site, plus the paths that more than one directory provides."""
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


def sites_using(layer):
    """The sites whose files may refer to assets of `layer`."""
    return [site for site, dirs in SITES.items() if layer in dirs]
