// Against a real Temporal server: runs only when TEMPORAL_ADDRESS is set (no Temporal server installs from the
// package registries here: see docs/test-services.md). Starts an in-process worker, submits a tiny sweep, checks its
// rows against the local engine's for the same spec, that a resubmit reports the finished run and a closed run
// answers without a worker's query, and cancels a second sweep. Every step has a deadline, and a worker that stops
// (an unreachable server) fails the step at once: the test fails, never hangs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../store/artifact-store.js';
import { rowsFromJsonl } from '../../sweep/results/result-rows.js';
import { parseSweep } from '../../sweep/spec.js';
import { submitSweep, sweepOutcome, temporalClient } from '../../cli/temporal-commands.js';
import { planSweep } from '../../sweep/plan.js';
import { temporalSettings } from '../../worker/temporal-connection.js';
import { runTemporalWorker } from '../../worker/temporal-worker.js';
import { runSweepLocally } from '../../worker/local-engine.js';
import { content, rowsOf } from '../helpers/sweep-runs.js';
import type { SweepProgress } from '../../workflows/sweep-types.js';

const address = process.env.TEMPORAL_ADDRESS;
if (!address) console.log('# SKIPPED: Temporal integration tests (set TEMPORAL_ADDRESS to run them against a server)');

/** Rejects after `ms`: a step that cannot finish fails the test instead of hanging it. */
const within = <T>(ms: number, what: string, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms).unref(),
    ),
  ]);

test(
  'a sweep on a real Temporal server: progress, results, resubmit, cancel',
  { skip: !address && 'TEMPORAL_ADDRESS is not set', timeout: 10 * 60_000 },
  async () => {
    const settings = temporalSettings();
    const store = mkdtempSync(join(tmpdir(), 'unprune-temporal-it-'));
    const queues = { workflows: `it-wf-${process.pid}`, gpu: `it-gpu-${process.pid}`, cpu: `it-cpu-${process.pid}` };
    const controller = new AbortController();
    const worker = runTemporalWorker(settings, { queue: 'all', queues, signal: controller.signal, connectAttempts: 3 });
    const workerStopped = worker.then(() => {
      throw new Error('the worker stopped');
    });
    workerStopped.catch(() => undefined);
    const step = <T>(ms: number, what: string, p: Promise<T>) => within(ms, what, Promise.race([p, workerStopped]));
    try {
      const client = await step(30_000, 'connecting', temporalClient(settings));
      const text = readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8').replace(
        'name: tiny',
        `name: tiny-it-${Date.now()}`,
      );
      const sweep = parseSweep(text);
      const submitted = await step(60_000, 'submitting', submitSweep(client, sweep, store, { queues }));
      assert.equal(submitted.state, 'started');
      const final = (await step(8 * 60_000, 'the sweep', submitted.handle.result())) as SweepProgress;
      assert.equal(final.status, 'completed');
      const plan = planSweep(sweep);
      // Each stage counted once (a deletion shard reads its head's stages, it does not count them again).
      assert.equal(final.total, plan.stages.length);
      assert.equal(final.done, plan.stages.length);
      const rows = rowsFromJsonl((await openStore(store).getText(`sweeps/${plan.id}/rows.jsonl`)) ?? '');
      assert.equal(rows.length, plan.cells.length);
      // The same rows as the local engine's for the same spec (wall times aside).
      const localStore = mkdtempSync(join(tmpdir(), 'unprune-temporal-local-'));
      await runSweepLocally(plan, { store: localStore });
      assert.deepEqual(content(rows), content(rowsOf(localStore, plan.id)));
      // A finished run answers from its result, with no query.
      const outcome = await step(10_000, 'status', sweepOutcome(submitted.handle));
      assert.equal(outcome.status, 'COMPLETED');
      assert.equal(outcome.progress?.rows?.rows, plan.cells.length);
      // Same spec again: reported as finished, not started a second time.
      const again = await submitSweep(client, sweep, store, { queues });
      assert.equal(again.state, 'finished');
      assert.equal(again.runId, submitted.runId);

      const other = parseSweep(
        text.replace(/name: tiny-it-\d+/, `name: tiny-cancel-${Date.now()}`).replace('epochs: 2', 'epochs: 50'),
      );
      const c = await submitSweep(client, other, store, { queues });
      await new Promise((r) => setTimeout(r, 5000));
      await c.handle.cancel();
      await assert.rejects(step(120_000, 'the cancel', c.handle.result()), /cancel/i);
      assert.equal((await sweepOutcome(c.handle)).status, 'CANCELLED');
    } finally {
      controller.abort();
      await worker.catch(() => undefined);
    }
  },
);

test(
  'a worker with shared slots (--slots 2) runs two heavy stages side by side and never more than two stages',
  { skip: !address && 'TEMPORAL_ADDRESS is not set', timeout: 10 * 60_000 },
  async () => {
    const settings = temporalSettings();
    const store = mkdtempSync(join(tmpdir(), 'unprune-temporal-slots-'));
    const tag = `${process.pid}-slots`;
    const queues = { workflows: `it-wf-${tag}`, gpu: `it-gpu-${tag}`, cpu: `it-cpu-${tag}` };
    // The worker logs each stage as it starts (past the slots' gate) and ends: counted here.
    const running = new Map<string, string>();
    let most = 0;
    let heavyTogether = 0;
    const log = console.error;
    console.error = (...args: unknown[]) => {
      const m = /unprune worker: (\w+) .*\((\S+)\): (started|done|found done|failed|cancelled)/.exec(String(args[0]));
      if (m?.[3] === 'started') {
        running.set(m[2]!, m[1]!);
        most = Math.max(most, running.size);
        if ([...running.values()].filter((k) => k !== 'forget' && k !== 'evaluate').length >= 2) heavyTogether++;
      } else if (m) running.delete(m[2]!);
      else log(...args);
    };
    const controller = new AbortController();
    const worker = runTemporalWorker(settings, {
      queue: 'all',
      slots: 2,
      queues,
      signal: controller.signal,
      connectAttempts: 3,
    });
    const workerStopped = worker.then(() => {
      throw new Error('the worker stopped');
    });
    workerStopped.catch(() => undefined);
    try {
      const client = await within(30_000, 'connecting', temporalClient(settings));
      const text = readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8');
      const sweep = parseSweep(text.replace('name: tiny', `name: tiny-slots-${Date.now()}`));
      const submitted = await within(60_000, 'submitting', submitSweep(client, sweep, store, { queues }));
      const final = (await within(
        8 * 60_000,
        'the sweep',
        Promise.race([submitted.handle.result(), workerStopped]),
      )) as SweepProgress;
      assert.equal(final.status, 'completed');
      assert.equal(final.done, planSweep(sweep).stages.length);
      assert.equal(most, 2, 'at most two stages at once, and two at some point');
      assert.ok(heavyTogether > 0, 'two heavy stages ran side by side (per-queue slots allow one)');
    } finally {
      console.error = log;
      controller.abort();
      await worker.catch(() => undefined);
    }
  },
);
