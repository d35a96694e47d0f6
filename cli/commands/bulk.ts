import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface CommonFlags {
  redis?: string;
}

interface SubmitFlags extends CommonFlags {
  model: string;
  input: string;
  format?: string;
  file: string;
  buildDir: string;
  detach: boolean;
  results?: string;
}

/**
 * `modelfleet bulk submit|status|results|cancel|supervise`: bulk predictions through the model's
 * Redis stream, scored by `modelfleet worker` (docs/bulk.md). Redis comes from --redis, REDIS_URL
 * (REDIS_PASSWORD), or the local target's redis-server.
 */
export function register(program: Command): void {
  const bulk = program.command('bulk').description('Bulk predictions: submit a CSV or JSON Lines file as a job, follow it, fetch its results (docs/bulk.md).');
  const redisOption = ['--redis <url>', 'Redis, e.g. redis://127.0.0.1:6379; default: $REDIS_URL, else the local target\'s, else 127.0.0.1:6379 (password: $REDIS_PASSWORD)'] as const;

  bulk.command('submit')
    .description('Check the file\'s columns against the model\'s signature, queue its rows in chunks, and follow the job to the end (--detach returns once queued).')
    .requiredOption('--model <name>', 'the model (or A/B variant, <model>-<variant>) whose workers score the rows')
    .requiredOption('--input <file>', 'a CSV file with a header line, or JSON Lines (one object per line)')
    .option('--format <csv|jsonl>', 'the input\'s format; default: from its extension')
    .option('--results <file>', 'write the results here once the job is done (format from the extension: .csv or .jsonl)')
    .option('--detach', 'return once every row is queued, without waiting for the answers', false)
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--build-dir <dir>', 'where `build` left registry models\' files (for their signature)', 'build')
    .option(...redisOption)
    .action(async (flags: SubmitFlags) => {
      const { runBulkSubmit } = await import('../../pipeline/bulk/run-bulk-command.js');
      process.exitCode = await runBulkSubmit({ ...flags, print: (line) => console.log(line) });
    });

  bulk.command('status')
    .description('Rows done, failed and queued, the rate and the ETA of a job.')
    .argument('<job>', 'the job id `bulk submit` printed')
    .option('--json', 'print the job record as JSON', false)
    .option(...redisOption)
    .action(async (job: string, flags: CommonFlags & { json: boolean }) => {
      const { runBulkStatus } = await import('../../pipeline/bulk/run-bulk-command.js');
      await runBulkStatus({ job, ...flags, print: (line) => console.log(line) });
    });

  bulk.command('results')
    .description('Write one line per input row, in input order: the prediction, or the row\'s error.')
    .argument('<job>', 'the job id `bulk submit` printed')
    .requiredOption('--out <file>', 'the results file (.csv: row,prediction,error; .jsonl: {"row", "prediction" | "error"})')
    .option('--format <csv|jsonl>', 'the results\' format; default: from --out\'s extension, else the input\'s')
    .option('--wait', 'wait for the job to finish first', false)
    .option(...redisOption)
    .action(async (job: string, flags: CommonFlags & { out: string; format?: string; wait: boolean }) => {
      const { runBulkResults } = await import('../../pipeline/bulk/run-bulk-command.js');
      await runBulkResults({ job, ...flags, print: (line) => console.log(line) });
    });

  bulk.command('cancel')
    .description('Stop a job: its remaining chunks are skipped; its partial results expire after bulk.resultTtl.')
    .argument('<job>', 'the job id `bulk submit` printed')
    .option(...redisOption)
    .action(async (job: string, flags: CommonFlags) => {
      const { runBulkCancel } = await import('../../pipeline/bulk/run-bulk-command.js');
      await runBulkCancel({ job, ...flags, print: (line) => console.log(line) });
    });

  bulk.command('supervise')
    .description('Local target: start workers while a bulk model\'s queue has lag (up to bulk.maxWorkers), stop them after bulk.cooldownSeconds without (what KEDA does in Kubernetes).')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--build-dir <dir>', 'where `build` left registry models\' files', 'build')
    .option('--poll-ms <ms>', 'how often to read each queue\'s lag', '1000')
    .option(...redisOption)
    .action(async (flags: CommonFlags & { file: string; buildDir: string; pollMs: string }) => {
      const pollMs = Number(flags.pollMs);
      if (!Number.isInteger(pollMs) || pollMs < 50 || pollMs > 60_000) throw new UserError('USAGE', `--poll-ms must be a whole number of milliseconds from 50 to 60000, not ${JSON.stringify(flags.pollMs)}`);
      const { runSupervisor } = await import('../../pipeline/bulk/supervisor/run-supervisor.js');
      await runSupervisor({ file: flags.file, buildDir: flags.buildDir, redisFlag: flags.redis, pollMs, print: (line) => console.log(line) });
    });
}
