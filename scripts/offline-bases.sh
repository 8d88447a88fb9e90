#!/usr/bin/env bash
# Build local stand-ins for the upstream base images from Debian 13 (trixie) packages, for machines
# that reach Debian's mirror but no container registry. Names (scripts/base-images.conf; each
# overridable by its env var):
#   local/debian:trixie                  OFFLINE_DEBIAN_IMAGE    debootstrap minbase trixie
#   local/rust:1.96-trixie               OFFLINE_RUST_IMAGE      trixie's rustc-web/cargo-web 1.96 +
#                                                                rustfmt + clippy (the builder)
#   local/distroless-cc:debian13-nonroot OFFLINE_RUNTIME_IMAGE   libc6, libgcc-s1, libssl3t64, CA
#                                                                bundle, tzdata; no shell (the runtime)
#   local/postgres:17-trixie             OFFLINE_POSTGRES_IMAGE  postgresql-17 with the official
#                                                                image's POSTGRES_* / PGDATA contract
# Idempotent: an image that already exists is reused (FORCE=1 rebuilds). Normally run for you by
# scripts/bases.sh, which only asks for the stand-ins whose upstream image is unavailable.
# Usage: scripts/offline-bases.sh [debian|rust|runtime|postgres]...   (default: all four)
# Env: DOCKER, MIRROR, SECURITY_MIRROR, FORCE, PROGRESS (BuildKit progress: auto|plain|tty)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DOCKER=${DOCKER:-/usr/bin/docker}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=trixie
WORK=${WORK:-.build/offline-bases}
PROGRESS=${PROGRESS:-auto}
export DOCKER_BUILDKIT=1

. scripts/base-images.conf
DEBIAN_IMAGE=$OFFLINE_DEBIAN_IMAGE
RUST_IMAGE=$OFFLINE_RUST_IMAGE
RUNTIME_IMAGE=$OFFLINE_RUNTIME_IMAGE
POSTGRES_IMAGE=$OFFLINE_POSTGRES_IMAGE

