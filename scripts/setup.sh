#!/usr/bin/env bash
# What the tests need beyond `npm install`: a Docker engine, the offline base image, and Node 22
# for gitlab-ci-local. Idempotent; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-docker.sh
bash scripts/build-base-image.sh
# gitlab-ci-local (the end-to-end test's GitLab) needs Node 22; it lives apart from node_modules
# so that `node` inside npm scripts stays the system's Node 20.
npm ci --prefix tools/node22 --no-audit --no-fund </dev/null
echo "setup: done (Docker engine answers, base image modelfleet/base:local, Node 22 for gitlab-ci-local)"
