#!/usr/bin/env bash
# Builds the images of the end-to-end harness without any registry:
#   puqbackup/base:bookworm    Debian bookworm made here with debootstrap
#   puqbackup/api:test         `puqbackup serve` (the host's release binary)
#   puqbackup/ftp-vsftpd:test  vsftpd with the test user backup/backup-password
#   puqbackup/ftp-pure-ftpd:test, puqbackup/ftp-proftpd:test (the same user)
#
# Usage: docker/build-images.sh [--rebuild] [--cargo] [IMAGE...]
#   --rebuild  make the base image again even if it exists
#   --cargo    run `cargo build --release` even if the binary exists
#   IMAGE      any of: base api vsftpd pure-ftpd proftpd (default: all;
#              the base image is made first whenever it is missing)
#
# Needs root (debootstrap), docker.io and debootstrap. Debian packages come
# from DEBIAN_MIRROR (default http://deb.debian.org/debian); nothing is pulled.
set -euo pipefail

# The classic builder: it works offline and never pulls an image it has.
export DOCKER_BUILDKIT=0

repo=$(cd "$(dirname "$0")/.." && pwd)
base_image=${PUQBACKUP_BASE_IMAGE:-puqbackup/base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=bookworm
label=io.puqbackup.harness=true
# Installed in the base: what every image needs.
packages="tini curl ca-certificates openssl"
# The FTP servers conflict with each other (each provides ftp-server): the
# base holds their packages, with dependencies, under
# /var/cache/puqbackup/debs/<server>/, and each FTP image installs its own
# from there, offline.
ftp_servers="vsftpd pure-ftpd proftpd-core"

rebuild=0
cargo=0
targets=()
for arg in "$@"; do
    case $arg in
        --rebuild) rebuild=1 ;;
        --cargo) cargo=1 ;;
        base | api | vsftpd | pure-ftpd | proftpd) targets+=("$arg") ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(api vsftpd pure-ftpd proftpd)

script_start=$SECONDS
timings=()
timed() { # timed LABEL COMMAND...: runs it and records how long it took
    local what=$1 start=$SECONDS
    shift
    "$@"
    timings+=("$(printf '%-28s %4ds' "$what" $((SECONDS - start)))")
}

docker info >/dev/null 2>&1 || { echo "docker does not answer: start dockerd first" >&2; exit 1; }

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# --- the base image -------------------------------------------------------
make_base() {
    [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
    command -v debootstrap >/dev/null || { echo "install debootstrap" >&2; exit 1; }
    local work
    work=$(mktemp -d /var/tmp/puqbackup-base.XXXXXX)
    # shellcheck disable=SC2064
    trap "umount -R '$work/root/proc' '$work/root/sys' 2>/dev/null || true; rm -rf --one-file-system '$work'" EXIT
    echo "== debootstrap $suite into $work/root"
    debootstrap --variant=minbase "$suite" "$work/root" "$mirror" \
        >"$work/debootstrap.log" 2>&1 || {
        tail -30 "$work/debootstrap.log" "$work/root/debootstrap/debootstrap.log" >&2 || true
        exit 1
    }
    # Security and point-release updates, the packages, then a clean apt
    # state. No service may start inside the chroot, nor in a docker build
    # later: policy-rc.d stays, as in the official Debian images.
    cat >"$work/root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
    printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
    chmod 0755 "$work/root/usr/sbin/policy-rc.d"
    mount -t proc proc "$work/root/proc"
    echo "== apt-get install $packages; apt-get download $ftp_servers"
    chroot "$work/root" /bin/sh -c "set -e; export DEBIAN_FRONTEND=noninteractive
        apt-get -q update; apt-get -q -y upgrade
        apt-get -q -y install --no-install-recommends $packages; apt-get clean
        for server in $ftp_servers; do
            apt-get -q -y install --no-install-recommends --download-only \$server
            mkdir -p /var/cache/puqbackup/debs/\$server
            mv /var/cache/apt/archives/*.deb /var/cache/puqbackup/debs/\$server/
        done
        apt-get clean" \
        >"$work/install.log" 2>&1 || { tail -40 "$work/install.log" >&2; exit 1; }
    umount "$work/root/proc"
    rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin \
        "$work/root/var/log/"*.log "$work/root/var/log/apt/"*
    # The engine provides these at run time; the host's must not ship.
    : >"$work/root/etc/resolv.conf"
    echo localhost >"$work/root/etc/hostname"
    echo "== docker import $base_image"
    local old
    old=$(image_id "$base_image")
    tar -C "$work/root" --numeric-owner -c . |
        docker import --change "LABEL $label" --change 'CMD ["/bin/bash"]' \
            -m "debootstrap --variant=minbase $suite; $packages; debs of $ftp_servers" - "$base_image" >/dev/null
    if [ -n "$old" ] && [ "$old" != "$(image_id "$base_image")" ]; then
        docker image rm "$old" >/dev/null 2>&1 || true
    fi
    rm -rf --one-file-system "$work"
    trap - EXIT
}

if [ $rebuild = 1 ] || [ -z "$(image_id "$base_image")" ]; then
    timed "base (debootstrap+import)" make_base
else
    echo "== $base_image exists (--rebuild to make it again)"
fi

# --- the release binary ---------------------------------------------------
binary="$repo/target/release/puqbackup"
if [[ " ${targets[*]} " == *" api "* ]]; then
    if [ $cargo = 1 ] || [ ! -x "$binary" ]; then
        timed "cargo build --release" cargo build --release --manifest-path "$repo/Cargo.toml"
    elif [ -n "$(find "$repo/src" "$repo/Cargo.toml" "$repo/Cargo.lock" -newer "$binary" -print -quit)" ]; then
        echo "warning: $binary is older than the sources; --cargo rebuilds it" >&2
    fi
    install -m 0755 "$binary" "$repo/docker/api/puqbackup"
    # Symbols stay (backtraces name functions); the debug info is dropped.
    if command -v strip >/dev/null; then strip --strip-debug "$repo/docker/api/puqbackup"; fi
fi

# --- the images -----------------------------------------------------------
build() { # build NAME CONTEXT
    local name=$1 context=$2 old
    old=$(image_id "$name")
    echo "== docker build $name"
    docker build --pull=false --force-rm --build-arg "BASE_IMAGE=$base_image" \
        -t "$name" "$context" || {
        docker image prune -f --filter "label=$label" >/dev/null
        echo "docker build $name failed" >&2
        exit 1
    }
    # The image it replaced is no use any more (unless a container runs it).
    if [ -n "$old" ] && [ "$old" != "$(image_id "$name")" ]; then
        docker image rm "$old" >/dev/null 2>&1 || true
    fi
}

for target in "${targets[@]}"; do
    case $target in
        api) timed "puqbackup/api:test" build puqbackup/api:test "$repo/docker/api" ;;
        vsftpd) timed "puqbackup/ftp-vsftpd:test" build puqbackup/ftp-vsftpd:test "$repo/docker/ftp" ;;
        pure-ftpd) timed "puqbackup/ftp-pure-ftpd:test" build puqbackup/ftp-pure-ftpd:test "$repo/docker/pure-ftpd" ;;
        proftpd) timed "puqbackup/ftp-proftpd:test" build puqbackup/ftp-proftpd:test "$repo/docker/proftpd" ;;
    esac
done

# Dangling leftovers of ours only (a failed step, a replaced image in use).
docker image prune -f --filter "label=$label" >/dev/null

echo "== timings"
printf '%s\n' "${timings[@]}"
printf '%-28s %4ds\n' total $((SECONDS - script_start))
docker image ls --filter "label=$label" --format 'table {{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}'
