#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { join } from 'node:path';
import { buildReport } from '../stages/report/build-report.js';
import { BACKENDS, ConfigError, loadConfig, parseOverride, type ConfigOverrides } from './config.js';
import { EXPLAIN_COMMAND, explainCommandOptions, ExplainUsageError, runExplain } from './explain-command.js';
import { EXIT, runBenchmark } from './runner.js';
import { ConfigMismatchError } from './run-dir.js';
import { nodeFromEnv } from './shards.js';
import { formatStatus, runStatus } from './status.js';

/**
 * The `sglrp` command line. Exit codes: 0 done; 1 error; 2 usage or config error; 3 incomplete
 * (some shards failed: rerun the same command to finish them).
 */
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function main(): Promise<number> {
  let code: number = EXIT.ok;
  await yargs(hideBin(process.argv))
    .scriptName('sglrp')
    .command(
      'run <config>',
      'run a benchmark config (stats, forward, relevance, masking, pointing) and write its report',
      (y: Argv) =>
        y
          .positional('config', { type: 'string', demandOption: true, describe: 'YAML run config (see configs/)' })
          .option('out', { type: 'string', describe: 'run directory (default runs/<config name>)' })
          .option('workers', { type: 'number', describe: 'worker threads (default: what the backend makes fastest)' })
          .option('backend', { choices: BACKENDS })
          .option('batch-size', { type: 'number' })
          .option('shard-index', { type: 'number', describe: 'this node (0-based); default from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX' })
          .option('shard-count', { type: 'number', describe: 'number of nodes sharing the run directory' })
          .option('limit', { type: 'number', describe: 'only the first K images of the dataset' })
          .option('keep-maps', { type: 'boolean', describe: 'also write every relevance map as .npy' })
          .option('set', { type: 'string', array: true, describe: 'override a config field: --set masking.fill=zero' })
          // yargs reads --no-report as report=false (an option named 'no-report' would be unreachable).
          .option('report', { type: 'boolean', default: true, describe: 'write the report at the end (--no-report: do not)' }),
      async (argv) => {
        const overrides: ConfigOverrides = {};
        for (const s of argv.set ?? []) {
          const [k, v] = parseOverride(s);
          overrides[k] = v;
        }
        if (argv.workers !== undefined) overrides['workers'] = argv.workers;
        if (argv.backend !== undefined) overrides['backend'] = argv.backend;
        if (argv.batchSize !== undefined) overrides['batchSize'] = argv.batchSize;
        if (argv.keepMaps !== undefined) overrides['keepMaps'] = argv.keepMaps;
        const config = await loadConfig(argv.config, overrides);
        const node = nodeFromEnv(process.env, { shardIndex: argv.shardIndex, shardCount: argv.shardCount });
        const outcome = await runBenchmark({
          config,
          outDir: argv.out ?? join('runs', config.name),
          node: { index: node.index, count: node.count },
          limit: argv.limit ?? null,
          tty: Boolean(process.stderr.isTTY),
          log,
        });
        if (outcome.complete && argv.report) {
          const r = await buildReport([outcome.runDir]);
          log(`report written`);
          process.stdout.write(`${r.htmlPath}\n`);
        } else if (!outcome.complete) log(`run not complete yet: 'sglrp status ${outcome.runDir}' shows what is left`);
        code = outcome.exitCode;
      },
    )
    .command(
      'report <runs..>',
      'merge every finished shard of one or more run directories into report.html / report.md',
      (y: Argv) =>
        y
          .positional('runs', { type: 'string', array: true, demandOption: true })
          .option('out', { type: 'string', describe: 'report folder (default RUN_DIR/report)' })
          .option('paired-matrix', { type: 'boolean', default: false, describe: 'paired comparisons of every pair of methods, not only each rival against SGLRP' }),
      async (argv) => {
        const r = await buildReport(argv.runs as string[], { outDir: argv.out, fullMatrix: argv['paired-matrix'] as boolean });
        process.stdout.write(`${r.htmlPath}\n`);
      },
    )
    .command(
      'status <run>',
      'shards done / total per phase of a run directory',
      (y: Argv) => y.positional('run', { type: 'string', demandOption: true }).option('verbose', { type: 'boolean' }),
      async (argv) => {
        process.stdout.write(`${formatStatus(await runStatus(argv.run), { verbose: argv.verbose })}\n`);
      },
    )
    .command(EXPLAIN_COMMAND, 'explain images (or .npy batches) with every method, writing maps, heatmaps and a grid', explainCommandOptions, async (argv) => {
      if ((await runExplain(argv)).failed) code = EXIT.failure;
    })
    .demandCommand(1)
    .strict()
    .help()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help()}\n\n${msg}\n`);
      process.exit(EXIT.usage);
    })
    .parseAsync();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error;
    const usage = e instanceof ConfigError || e instanceof ConfigMismatchError || e instanceof ExplainUsageError;
    process.stderr.write(`sglrp: ${e?.message ?? String(err)}\n`);
    if (!usage && process.env['SGLRP_DEBUG']) process.stderr.write(`${e?.stack}\n`);
    process.exit(usage ? EXIT.usage : EXIT.failure);
  },
);