have() { [ -z "${FORCE:-}" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
build() { "$DOCKER" build --progress="$PROGRESS" "$@"; }

mkdir -p "$WORK"

# The apt sources every derived image uses: plain http works from inside containers (no CA needed).
SOURCES="deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main"

build_debian() {
  if have "$DEBIAN_IMAGE"; then log "$DEBIAN_IMAGE: exists, reused"; return; fi
  step "building $DEBIAN_IMAGE (debootstrap $SUITE, about 1 min; log: $WORK/debootstrap.log)" \
    "${RERUN:-scripts/offline-bases.sh debian}"
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get install -y -qq debootstrap >/dev/null
  fi
  local dir="$WORK/debian-rootfs"
  # An interrupted debootstrap may leave /proc or /sys mounted inside: never rm through them.
  for m in proc sys dev/pts dev; do mountpoint -q "$dir/$m" 2>/dev/null && umount -l "$dir/$m"; done
  rm -rf --one-file-system "$dir"
  debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  printf '%s\n' "$SOURCES" >"$dir/etc/apt/sources.list"
  rm -f "$dir/etc/apt/sources.list.d/debian.sources"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" --numeric-owner -c . \
    | "$DOCKER" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf --one-file-system "$dir"
  step_done
}

build_rust() {
  if have "$RUST_IMAGE"; then log "$RUST_IMAGE: exists, reused"; return; fi
  step "building $RUST_IMAGE (trixie rustc-web/cargo-web, about 1-2 min, 1.2 GB)" \
    "${RERUN:-scripts/offline-bases.sh rust}"
  build -t "$RUST_IMAGE" - <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      rustc-web cargo-web rustfmt-web rust-web-clippy gcc libc6-dev pkg-config ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && cargo --version && rustc --version && cargo fmt --version && cargo clippy --version
ENV CARGO_HOME=/usr/local/cargo
WORKDIR /src
EOF
  step_done
}

build_runtime() {
  if have "$RUNTIME_IMAGE"; then log "$RUNTIME_IMAGE: exists, reused"; return; fi
  step "building $RUNTIME_IMAGE (distroless-cc stand-in from trixie packages, about 1 min)" \
    "${RERUN:-scripts/offline-bases.sh runtime}"
  local dir="$WORK/distroless"
  rm -rf "$dir"; mkdir -p "$dir"
  # Stage 1 assembles the rootfs in a Debian container and exports only the tar. The package list is
  # distroless cc's: glibc, libgcc, OpenSSL 3, CA certificates, time zones, /etc/services & co.
  cat >"$dir/Dockerfile.rootfs" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update && mkdir -p /debs /rootfs && cd /debs \
 && apt-get download libc6 libgcc-s1 libssl3t64 libzstd1 zlib1g base-files netbase tzdata \
      media-types ca-certificates \
 && for d in *.deb; do dpkg-deb -x "$d" /rootfs; done
WORKDIR /rootfs
RUN set -eu; \
    for l in bin sbin lib lib64; do \
      if [ -d "$l" ] && [ ! -L "$l" ]; then mkdir -p "usr/$l"; cp -a "$l"/. "usr/$l"/; rm -rf "$l"; fi; \
      rm -f "$l"; mkdir -p "usr/$l"; ln -s "usr/$l" "$l"; \
    done; \
    rm -rf usr/share/doc usr/share/man usr/share/info usr/share/lintian usr/share/locale \
           usr/sbin/* usr/bin/* etc/init.d etc/default usr/lib/x86_64-linux-gnu/gconv \
           usr/share/base-files/dot.* usr/share/base-files/profile* usr/share/base-files/motd \
           usr/share/common-licenses usr/libexec etc/update-motd.d etc/profile etc/bash.bashrc \
           usr/share/zoneinfo/right usr/share/zoneinfo/posix usr/share/bug; \
    mkdir -p etc/ssl/certs; \
    cat usr/share/ca-certificates/mozilla/*.crt > etc/ssl/certs/ca-certificates.crt; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > etc/passwd; \
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > etc/group; \
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' > etc/nsswitch.conf; \
    rm -f etc/os-release usr/lib/os-release; \
    printf 'PRETTY_NAME="Distroless-cc stand-in (Debian GNU/Linux 13 packages)"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="13"\nVERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nHOME_URL="https://github.com/GoogleContainerTools/distroless"\n' > usr/lib/os-release; \
    cp usr/lib/os-release etc/os-release; \
    mkdir -p root home/nonroot tmp var/tmp; chmod 700 root home/nonroot; chmod 1777 tmp var/tmp; \
    chown 65532:65532 home/nonroot; \
    test ! -e bin/sh && test ! -e usr/bin/sh && test -e lib64/ld-linux-x86-64.so.2 \
      && test -e usr/lib/x86_64-linux-gnu/libssl.so.3 && test -s etc/ssl/certs/ca-certificates.crt; \
    sync; \
    tar --sort=name --mtime=@0 --numeric-owner --warning=no-file-changed -C /rootfs -cf /rootfs.tar . \
      || [ $? -eq 1 ]; \
    tar -tvf /rootfs.tar ./home/nonroot/ | grep -q '65532/65532'
FROM scratch AS export
COPY --from=build /rootfs.tar /rootfs.tar
EOF
  build --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -f "$dir/Dockerfile.rootfs" \
    --output "type=local,dest=$dir/out" "$dir"
  cat >"$dir/out/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
EOF
  build -t "$RUNTIME_IMAGE" "$dir/out"
  rm -rf "$dir"
  step_done
}

build_postgres() {
  if have "$POSTGRES_IMAGE"; then log "$POSTGRES_IMAGE: exists, reused"; return; fi
  step "building $POSTGRES_IMAGE (trixie postgresql-17, about 1 min)" "${RERUN:-scripts/offline-bases.sh postgres}"
  local dir="$WORK/postgres"
  rm -rf "$dir"; mkdir -p "$dir"
  cp scripts/postgres-entrypoint.sh "$dir/docker-entrypoint.sh"
  chmod 755 "$dir/docker-entrypoint.sh"
  # Same defaults as the official postgres:17 image (PGDATA, VOLUME, STOPSIGNAL, the entrypoint's
  # POSTGRES_* contract); the compose files set PGDATA explicitly for the 18+ layout.
  cat >"$dir/Dockerfile" <<'EOF'
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# No cluster at install time: the entrypoint creates it in $PGDATA on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-17 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data && chmod 2777 /var/run/postgresql \
 && /usr/lib/postgresql/17/bin/postgres --version
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/17/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8 PG_MAJOR=17
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
EOF
  build --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -t "$POSTGRES_IMAGE" "$dir"
  rm -rf "$dir"
  step_done
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(rust runtime postgres)
for w in "${wanted[@]}"; do
  case "$w" in
    debian | rust | runtime | postgres) ;;
    *) die "unknown offline base '$w' (expected debian, rust, runtime or postgres)" ;;
  esac
done
# Every stand-in derives from the Debian base. One at a time: the machine has 2 cores.
build_debian
for w in "${wanted[@]}"; do
  [ "$w" = debian ] || "build_$w"
done
