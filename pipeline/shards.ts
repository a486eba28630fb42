/**
 * The shard plan: the dataset order cut into fixed ranges, and which node (machine / array task)
 * starts on which shards. The plan depends only on (total, shardSize), so every node computes the
 * same shards without talking to the others; claims in the run directory settle the rest.
 */

export interface Shard {
  /** 0-based shard number; names the shard's files (`shard-00042.arrow`). */
  index: number;
  /** First dataset index in the shard. */
  start: number;
  /** One past the last dataset index (half-open range). */
  end: number;
}

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${what} must be an integer >= ${min}, got ${value}`);
}

/** Cut [0, total) into ranges of shardSize; the last one holds the remainder. */
export function planShards(total: number, shardSize: number): Shard[] {
  checkCount(total, 'planShards: total', 0);
  checkCount(shardSize, 'planShards: shardSize', 1);
  const count = Math.ceil(total / shardSize);
  return Array.from({ length: count }, (_, index) => ({ index, start: index * shardSize, end: Math.min(total, (index + 1) * shardSize) }));
}

/** Number of shards planShards(total, shardSize) gives, without building them. */
export function shardCount(total: number, shardSize: number): number {
  checkCount(total, 'shardCount: total', 0);
  checkCount(shardSize, 'shardCount: shardSize', 1);
  return Math.ceil(total / shardSize);
}

/**
 * The shards node `nodeIndex` of `nodeCount` owns: round-robin (shard i → node i mod nodeCount).
 * Round-robin rather than contiguous blocks because the short last shard and any slow region of
 * the dataset are spread over all nodes, and progress of every node advances through the dataset
 * evenly (partial results cover the whole range early). Every shard is in exactly one part.
 */
export function nodePart(shards: readonly Shard[], nodeIndex: number, nodeCount: number): Shard[] {
  checkNode(nodeIndex, nodeCount);
  return shards.filter((s) => s.index % nodeCount === nodeIndex);
}

/**
 * The order in which a node should try shards when it may help others: its own part first, then
 * the other nodes' parts, starting with the next node's and walking each from its end (where its
 * owner will arrive last). Claims stop two nodes from computing one shard; this order only makes
 * collisions rare. Contains every shard once.
 */
export function workOrder(shards: readonly Shard[], nodeIndex: number, nodeCount: number): Shard[] {
  checkNode(nodeIndex, nodeCount);
  const order = nodePart(shards, nodeIndex, nodeCount);
  for (let k = 1; k < nodeCount; k++) {
    order.push(...nodePart(shards, (nodeIndex + k) % nodeCount, nodeCount).reverse());
  }
  return order;
}

function checkNode(nodeIndex: number, nodeCount: number): void {
  checkCount(nodeCount, 'node count', 1);
  if (!Number.isSafeInteger(nodeIndex) || nodeIndex < 0 || nodeIndex >= nodeCount) {
    throw new RangeError(`node index must be an integer in [0, ${nodeCount - 1}] (node count ${nodeCount}), got ${nodeIndex}`);
  }
}

export interface NodeSlot {
  /** 0-based index of this node among the nodes of the run. */
  index: number;
  count: number;
  /** Where the numbers came from, for logs. */
  source: 'cli' | 'slurm' | 'kubernetes' | 'single';
}

/** Environment variable naming the number of Kubernetes Indexed Job completions (= nodes). */
export const SHARD_COUNT_ENV = 'SGLRP_SHARD_COUNT';

export interface NodeCli {
  shardIndex?: number;
  shardCount?: number;
}

export class NodeSlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeSlotError';
  }
}

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value))
    throw new NodeSlotError(`environment variable ${name}=${JSON.stringify(raw)} is not an integer`);
  return value;
}

function slot(index: number, count: number, source: NodeSlot['source'], hint: string): NodeSlot {
  if (!Number.isSafeInteger(count) || count < 1) throw new NodeSlotError(`${hint}: node count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new NodeSlotError(`${hint}: node index ${index} is outside [0, ${count - 1}]`);
  }
  return { index, count, source };
}

