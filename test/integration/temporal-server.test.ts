// Against a real Temporal server: runs only when TEMPORAL_ADDRESS is set (no Temporal server installs
// on these machines: see docs/architecture.md). Starts an in-process worker, submits a tiny sweep, reads the results from the store, checks that a
// resubmit reports the finished run, and cancels a second sweep. Every step has a deadline: it fails, never hangs.
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
    try {
      const client = await within(30_000, 'connecting', temporalClient(settings));
      const text = readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8').replace(
        'name: tiny',
        `name: tiny-it-${Date.now()}`,
      );
      const sweep = parseSweep(text);
      const submitted = await within(60_000, 'submitting', submitSweep(client, sweep, store, { queues }));
      assert.equal(submitted.state, 'started');
      const final = (await within(8 * 60_000, 'the sweep', submitted.handle.result())) as SweepProgress;
      assert.equal(final.status, 'completed');
      const plan = planSweep(sweep);
      const rows = rowsFromJsonl((await openStore(store).getText(`sweeps/${plan.id}/rows.jsonl`)) ?? '');
      assert.equal(rows.length, plan.cells.length);
      // A finished run answers from its result, with no query.
      const outcome = await within(10_000, 'status', sweepOutcome(submitted.handle));
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
      await assert.rejects(within(120_000, 'the cancel', c.handle.result()), /cancel/i);
      assert.equal((await sweepOutcome(c.handle)).status, 'CANCELLED');
    } finally {
      controller.abort();
      await worker.catch(() => undefined);
    }
  },
);
