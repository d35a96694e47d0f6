"""librdkafka's mock Kafka cluster on 127.0.0.1, for the Kafka stream tests (no broker installs here).

Prints one line, the bootstrap servers (host:port,...), then holds the cluster until stdin closes or
SIGTERM/SIGINT arrives. Limits of the mock: no CreateTopics (a topic is created on its first
produce, with 4 partitions); the first group join takes about 3 s, and a later member's join about
the group's session timeout less 1 s. Run with Debian's /usr/bin/python3 (python3-confluent-kafka).
"""
import signal
import sys
import threading

from confluent_kafka import Producer

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

producer = Producer({'test.mock.num.brokers': 1, 'log_level': 3})
brokers = producer.list_topics(timeout=10).brokers.values()
print(','.join(f'{b.host}:{b.port}' for b in brokers), flush=True)
while not stop.is_set():
    producer.poll(0.2)
