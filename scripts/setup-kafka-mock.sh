#!/usr/bin/env bash
# Installs Debian's python3-confluent-kafka (librdkafka) for the Kafka stream tests: no Kafka broker
# installs here, and librdkafka's built-in mock cluster speaks the Kafka protocol on 127.0.0.1.
# The tests start scripts/kafka-mock-cluster.py with /usr/bin/python3 and stop it afterwards; set
# KAFKA_BOOTSTRAP=host:port to run the same tests against a real broker instead.
#
# Idempotent and quiet when the module is already there.
set -euo pipefail

say() { printf 'setup-kafka-mock: %s\n' "$*"; }

if /usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "python3-confluent-kafka is missing and this is not root; run: sudo apt-get install -y --no-install-recommends python3-confluent-kafka" >&2
  exit 1
fi

say "installing python3-confluent-kafka (Debian package, brings librdkafka)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends python3-confluent-kafka </dev/null >/tmp/modelfleet-setup-kafka-mock.log 2>&1; then
  apt-get update -qq </dev/null >>/tmp/modelfleet-setup-kafka-mock.log 2>&1
  apt-get install -y --no-install-recommends python3-confluent-kafka </dev/null >>/tmp/modelfleet-setup-kafka-mock.log 2>&1 || {
    say "apt-get install python3-confluent-kafka failed; see /tmp/modelfleet-setup-kafka-mock.log" >&2
    exit 1
  }
fi
say "installed librdkafka $(/usr/bin/python3 -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])')"
