import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeSlotError, SHARD_COUNT_ENV, nodeFromEnv, nodePart, planShards, shardCount, workOrder } from '../../pipeline/shards.js';

describe('planShards', () => {
  it('cuts the range into fixed shards with a short last one', () => {
    assert.deepEqual(planShards(250, 100), [
      { index: 0, start: 0, end: 100 },
      { index: 1, start: 100, end: 200 },
      { index: 2, start: 200, end: 250 },
    ]);
    assert.deepEqual(planShards(0, 100), []);
    assert.deepEqual(
      planShards(3, 1).map((s) => [s.start, s.end]),
      [
        [0, 1],
        [1, 2],
        [2, 3],
      ],
    );
    assert.equal(shardCount(50_000, 100), 500);
    assert.equal(shardCount(50_001, 100), 501);
  });

  it('covers every index exactly once, for many sizes', () => {
    for (const total of [1, 7, 99, 100, 101, 1234]) {
      for (const size of [1, 3, 100, 5000]) {
        const shards = planShards(total, size);
        assert.equal(shards.length, shardCount(total, size));
        let next = 0;
        shards.forEach((s, i) => {
          assert.equal(s.index, i);
          assert.equal(s.start, next);
          assert.ok(s.end > s.start && s.end - s.start <= size);
          next = s.end;
        });
        assert.equal(next, total, `total ${total} size ${size}`);
      }
    }
  });

  it('refuses bad sizes', () => {
    assert.throws(() => planShards(10, 0), /shardSize must be an integer >= 1/);
    assert.throws(() => planShards(-1, 10), /total must be an integer >= 0/);
    assert.throws(() => planShards(10, 2.5), RangeError);
  });
});

describe('nodePart / workOrder', () => {
  it('puts every shard in exactly one node part, round-robin', () => {
    const shards = planShards(1050, 100); // 11 shards
    for (const count of [1, 2, 3, 11, 20]) {
      const seen = new Map<number, number>();
      for (let node = 0; node < count; node++) {
        for (const s of nodePart(shards, node, count)) {
          assert.equal(s.index % count, node);
          seen.set(s.index, (seen.get(s.index) ?? 0) + 1);
        }
      }
      assert.equal(seen.size, shards.length, `count ${count}`);
      assert.ok([...seen.values()].every((n) => n === 1));
    }
    assert.deepEqual(
      nodePart(shards, 1, 3).map((s) => s.index),
      [1, 4, 7, 10],
    );
    assert.throws(() => nodePart(shards, 3, 3), /node index must be an integer in \[0, 2\]/);
  });

  it('orders own shards first, then the others, each shard once', () => {
    const shards = planShards(600, 100); // 6 shards
    const order = workOrder(shards, 1, 3).map((s) => s.index);
    assert.deepEqual(order, [1, 4, 5, 2, 3, 0]);
    assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5]);
  });
});

describe('nodeFromEnv', () => {
  it('defaults to a single node', () => {
    assert.deepEqual(nodeFromEnv({}), { index: 0, count: 1, source: 'single' });
  });

  it('prefers --shard-index/--shard-count over the environment', () => {
    assert.deepEqual(nodeFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8' }, { shardIndex: 2, shardCount: 4 }), {
      index: 2,
      count: 4,
      source: 'cli',
    });
    assert.throws(() => nodeFromEnv({}, { shardIndex: 2 }), /--shard-index needs --shard-count/);
    assert.throws(() => nodeFromEnv({}, { shardIndex: 4, shardCount: 4 }), /node index 4 is outside \[0, 3\]/);
    assert.deepEqual(nodeFromEnv({ JOB_COMPLETION_INDEX: '3' }, { shardCount: 5 }), { index: 3, count: 5, source: 'cli' });
  });

  it('reads Slurm arrays, 0-based or not', () => {
    assert.deepEqual(nodeFromEnv({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' }), { index: 3, count: 8, source: 'slurm' });
    // --array=1-8
    assert.deepEqual(
      nodeFromEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '8' }),
      { index: 0, count: 8, source: 'slurm' },
    );
    assert.deepEqual(nodeFromEnv({ SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' }), {
      index: 7,
      count: 8,
      source: 'slurm',
    });
    // --array=0-12:4 → ids 0, 4, 8, 12
    assert.deepEqual(
      nodeFromEnv({
        SLURM_ARRAY_TASK_ID: '8',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_MAX: '12',
        SLURM_ARRAY_TASK_STEP: '4',
        SLURM_ARRAY_TASK_COUNT: '4',
      }),
      { index: 2, count: 4, source: 'slurm' },
    );
    // --array=1,4,9: no arithmetic index
    assert.throws(
      () => nodeFromEnv({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' }),
      /not a regular range/,
    );
    assert.throws(() => nodeFromEnv({ SLURM_ARRAY_TASK_ID: '3' }), /neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN\/MAX/);
    assert.throws(
      () => nodeFromEnv({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' }),
      (err: unknown) => err instanceof NodeSlotError && /SLURM_ARRAY_TASK_ID="x" is not an integer/.test(err.message),
    );
    assert.throws(() => nodeFromEnv({ SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_COUNT: '8' }), /outside \[0, 7\]/);
  });

  it('reads Kubernetes Indexed Jobs, requiring the count', () => {
    assert.deepEqual(nodeFromEnv({ JOB_COMPLETION_INDEX: '0', [SHARD_COUNT_ENV]: '16' }), { index: 0, count: 16, source: 'kubernetes' });
    assert.throws(() => nodeFromEnv({ JOB_COMPLETION_INDEX: '2' }), new RegExp(`${SHARD_COUNT_ENV} is not`));
    assert.throws(() => nodeFromEnv({ JOB_COMPLETION_INDEX: '16', [SHARD_COUNT_ENV]: '16' }), /outside \[0, 15\]/);
  });
});
