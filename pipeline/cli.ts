#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { notARunDir, RunFormatError } from '../results/run-format.js';
import { buildReport } from '../stages/report/build-report.js';
import { checkReportInputs, ReportInputError } from '../stages/report/load-runs.js';
import { BACKENDS, ConfigError, loadConfig, parseOverride, type ConfigOverrides } from './config.js';
import { EXPLAIN_COMMAND, explainCommandOptions, ExplainUsageError, runExplain } from './explain-command.js';
import { CONVERT_COMMAND, convertCommandOptions, runConvert } from './convert-command.js';
import { PreflightError } from './preflight.js';
import { checkLimit, EXIT, runBenchmark } from './runner.js';
import { ConfigMismatchError, PlanMismatchError } from './run-dir.js';
import { RunIdentityError } from './run-identity.js';
import { NodeSlotError, nodeFromEnv } from './shards.js';
import { formatStatus, runStatus } from './status.js';
import { writeLog } from './terminal.js';
import { UsageError } from './usage-error.js';

/**
 * The `sglrp` command line. Exit codes (docs/PROTOCOL.md §9): 0 done (`run`: every shard of this
 * node's part is done); 1 error; 2 usage, config or setup error (rerunning cannot help); 3
 * incomplete (some shards failed: rerun the same command to finish them).
 */
const log = (line: string) => writeLog(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** Errors that mean "the command or its inputs are wrong": exit 2, never retried by a scheduler. */
const USAGE_ERRORS = [
  ConfigError,
  ConfigMismatchError,
  PlanMismatchError,
  RunIdentityError,
  RunFormatError,
  PreflightError,
  NodeSlotError,
  ReportInputError,
  UsageError,
  ExplainUsageError,
];

/** A run config path must be a readable file (a folder or a typo is a usage error, not a crash). */
async function checkConfigPath(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new UsageError(`${path}: no such run config file; check the path (ready configs are in configs/)`);
  }
  if (!isFile) throw new UsageError(`${path} is a folder, not a run config file; give a YAML file such as configs/digits-pair.yaml`);
}

/** `--out` may be a new or existing folder, never a file. */
async function checkOutPath(path: string): Promise<void> {
  try {
    if (!(await stat(path)).isDirectory())
      throw new UsageError(`--out ${path} is a file; the run directory must be a folder: choose another path`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // Absent: the run creates it.
  }
}

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
          .option('shard-index', {
            type: 'number',
            describe: 'this node (0-based); default from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX',
          })
          .option('shard-count', { type: 'number', describe: 'number of nodes sharing the run directory' })
          .option('limit', { type: 'number', describe: 'only the first K images of the dataset' })
          .option('keep-maps', { type: 'boolean', describe: 'also write every relevance map as .npy' })
          .option('set', { type: 'string', array: true, describe: 'override a config field: --set masking.fill=zero' })
          .option('verbose', { type: 'boolean', describe: 'show what each worker thread is doing' })
          // yargs reads --no-report as report=false (an option named 'no-report' would be unreachable).
          .option('report', { type: 'boolean', default: true, describe: 'write the report at the end (--no-report: do not)' }),
      async (argv) => {
        // Every option is checked before anything is created or written.
        checkLimit(argv.limit ?? null);
        const overrides: ConfigOverrides = {};
        for (const s of argv.set ?? []) {
          let kv: [string, unknown];
          try {
            kv = parseOverride(s);
          } catch (err) {
            throw new UsageError(`--set ${(err as Error).message}`);
          }
          overrides[kv[0]] = kv[1];
        }
        if (argv.workers !== undefined) overrides['workers'] = argv.workers;
        if (argv.backend !== undefined) overrides['backend'] = argv.backend;
        if (argv.batchSize !== undefined) overrides['batchSize'] = argv.batchSize;
        if (argv.keepMaps !== undefined) overrides['keepMaps'] = argv.keepMaps;
        await checkConfigPath(argv.config);
        const config = await loadConfig(argv.config, overrides);
        const node = nodeFromEnv(process.env, { shardIndex: argv.shardIndex, shardCount: argv.shardCount });
        const outDir = argv.out ?? join('runs', config.name);
        await checkOutPath(outDir);
        const outcome = await runBenchmark({
          config,
          outDir,
          node: { index: node.index, count: node.count },
          limit: argv.limit ?? null,
          tty: Boolean(process.stderr.isTTY),
          log,
          verbose: argv.verbose,
        });
        if (outcome.complete && argv.report) {
          const r = await buildReport([outcome.runDir]);
          log(`report written`);
          process.stdout.write(`${r.htmlPath}\n`);
        } else if (!outcome.complete) log(`run not complete yet: 'sglrp status ${outcome.runDir}' shows what is left`);
        if (outcome.imageErrors) log(`${outcome.imageErrors} — see 'sglrp status ${outcome.runDir}' or the report`);
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
          .option('paired-matrix', {
            type: 'boolean',
            default: false,
            describe: 'paired comparisons of every pair of methods, not only each rival against SGLRP',
          }),
      async (argv) => {
        // Refused (exit 2) before anything is written: not a run folder, runs of different
        // configs, or --out inside a run's tables.
        await checkReportInputs(argv.runs as string[], argv.out);
        const r = await buildReport(argv.runs as string[], { outDir: argv.out, fullMatrix: argv['paired-matrix'] as boolean });
        process.stdout.write(`${r.htmlPath}\n`);
      },
    )
    .command(
      'status <run>',
      'shards done / total per phase of a run directory',
      (y: Argv) => y.positional('run', { type: 'string', demandOption: true }).option('verbose', { type: 'boolean' }),
      async (argv) => {
        const problem = await notARunDir(argv.run);
        if (problem) throw new UsageError(problem);
        process.stdout.write(`${formatStatus(await runStatus(argv.run), { verbose: argv.verbose })}\n`);
      },
    )
    .command(
      EXPLAIN_COMMAND,
      'explain images (or .npy batches) with every method, writing maps, heatmaps and a grid',
      explainCommandOptions,
      async (argv) => {
        if ((await runExplain(argv)).failed) code = EXIT.failure;
      },
    )
    .command(
      CONVERT_COMMAND,
      'write a model file (Keras .h5 / .keras, or --arch NAME with a Keras application weight file) as a TF.js LayersModel',
      convertCommandOptions,
      async (argv) => {
        const r = await runConvert(argv);
        process.stderr.write(`convert: ${r.format} model, ${r.layers} layers, ${r.parameters.toLocaleString('en')} parameters\n`);
        process.stdout.write(`${r.modelJson}\n`);
      },
    )
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
    const usage = USAGE_ERRORS.some((kind) => e instanceof kind);
    process.stderr.write(`sglrp: ${e?.message ?? String(err)}\n`);
    if (!usage && process.env['SGLRP_DEBUG']) process.stderr.write(`${e?.stack}\n`);
    process.exit(usage ? EXIT.usage : EXIT.failure);
  },
);