/**
 * Which node this process is, from (in order of precedence):
 *  1. `--shard-index` with `--shard-count`; `--shard-count` alone takes the index from
 *     JOB_COMPLETION_INDEX (Kubernetes);
 *  2. Slurm job arrays: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN/MAX (and _STEP) when set,
 *     index = (ID − MIN)/STEP, count = (MAX − MIN)/STEP + 1 — so `--array=1-8` works — else
 *     SLURM_ARRAY_TASK_COUNT with a 0-based ID;
 *  3. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX with the count in SGLRP_SHARD_COUNT (set it
 *     to the Job's `completions` in the pod template; Kubernetes does not expose it);
 *  4. otherwise a single node {0, 1}.
 */
export function nodeFromEnv(env: Record<string, string | undefined> = process.env, cli: NodeCli = {}): NodeSlot {
  if (cli.shardIndex !== undefined) {
    if (cli.shardCount === undefined) throw new NodeSlotError('--shard-index needs --shard-count (e.g. --shard-index 3 --shard-count 8)');
    return slot(cli.shardIndex, cli.shardCount, 'cli', '--shard-index/--shard-count');
  }
  if (cli.shardCount !== undefined) {
    // --shard-count alone: the index comes from the scheduler (the Kubernetes case, where the
    // count is not in the environment).
    const index = envInt(env, 'JOB_COMPLETION_INDEX');
    if (index === undefined)
      throw new NodeSlotError(
        '--shard-count needs --shard-index (or JOB_COMPLETION_INDEX in the environment, as in a Kubernetes Indexed Job)',
      );
    return slot(index, cli.shardCount, 'cli', '--shard-count with the scheduler-given index');
  }

  const taskId = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN');
    const max = envInt(env, 'SLURM_ARRAY_TASK_MAX');
    const step = envInt(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const taskCount = envInt(env, 'SLURM_ARRAY_TASK_COUNT');
    const hint = 'Slurm job array';
    if (min !== undefined && max !== undefined) {
      if (step < 1) throw new NodeSlotError(`${hint}: SLURM_ARRAY_TASK_STEP=${step} must be >= 1`);
      const count = Math.floor((max - min) / step) + 1;
      // An irregular list (--array=1,4,9) has no arithmetic index; the count tells it apart.
      if ((taskId - min) % step !== 0 || (taskCount !== undefined && taskCount !== count)) {
        throw new NodeSlotError(
          `${hint}: task ids are not a regular range (ID ${taskId}, MIN ${min}, MAX ${max}, STEP ${step}, COUNT ${taskCount}); use --array=0-N or pass --shard-index/--shard-count`,
        );
      }
      return slot((taskId - min) / step, count, 'slurm', hint);
    }
    if (taskCount !== undefined)
      return slot(taskId, taskCount, 'slurm', `${hint} (SLURM_ARRAY_TASK_COUNT=${taskCount}, 0-based ids expected)`);
    throw new NodeSlotError(
      `${hint}: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN/MAX; pass --shard-index/--shard-count`,
    );
  }

  const completionIndex = envInt(env, 'JOB_COMPLETION_INDEX');
  if (completionIndex !== undefined) {
    const count = envInt(env, SHARD_COUNT_ENV);
    if (count === undefined) {
      throw new NodeSlotError(
        `Kubernetes Indexed Job: JOB_COMPLETION_INDEX is set but ${SHARD_COUNT_ENV} is not; set ${SHARD_COUNT_ENV} to the Job's completions in the pod's env, or pass --shard-count`,
      );
    }
    return slot(completionIndex, count, 'kubernetes', `Kubernetes Indexed Job (${SHARD_COUNT_ENV}=${count})`);
  }

  return { index: 0, count: 1, source: 'single' };
}

/**
 * The stats pre-pass always works in blocks of this many images, whatever the run's shard size:
 * the mean image is then summed over the same blocks in the same order by every run of a
 * dataset, so it — and every masking result — is bit-identical across shard sizes and nodes.
 */
export const STATS_BLOCK = 250;

/** The shards of a phase over `total` images. */
export function phaseShards(phase: 'stats' | 'main', total: number, shardSize: number): Shard[] {
  return planShards(total, phase === 'stats' ? STATS_BLOCK : shardSize);
}
