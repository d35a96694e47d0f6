#!/usr/bin/env bash
# Installs and starts a real container registry on 127.0.0.1:5000 for the tests and the local
# pipeline: Debian's `docker-registry` (distribution 2.8), with a config of our own.
#
# Idempotent: installs the package only when missing, rewrites the config, and (re)starts the
# registry only when it is not already running with that config. It listens on loopback only
# (the engine treats 127.0.0.0/8 registries as insecure by default, so push/pull need no TLS)
# and never asks for credentials; deleting is enabled because tests delete what they store.
#
# The package's own service listens on every interface (`addr: :5000`) and asks for htpasswd
# credentials; it is stopped and disabled so that only this loopback registry holds the port.
#
# Environment:
#   MODELFLEET_REGISTRY_ADDR     listen address (default 127.0.0.1:5000; loopback only)
#   MODELFLEET_REGISTRY_STORAGE  storage folder (default /var/lib/modelfleet-registry)
#   MODELFLEET_REGISTRY_CONFIG   config file (default /etc/modelfleet/registry.yml)
#   MODELFLEET_REGISTRY_LOG      registry log file (default /tmp/modelfleet-registry.log)
#   MODELFLEET_REGISTRY_WAIT     seconds to wait for the registry (default 30)
set -euo pipefail

addr="${MODELFLEET_REGISTRY_ADDR:-127.0.0.1:5000}"
storage_dir="${MODELFLEET_REGISTRY_STORAGE:-/var/lib/modelfleet-registry}"
config_file="${MODELFLEET_REGISTRY_CONFIG:-/etc/modelfleet/registry.yml}"
log_file="${MODELFLEET_REGISTRY_LOG:-/tmp/modelfleet-registry.log}"
wait_seconds="${MODELFLEET_REGISTRY_WAIT:-30}"
pid_file=/run/modelfleet-registry.pid
binary=/usr/bin/docker-registry
service_user=docker-registry

say() { printf 'setup-registry: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

port="${addr##*:}"
host="${addr%:*}"
case "$host" in
  127.*|'[::1]') ;;
  *) say "MODELFLEET_REGISTRY_ADDR=$addr is not a loopback address; the test registry has no auth and must listen on 127.0.0.0/8 or [::1] only"; exit 1 ;;
esac

# HTTP status of GET url, or 000 when nothing answers. curl is usual on Debian; node is a
# requirement of the project anyway, so it is the fallback.
http_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || echo 000
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => console.log(r.status), () => console.log("000"))' "$1"
  fi
}

registry_answers() {
  [ "$(http_status "http://$addr/v2/")" = 200 ]
}

# Local addresses listening on the registry's port, one per line (e.g. 127.0.0.1:5000, 0.0.0.0:5000, *:5000).
listeners_on_port() {
  ss -Hltn "sport = :$port" 2>/dev/null | awk '{ print $4 }'
}

our_pid() {
  local pid
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "serve $config_file" && echo "$pid"
}

install_package() {
  export DEBIAN_FRONTEND=noninteractive
  say "installing docker-registry (apt-get; log: $log_file.apt)"
  if ! as_root apt-get install -y -qq --no-install-recommends docker-registry >>"$log_file.apt" 2>&1; then
    # A fresh machine may have no package lists yet: update once, then try again.
    as_root apt-get update -qq >>"$log_file.apt" 2>&1 || { say "apt-get update failed; see $log_file.apt"; exit 1; }
    as_root apt-get install -y -qq --no-install-recommends docker-registry >>"$log_file.apt" 2>&1 || {
      say "apt-get install docker-registry failed; see $log_file.apt"; exit 1; }
  fi
}

# The packaged service binds every interface; stop it (whether systemd, sysvinit or a postinst
# without policy-rc.d started it) and keep it from starting again at boot.
disable_packaged_service() {
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/docker-registry ]; then
    if ls /etc/rc[2-5].d/S*docker-registry >/dev/null 2>&1; then
      as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
    fi
    # Called directly: invoke-rc.d asks policy-rc.d, which in containers denies every action.
    if [ -s /var/run/docker-registry.pid ] && kill -0 "$(cat /var/run/docker-registry.pid)" 2>/dev/null; then
      say "stopping the packaged docker-registry service (it listens on every interface)"
      as_root /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
    fi
  fi
}

config_text() {
  cat <<EOF
# Written by scripts/setup-registry.sh: the loopback registry for modelfleet's tests and local
# pipeline. No auth (loopback only); deletes enabled (tests delete the records they store).
version: 0.1
log:
  level: info
  fields:
    service: modelfleet-registry
storage:
  filesystem:
    rootdirectory: $storage_dir
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

[ -x "$binary" ] || install_package
disable_packaged_service

config_changed=true
if [ -f "$config_file" ] && [ "$(cat "$config_file")" = "$(config_text)" ]; then
  config_changed=false
fi

running_pid="$(our_pid || true)"
if [ -n "$running_pid" ] && [ "$config_changed" = false ] && registry_answers; then
  say "registry already answers on http://$addr (pid $running_pid)"
  exit 0
fi
if [ -n "$running_pid" ]; then
  say "restarting the registry (pid $running_pid) with the current config"
  as_root kill "$running_pid"
  for _ in $(seq 1 20); do kill -0 "$running_pid" 2>/dev/null || break; sleep 0.25; done
fi

# Anything else on the port would answer in our place (or keep ours from binding). A service
# stopped a moment ago may still hold it briefly: init scripts send SIGTERM without waiting.
other_listeners="$(listeners_on_port)"
for _ in $(seq 1 20); do
  [ -z "$other_listeners" ] && break
  sleep 0.25
  other_listeners="$(listeners_on_port)"
done
if [ -n "$other_listeners" ]; then
  say "port $port is already taken by another program (listening on: $(echo "$other_listeners" | tr '\n' ' '))."
  say "stop it (ss -ltnp 'sport = :$port' names it) or set MODELFLEET_REGISTRY_ADDR to a free loopback address, then run this again"
  exit 1
fi

as_root mkdir -p "$(dirname "$config_file")" "$storage_dir"
config_text | as_root tee "$config_file.tmp" >/dev/null
as_root mv "$config_file.tmp" "$config_file"

# Run as the package's unprivileged user when it exists (the postinst creates it).
drop_privileges=""
if getent passwd "$service_user" >/dev/null 2>&1; then
  as_root chown -R "$service_user:$service_user" "$storage_dir"
  drop_privileges="setpriv --reuid=$service_user --regid=$service_user --init-groups"
fi

say "starting the registry on http://$addr (config: $config_file, storage: $storage_dir, log: $log_file)"
# env -i: distribution lets REGISTRY_* variables override the config (e.g. REGISTRY_HTTP_ADDR),
# so none from the caller's environment may leak in.
as_root bash -c "setsid nohup env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $drop_privileges '$binary' serve '$config_file' \
  >>'$log_file' 2>&1 </dev/null & echo \$! >'$pid_file'"

for _ in $(seq 1 "$((wait_seconds * 4))"); do
  if registry_answers; then
    wide="$(listeners_on_port | grep -v "^$host:$port\$" || true)"
    if [ -n "$wide" ]; then
      say "the registry answers but port $port is also open on: $wide; it must listen on $addr only"
      exit 1
    fi
    say "registry answers on http://$addr/v2/ (pid $(cat "$pid_file"))"
    exit 0
  fi
  sleep 0.25
done

say "the registry did not answer on http://$addr/v2/ within ${wait_seconds}s; last lines of $log_file:"
tail -n 30 "$log_file" >&2 || true
exit 1
