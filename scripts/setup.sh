#!/usr/bin/env bash
# What the tests need beyond `npm install`: a Docker engine, the offline base image, Node 22 for
# gitlab-ci-local, the container registry on 127.0.0.1:5000 (Debian's docker-registry), and a
# second, empty Docker engine standing in for a fresh per-job runner. Idempotent; run as root
# (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-docker.sh
bash scripts/build-base-image.sh
# gitlab-ci-local (the end-to-end test's GitLab) needs Node 22; it lives apart from node_modules
# so that `node` inside npm scripts stays the system's Node 20.
npm ci --prefix tools/node22 --no-audit --no-fund </dev/null
# What crosses jobs travels through the registry; the second engine proves a job needs nothing else.
bash scripts/setup-registry.sh
bash scripts/setup-redis.sh
bash scripts/setup-kafka-mock.sh
bash scripts/setup-nginx.sh
bash scripts/start-second-engine.sh
echo "setup: done (Docker engine answers, base image modelfleet/base:local, Node 22 for gitlab-ci-local," \
  "registry on http://${MODELFLEET_REGISTRY_ADDR:-127.0.0.1:5000}, second engine on unix://${MODELFLEET_DOCKER2_SOCKET:-/run/modelfleet-docker2.sock})"
