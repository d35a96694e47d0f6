import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface CommonFlags {
  model: string;
  file: string;
  bootstrap?: string;
  redis?: string;
}

/**
 * `modelfleet stream send|tail`: try a streaming model by hand (docs/streaming.md): send a JSON
 * Lines file to its input topic, read its predictions or dead letters. The broker comes from the
 * model's `stream.transport`: Kafka from --bootstrap / KAFKA_BOOTSTRAP, Redis from --redis /
 * REDIS_URL or the local target's redis-server.
 */
export function register(program: Command): void {
  const stream = program.command('stream').description('Streaming predictions: send messages to a model\'s input topic, read its predictions (docs/streaming.md).');
  const common = (command: Command) => command
    .requiredOption('--model <name>', 'a model with `stream:` in models.yaml')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--bootstrap <servers>', 'Kafka: HOST:PORT[,HOST:PORT]; default: $KAFKA_BOOTSTRAP (credentials: $KAFKA_USERNAME, $KAFKA_PASSWORD)')
    .option('--redis <url>', 'Redis: e.g. redis://127.0.0.1:6379; default: $REDIS_URL, else the local target\'s, else 127.0.0.1:6379');

  common(stream.command('send'))
    .description('Send each line of a JSON Lines file (one row per line) as one message of the model\'s input topic.')
    .requiredOption('--input <file>', 'JSON Lines: one JSON row (an object of the signature\'s columns) per line')
    .option('--key <field>', 'the message key: this field of each row; default: the line number')
    .action(async (flags: CommonFlags & { input: string; key?: string }) => {
      const { runStreamSend } = await import('../../pipeline/stream/run-stream-command.js');
      await runStreamSend({ ...flags, print: (line) => console.log(line) });
    });

  common(stream.command('tail'))
    .description('Print the model\'s predictions (or --dead-letter: its refused messages with the reason) as JSON Lines, each with the model, version and input that made it.')
    .option('--dead-letter', 'read the dead-letter topic instead of the predictions', false)
    .option('--new-only', 'only records that arrive from now on (default: from the topic\'s start)', false)
    .option('--count <n>', 'stop after this many records (default: until Ctrl-C)')
    .action(async (flags: CommonFlags & { deadLetter: boolean; newOnly: boolean; count?: string }) => {
      const count = flags.count === undefined ? undefined : Number(flags.count);
      if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UserError('STREAM_CONFIG_INVALID', `--count ${flags.count} is not a whole number of at least 1`, 'Pass e.g. --count 10, or leave it out to read until Ctrl-C.');
      const { runStreamTail } = await import('../../pipeline/stream/run-stream-command.js');
      await runStreamTail({ ...flags, fromStart: !flags.newOnly, count, print: (line) => console.log(line) });
    });
}
