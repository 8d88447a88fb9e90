#!/bin/sh
# Content-based freshness for cargo builds in a BuildKit cache mount (docker/Dockerfile).
#
# Cargo decides whether a workspace crate is fresh by comparing its sources' mtimes with its last
# build. In an image build, the sources' mtimes come from whichever checkout made the context,
# while target/ lives in a cache mount shared by every checkout and every commit, so mtimes alone
# can be wrong both ways: an edit dated before the cached build would ship a stale binary, and a
# fresh clone would rebuild (and fat-LTO relink) everything although nothing changed.
#
#   fresh-sources.sh prepare MANIFEST   before the cargo commands
#   fresh-sources.sh record  MANIFEST   after all of them succeeded
#
# MANIFEST (inside the cache mount) lists the sha256 of every file under crates/ as of the last
# build that succeeded. `prepare` gives each file whose content is unchanged since then an old
# mtime (so cargo keeps what it built from it) and every changed or new file the current time;
# without a manifest every file gets the current time (everything rebuilds). `prepare` also
# removes the manifest, so a build that fails part-way leaves none and the next build trusts
# nothing. One manifest per set of cargo commands sharing a target/ (a manifest vouches for every
# artifact those commands produced from that content, nothing else).
set -eu
mode=$1 manifest=$2
now=/tmp/fresh-sources.now

case $mode in
  prepare)
    find crates -type f -print0 | xargs -0 sha256sum | LC_ALL=C sort >"$now"
    if [ -f "$manifest" ]; then
      # "HASH  PATH" lines: 64 hex digits, two spaces, the path from column 67.
      LC_ALL=C comm -12 "$now" "$manifest" | cut -c67- | tr '\n' '\0' | xargs -0 -r touch -c -d @1
      LC_ALL=C comm -23 "$now" "$manifest" | cut -c67- | tr '\n' '\0' | xargs -0 -r touch -c
      echo "fresh-sources: $(LC_ALL=C comm -23 "$now" "$manifest" | wc -l) of $(wc -l <"$now") files under crates/ changed since the last build"
      rm -f "$manifest"
    else
      find crates -type f -exec touch {} +
      echo "fresh-sources: no record of a previous build; every file counts as changed"
    fi
    ;;
  record)
    mkdir -p "$(dirname "$manifest")"
    cp "$now" "$manifest"
    ;;
  *)
    echo "usage: fresh-sources.sh prepare|record MANIFEST" >&2
    exit 2
    ;;
esac
