#!/usr/bin/env bash
# Starts a second, empty Docker engine beside the first: it stands in for a fresh per-job GitLab
# runner (Docker-in-Docker starts with no images), so tests can prove that a job gets what it
# needs from the registry and not from an image cache another job left behind.
#
# Idempotent: starts dockerd only when nothing answers on the socket, then waits for `docker info`.
# Everything the engine owns is its own, so the first engine is never disturbed:
# - data root, exec root, pidfile and socket of its own;
# - its own managed containerd: dockerd starts one under <exec-root>/containerd when no system
#   containerd answers on /run/containerd/containerd.sock (the first engine started its own
#   under /var/run/docker/containerd, which a different exec root does not touch);
# - its own containerd namespaces, so that even where a system containerd is shared its
#   containers and images never mix with the first engine's (`moby`);
# - its own (empty) daemon config file, so /etc/docker/daemon.json (e.g. `hosts`) cannot clash.
# Like the first engine it has no bridge network and no iptables rules: containers use host
# networking on 127.0.0.1 only.
#
# Environment:
#   MODELFLEET_DOCKER2_SOCKET  the engine's unix socket (default /run/modelfleet-docker2.sock)
#   MODELFLEET_DOCKER2_ROOT    its data root (default /var/lib/modelfleet-docker2)
#   MODELFLEET_DOCKER2_LOG     its log file (default /tmp/modelfleet-dockerd2.log)
#   MODELFLEET_DOCKER2_WAIT    seconds to wait for it (default 60)
set -euo pipefail

socket="${MODELFLEET_DOCKER2_SOCKET:-/run/modelfleet-docker2.sock}"
data_root="${MODELFLEET_DOCKER2_ROOT:-/var/lib/modelfleet-docker2}"
log_file="${MODELFLEET_DOCKER2_LOG:-/tmp/modelfleet-dockerd2.log}"
wait_seconds="${MODELFLEET_DOCKER2_WAIT:-60}"
exec_root=/run/modelfleet-docker2
pid_file=/run/modelfleet-docker2.pid
config_file=/etc/modelfleet/docker2.json

say() { printf 'start-second-engine: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

engine_answers() {
  timeout 10 docker -H "unix://$socket" info >/dev/null 2>&1
}

command -v dockerd >/dev/null 2>&1 || {
  say "dockerd is not installed; run scripts/setup-docker.sh first (installs docker.io)"; exit 1; }

if engine_answers; then
  say "engine already answers on unix://$socket"
  exit 0
fi

running_pid="$(cat "$pid_file" 2>/dev/null || true)"
if [ -n "$running_pid" ] && kill -0 "$running_pid" 2>/dev/null; then
  say "the second dockerd (pid $running_pid) is running but not answering yet; waiting"
else
  as_root mkdir -p "$data_root" "$exec_root" "$(dirname "$config_file")"
  [ -f "$config_file" ] || echo '{}' | as_root tee "$config_file" >/dev/null
  say "starting a second dockerd on unix://$socket (data root $data_root, log: $log_file)"
  as_root bash -c "setsid nohup dockerd \
    --config-file '$config_file' \
    --data-root '$data_root' \
    --exec-root '$exec_root' \
    --pidfile '$pid_file' \
    -H 'unix://$socket' \
    --containerd-namespace modelfleet-docker2 \
    --containerd-plugins-namespace modelfleet-docker2-plugins \
    --bridge=none --iptables=false --ip6tables=false \
    >>'$log_file' 2>&1 </dev/null &"
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_answers; then
    say "engine answers on unix://$socket ($(docker -H "unix://$socket" version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)); use: docker -H unix://$socket ..."
    exit 0
  fi
  sleep 1
done

say "the second dockerd did not answer on unix://$socket within ${wait_seconds}s; last lines of $log_file:"
tail -n 30 "$log_file" >&2 || true
exit 1
