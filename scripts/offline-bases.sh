#!/usr/bin/env bash
# Build local stand-ins for the upstream base images from Debian packages, for machines that can
# reach Debian's mirror but no container registry (see ENVIRONMENT.md):
#   local/debian:bookworm        debootstrap minbase
#   local/rust:bookworm          Debian's rustc-web/cargo-web + rustfmt + clippy (the builder)
#   local/distroless-cc:nonroot  libc6 + libgcc-s1 + CA bundle + tzdata, no shell (the runtime)
#   local/postgres:15-bookworm   postgresql-15 with the official image's POSTGRES_* contract
# Idempotent: an image that already exists is skipped (FORCE=1 rebuilds).
# Usage: scripts/offline-bases.sh   (env: DOCKER, MIRROR, SECURITY_MIRROR, FORCE)
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-/usr/bin/docker}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
WORK=${WORK:-.build/offline-bases}
export DOCKER_BUILDKIT=1

DEBIAN_IMAGE=local/debian:bookworm
RUST_IMAGE=local/rust:bookworm
RUNTIME_IMAGE=local/distroless-cc:nonroot
POSTGRES_IMAGE=local/postgres:15-bookworm

log() { printf '==> %s\n' "$*" >&2; }
have() { [ -z "${FORCE:-}" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

mkdir -p "$WORK"

# The apt sources every derived image uses: plain http works from inside containers (no CA needed).
SOURCES="deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main"

build_debian() {
  if have "$DEBIAN_IMAGE"; then log "$DEBIAN_IMAGE exists"; return; fi
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y debootstrap >/dev/null; }
  local dir="$WORK/debian-rootfs"
  # A debootstrap that was interrupted may leave /proc or /sys mounted inside: never rm through them.
  for m in proc sys dev/pts dev; do mountpoint -q "$dir/$m" 2>/dev/null && umount -l "$dir/$m"; done
  rm -rf --one-file-system "$dir"
  log "debootstrap bookworm -> $dir"
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  printf '%s\n' "$SOURCES" >"$dir/etc/apt/sources.list"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" --numeric-owner -c . \
    | "$DOCKER" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$dir"
  log "built $DEBIAN_IMAGE"
}

build_rust() {
  if have "$RUST_IMAGE"; then log "$RUST_IMAGE exists"; return; fi
  log "building $RUST_IMAGE"
  "$DOCKER" build -t "$RUST_IMAGE" - <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      rustc-web cargo-web rustfmt-web rust-web-clippy gcc libc6-dev pkg-config ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && cargo --version && rustc --version && cargo fmt --version && cargo clippy --version
ENV CARGO_HOME=/usr/local/cargo
WORKDIR /src
EOF
}

build_runtime() {
  if have "$RUNTIME_IMAGE"; then log "$RUNTIME_IMAGE exists"; return; fi
  log "building $RUNTIME_IMAGE rootfs"
  local dir="$WORK/distroless"
  rm -rf "$dir"; mkdir -p "$dir"
  # Stage 1 assembles the rootfs in a Debian container and exports only the tar.
  cat >"$dir/Dockerfile.rootfs" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update && mkdir -p /debs /rootfs && cd /debs \
 && apt-get download libc6 libgcc-s1 base-files netbase tzdata media-types ca-certificates \
 && for d in *.deb; do dpkg-deb -x "$d" /rootfs; done
WORKDIR /rootfs
RUN set -eu; \
    for l in bin sbin lib lib64; do \
      if [ -d "$l" ] && [ ! -L "$l" ]; then cp -a "$l"/. "usr/$l"/ 2>/dev/null || true; rm -rf "$l"; fi; \
      mkdir -p "usr/$l"; ln -s "usr/$l" "$l"; \
    done; \
    rm -rf usr/share/doc usr/share/man usr/share/info usr/share/lintian usr/share/locale \
           usr/sbin/* usr/bin/* etc/init.d etc/default usr/lib/x86_64-linux-gnu/gconv \
           usr/share/base-files/dot.* usr/share/base-files/profile* usr/share/base-files/motd \
           usr/share/common-licenses usr/libexec etc/update-motd.d etc/profile etc/bash.bashrc \
           usr/share/zoneinfo/right usr/share/zoneinfo/posix; \
    mkdir -p etc/ssl/certs; \
    cat usr/share/ca-certificates/mozilla/*.crt > etc/ssl/certs/ca-certificates.crt; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > etc/passwd; \
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > etc/group; \
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' > etc/nsswitch.conf; \
    rm -f etc/os-release; \
    printf 'PRETTY_NAME="Distroless-cc stand-in (Debian 12 packages)"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\nHOME_URL="https://github.com/GoogleContainerTools/distroless"\n' > etc/os-release; \
    cp etc/os-release usr/lib/os-release; \
    mkdir -p root home/nonroot tmp var/tmp; chmod 700 root home/nonroot; chmod 1777 tmp var/tmp; \
    chown 65532:65532 home/nonroot; \
    test ! -e bin/sh && test ! -e usr/bin/sh && test -e lib64/ld-linux-x86-64.so.2; \
    sync; \
    tar --sort=name --mtime=@0 --numeric-owner --warning=no-file-changed -C /rootfs -cf /rootfs.tar . \
      || [ $? -eq 1 ]; \
    tar -tvf /rootfs.tar ./home/nonroot/ | grep -q '65532/65532'
FROM scratch AS export
COPY --from=build /rootfs.tar /rootfs.tar
EOF
  "$DOCKER" build --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -f "$dir/Dockerfile.rootfs" \
    --output "type=local,dest=$dir/out" "$dir"
  cat >"$dir/out/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
EOF
  log "building $RUNTIME_IMAGE"
  "$DOCKER" build -t "$RUNTIME_IMAGE" "$dir/out"
}

build_postgres() {
  if have "$POSTGRES_IMAGE"; then log "$POSTGRES_IMAGE exists"; return; fi
  log "building $POSTGRES_IMAGE"
  local dir="$WORK/postgres"
  rm -rf "$dir"; mkdir -p "$dir"
  cp scripts/postgres-entrypoint.sh "$dir/docker-entrypoint.sh"
  cat >"$dir/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# No cluster at install time: the entrypoint creates it in $PGDATA on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data && chmod 2777 /var/run/postgresql
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
EOF
  chmod 755 "$dir/docker-entrypoint.sh"
  "$DOCKER" build --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -t "$POSTGRES_IMAGE" "$dir"
}

build_debian
# The three derived images only need the Debian base; build them one after another (2 cores).
build_rust
build_runtime
build_postgres
log "offline bases ready:"
"$DOCKER" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^local/' >&2 || true
