import { streamSuite } from './support/stream-suite.js';

// librdkafka's mock cluster (scripts/kafka-mock-cluster.py), or a real broker: KAFKA_BOOTSTRAP=host:port.
streamSuite('kafka');
