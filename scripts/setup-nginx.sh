#!/usr/bin/env bash
# Installs Debian's nginx (1.22) for the gateway's tests and benchmark: they start their own nginx
# as the current user from a temp folder (`nginx -p DIR -c FILE -g 'daemon off;'`) on 127.0.0.1 and
# stop it afterwards, so all this script does is put the binary in place.
#
# Idempotent: installs the package only when /usr/sbin/nginx is missing, and quiet when it is there.
# The package's own service listens on every interface (port 80); it is stopped and kept from
# starting at boot, because nothing of modelfleet uses it.
#
# Environment:
#   MODELFLEET_NGINX_LOG   apt's log file (default /tmp/modelfleet-nginx-apt.log)
set -euo pipefail

log_file="${MODELFLEET_NGINX_LOG:-/tmp/modelfleet-nginx-apt.log}"
binary=/usr/sbin/nginx

say() { printf 'setup-nginx: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# split_clients and mirror are what `modelfleet gateway nginx-config` writes; both are built into
# Debian's nginx, but a custom build may leave them out.
has_modules() {
  "$binary" -V 2>&1 | grep -q -- '--without-http_split_clients_module' && return 1
  "$binary" -V 2>&1 | grep -q -- '--without-http_mirror_module' && return 1
  return 0
}

if [ -x "$binary" ] && has_modules; then
  exit 0
fi

say "installing nginx (apt-get; log: $log_file)"
export DEBIAN_FRONTEND=noninteractive
if ! as_root apt-get install -y -qq --no-install-recommends nginx >>"$log_file" 2>&1; then
  # A fresh machine may have no package lists yet: update once, then try again.
  as_root apt-get update -qq >>"$log_file" 2>&1 || { say "apt-get update failed; see $log_file"; exit 1; }
  as_root apt-get install -y -qq --no-install-recommends nginx >>"$log_file" 2>&1 || {
    say "apt-get install nginx failed; see $log_file"; exit 1; }
fi

# The packaged service (if the postinst started it) binds 0.0.0.0:80; stop it and keep it stopped.
if [ -d /run/systemd/system ]; then
  as_root systemctl disable --now nginx.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/nginx ]; then
  if ls /etc/rc[2-5].d/S*nginx >/dev/null 2>&1; then
    as_root update-rc.d nginx disable >/dev/null 2>&1 || true
  fi
  if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    say "stopping the packaged nginx service (it listens on every interface)"
    # Called directly: invoke-rc.d asks policy-rc.d, which in containers denies every action.
    as_root /etc/init.d/nginx stop >/dev/null 2>&1 || true
  fi
fi

if ! has_modules; then
  say "$binary lacks split_clients or mirror (see \`nginx -V\`); install Debian's nginx package"
  exit 1
fi
say "nginx ready: $("$binary" -v 2>&1)"
