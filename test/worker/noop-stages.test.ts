// The engine path bench/scheduler.ts measures: no-op stages through the real scheduler, worker processes and
// filesystem store. Dependencies are honoured, every stage leaves a manifest, and a rerun finds them all cached.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NoopStage } from '../../activities/noop.js';
import { openStore } from '../../store/artifact-store.js';
import { CACHE } from '../../worker/compiled-entry.mjs';
import { acceptedNodeFlags, runStagesLocally } from '../../worker/local-engine.js';

test('no-op stages run in dependency order on 2 workers, write manifests, and are cached on rerun', async () => {
  const store = mkdtempSync(join(tmpdir(), 'unprune-noop-'));
  try {
    const key = (i: number) => `noop-${i.toString(16).padStart(24, '0')}`;
    const stages: NoopStage[] = Array.from({ length: 60 }, (_, i) => ({
      key: key(i),
      kind: 'noop',
      params: { index: i, sleepMs: i % 7 === 0 ? 5 : 0 },
      inputs: i % 6 === 0 ? {} : { after: key(i - 1) },
    }));
    const finished: string[] = [];
    const first = await runStagesLocally(
      stages,
      { store, workers: 2, retries: 0, onEvent: (e) => void (e.type === 'finished' && finished.push(e.stage.key)) },
      'noop-test',
    );
    assert.equal(first.summary.progress.done, 60);
    assert.equal(first.summary.progress.failed, 0);
    for (const s of stages) {
      if (s.inputs.after) assert.ok(finished.indexOf(s.inputs.after) < finished.indexOf(s.key), `${s.key} ran early`);
    }
    const artifacts = openStore(store);
    for (const s of stages) assert.ok(await artifacts.isDone('noop', s.key), `${s.key} has a manifest`);
    const again = await runStagesLocally(stages, { store, workers: 2 }, 'noop-test');
    assert.equal(again.summary.progress.cached, 60);
    assert.equal(again.summary.progress.done, 0);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

/** The node options of this process's child processes (Linux /proc), read while they run a stage. */
function childNodeArgs(): string[][] {
  const out: string[][] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => /stage-process\.[jt]s$/.test(a))) out.push(args);
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

test(
  'worker processes run with the measured V8 flags; a pool that fills every core compiles on its main threads',
  {
    skip: existsSync('/proc/self/stat') ? false : 'needs Linux /proc',
  },
  async () => {
    const store = mkdtempSync(join(tmpdir(), 'unprune-noop-flags-'));
    try {
      const seen = new Map<number, string[][]>();
      for (const workers of [1, availableParallelism()]) {
        const stages: NoopStage[] = Array.from({ length: workers }, (_, i) => ({
          key: `noop-${(workers * 100 + i).toString(16).padStart(24, '0')}`,
          kind: 'noop',
          params: { index: i, sleepMs: 3000 },
          inputs: {},
        }));
        const run = runStagesLocally(stages, { store, workers, retries: 0 }, 'noop-flags');
        // Workers start on demand; look once all of them are up (their stages sleep long enough).
        let args = childNodeArgs();
        for (let t = 0; t < 25 && args.length < workers; t++) {
          await new Promise((r) => setTimeout(r, 100));
          args = childNodeArgs();
        }
        seen.set(workers, args);
        assert.equal((await run).summary.progress.done, workers);
      }
      const [single] = seen.get(1)!;
      assert.ok(single, 'a worker process was running');
      for (const flag of ['--single-threaded-gc', '--heap-growing-percent=100']) assert.ok(single.includes(flag), flag);
      if (availableParallelism() > 1) assert.ok(!single.includes('--no-concurrent-recompilation'), 'spare cores');
      const full = seen.get(availableParallelism())!;
      assert.equal(full.length, availableParallelism());
      for (const args of full) assert.ok(args.includes('--no-concurrent-recompilation'), args.join(' '));
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  },
);

test('a V8 flag this Node does not know is dropped instead of stopping every worker from starting', () => {
  assert.deepEqual(
    acceptedNodeFlags(['--single-threaded-gc', '--no-such-v8-flag-unprune', '--heap-growing-percent=100']),
    ['--single-threaded-gc', '--heap-growing-percent=100'],
  );
  assert.deepEqual(acceptedNodeFlags(['--single-threaded-gc']), ['--single-threaded-gc']);
});

test('checked flag lists are remembered per Node binary in the cache folder, and read back instead of checked', () => {
  const file = join(CACHE, 'node-flags.json');
  const r = JSON.parse(readFileSync(file, 'utf8')) as { node: string; lists: Record<string, string[]> };
  assert.equal(r.node, process.version);
  assert.deepEqual(r.lists[['--single-threaded-gc'].join('\0')], ['--single-threaded-gc']);
  // A list only the file knows (checking it would drop the unknown flag): the remembered answer is used.
  const fake = [`--unprune-remembered-${process.pid}`];
  r.lists[fake.join('\0')] = fake;
  writeFileSync(file, JSON.stringify(r));
  assert.deepEqual(acceptedNodeFlags(fake), fake);
  delete r.lists[fake.join('\0')];
  writeFileSync(file, JSON.stringify(r));
});
