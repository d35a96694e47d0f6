#!/usr/bin/env bash
# Installs and starts a Docker engine for the integration tests and the local pipeline.
#
# Idempotent: installs docker.io (and rsync, which gitlab-ci-local uses to copy the work tree)
# only when missing, starts dockerd only when no engine answers, and waits until `docker info`
# works. The engine runs without a bridge network and without iptables rules: every container
# uses host networking and serves on 127.0.0.1, so no traffic ever goes to Docker's private
# 172.17.x range.
#
# Environment:
#   MODELFLEET_DOCKER_LOG   dockerd's log file (default /tmp/modelfleet-dockerd.log)
#   MODELFLEET_DOCKER_WAIT  seconds to wait for the engine (default 60)
set -euo pipefail

log_file="${MODELFLEET_DOCKER_LOG:-/tmp/modelfleet-dockerd.log}"
wait_seconds="${MODELFLEET_DOCKER_WAIT:-60}"

say() { printf 'setup-docker: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

engine_answers() {
  timeout 10 docker info >/dev/null 2>&1
}

missing_packages=()
command -v dockerd >/dev/null 2>&1 || missing_packages+=(docker.io)
command -v docker >/dev/null 2>&1 || missing_packages+=(docker.io)
command -v rsync >/dev/null 2>&1 || missing_packages+=(rsync)
if [ "${#missing_packages[@]}" -gt 0 ]; then
  # De-duplicate (docker.io may be listed twice).
  mapfile -t missing_packages < <(printf '%s\n' "${missing_packages[@]}" | sort -u)
  say "installing ${missing_packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >>"$log_file.apt" 2>&1 || {
    say "apt-get update failed; see $log_file.apt"; exit 1; }
  as_root apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >>"$log_file.apt" 2>&1 || {
    say "apt-get install ${missing_packages[*]} failed; see $log_file.apt"; exit 1; }
fi

if engine_answers; then
  say "engine already answers"
  exit 0
fi

if pgrep -x dockerd >/dev/null 2>&1; then
  say "dockerd is running but not answering yet; waiting"
else
  say "starting dockerd (log: $log_file)"
  # Outside a systemd host nothing starts containerd for us; dockerd starts its own when
  # /run/containerd/containerd.sock is absent.
  as_root bash -c "setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >>'$log_file' 2>&1 </dev/null &"
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_answers; then
    say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
    exit 0
  fi
  sleep 1
done

say "dockerd did not answer within ${wait_seconds}s; last lines of $log_file:"
tail -n 30 "$log_file" >&2 || true
exit 1
