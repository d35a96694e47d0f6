#!/usr/bin/env bash
# Builds the local base image `modelfleet/base:local` offline.
#
# No container registry is reachable on the development and CI machines, so `FROM
# node:20-bookworm-slim` cannot be pulled. This script stands in for it: a root filesystem
# holding this machine's `node` binary, the shared libraries `ldd` lists for it (and for
# onnxruntime-node's linux/x64 binaries, when installed), an /etc/passwd with the non-root user
# the model images run as (uid 10001), and a world-writable /tmp. No shell, no package manager,
# no CA bundle: a model server makes no outbound connection. `docker import` turns the tree
# into a one-layer image (https://docs.docker.com/reference/cli/docker/image/import/).
#
# Usage: scripts/build-base-image.sh [--force] [--tag NAME]
#   Skips the build when the tag already exists, unless --force (or MODELFLEET_BASE_FORCE=1).
set -euo pipefail

tag="${MODELFLEET_BASE_IMAGE:-modelfleet/base:local}"
force="${MODELFLEET_BASE_FORCE:-0}"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --tag) tag="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-base-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'build-base-image: %s\n' "$*"; }

if [ "$force" != "1" ] && docker image inspect "$tag" >/dev/null 2>&1; then
  say "$tag already exists (use --force to rebuild)"
  exit 0
fi

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
node_bin="$(readlink -f "$(command -v node)")"
root="$(mktemp -d "${TMPDIR:-/tmp}/modelfleet-base-rootfs.XXXXXX")"
trap 'rm -rf "$root"' EXIT

# Copies one file to the same absolute path inside the root filesystem, following symlinks
# so the image holds real files.
copy_into_root() {
  local source="$1" target="$root$2"
  mkdir -p "$(dirname "$target")"
  cp -L "$source" "$target"
}

# Lists the libraries one ELF file needs: both the path ldd resolved and the name it was
# asked for live in the image, so the loader finds them with or without a cache.
copy_libraries_of() {
  ldd "$1" | while read -r first second third _; do
    if [ "$second" = "=>" ] && [ -n "${third:-}" ] && [ -e "$third" ]; then
      copy_into_root "$third" "$third"
    elif [ "${first#/}" != "$first" ] && [ -e "$first" ]; then
      # The dynamic loader itself, e.g. /lib64/ld-linux-x86-64.so.2.
      copy_into_root "$first" "$first"
    fi
  done
}

say "root filesystem from $node_bin ($(node --version))"
copy_into_root "$node_bin" /usr/local/bin/node
copy_libraries_of "$node_bin"

shopt -s nullglob
for native in "$repo_root"/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/*; do
  case "$native" in *.so*|*.node) copy_libraries_of "$native" ;; esac
done
shopt -u nullglob

mkdir -p "$root/etc" "$root/tmp" "$root/app" "$root/model" "$root/home/modelfleet"
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
modelfleet:x:10001:10001:modelfleet:/home/modelfleet:/usr/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
modelfleet:x:10001:
GROUP
chown 10001:10001 "$root/home/modelfleet"

say "importing $tag ($(du -sh "$root" | cut -f1))"
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_ENV=production' \
  --change 'ENV ORT_DISABLE_TELEMETRY=1' \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /app' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null

docker run --rm --network host "$tag" node -e 'process.stdout.write(`node ${process.version} uid ${process.getuid()}\n`)' \
  | sed 's/^/build-base-image: smoke test: /'
say "built $tag ($(docker image inspect "$tag" --format '{{.Size}}') bytes)"
