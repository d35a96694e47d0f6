#!/usr/bin/env bash
# Installs Debian's redis-server (7.0: streams, consumer groups, XAUTOCLAIM) for bulk predictions.
# Only the binary is needed: the tests and the local target start their own redis-server on
# 127.0.0.1, on a port and in a folder of their own, and stop it afterwards.
#
# Idempotent and quiet when redis-server is already there. Debian's package may start its own
# service on 127.0.0.1:6379 where an init system runs; nothing here relies on that one.
set -euo pipefail

say() { printf 'setup-redis: %s\n' "$*"; }

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "redis-server is missing and this is not root; run: sudo apt-get install -y --no-install-recommends redis-server" >&2
  exit 1
fi

say "installing redis-server (Debian package)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends redis-server >/tmp/modelfleet-setup-redis.log 2>&1; then
  apt-get update -qq >>/tmp/modelfleet-setup-redis.log 2>&1
  apt-get install -y --no-install-recommends redis-server >>/tmp/modelfleet-setup-redis.log 2>&1 || {
    say "apt-get install redis-server failed; see /tmp/modelfleet-setup-redis.log" >&2
    exit 1
  }
fi
major="$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')"
if [ -z "$major" ] || [ "$major" -lt 7 ]; then
  say "redis-server $(redis-server --version) is older than 7.0; bulk predictions need streams with consumer-group lag (Redis >= 7)" >&2
  exit 1
fi
say "installed $(redis-server --version | cut -d' ' -f3)"
