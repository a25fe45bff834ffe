// Against a real Temporal server: runs only when TEMPORAL_ADDRESS is set (none can run on these machines; see
// ENVIRONMENT.md). Starts an in-process worker, submits a tiny sweep, watches progress, reads the results from the
// store, and cancels a second sweep.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../store/artifact-store.js';
import { rowsFromJsonl } from '../../sweep/results/result-rows.js';
import { parseSweep } from '../../sweep/spec.js';
import { submitSweep, temporalClient } from '../../cli/temporal-commands.js';
import { temporalSettings } from '../../worker/temporal-connection.js';
import { runTemporalWorker } from '../../worker/temporal-worker.js';
import type { SweepProgress } from '../../workflows/sweep-types.js';

const address = process.env.TEMPORAL_ADDRESS;
if (!address) console.log('# SKIPPED: Temporal integration tests (set TEMPORAL_ADDRESS to run them against a server)');

test(
  'a sweep on a real Temporal server: progress, results, cancel',
  { skip: !address && 'TEMPORAL_ADDRESS is not set' },
  async () => {
    const settings = temporalSettings();
    const store = mkdtempSync(join(tmpdir(), 'unprune-temporal-it-'));
    const queues = { workflows: `it-wf-${process.pid}`, gpu: `it-gpu-${process.pid}`, cpu: `it-cpu-${process.pid}` };
    const controller = new AbortController();
    const worker = runTemporalWorker(settings, { queue: 'all', queues, signal: controller.signal });
    try {
      const client = await temporalClient(settings);
      const text = readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8').replace(
        'name: tiny',
        `name: tiny-it-${Date.now()}`,
      );
      const sweep = parseSweep(text);
      const { handle, plan } = await submitSweep(client, sweep, store, { queues });
      const final = (await handle.result()) as SweepProgress;
      const seen = await handle.query<SweepProgress>('progress').catch(() => final);
      assert.equal(final.status, 'completed');
      assert.ok(seen.total > 0);
      const rows = rowsFromJsonl((await openStore(store).getText(`sweeps/${plan.id}/rows.jsonl`)) ?? '');
      assert.equal(rows.length, plan.cells.length);
      // Same spec again attaches to the (finished) run's id instead of starting a second sweep.
      const again = await submitSweep(client, sweep, store, { queues });
      assert.equal(again.workflowId, handle.workflowId);

      const other = parseSweep(
        text.replace(/name: tiny-it-\d+/, `name: tiny-cancel-${Date.now()}`).replace('epochs: 2', 'epochs: 50'),
      );
      const c = await submitSweep(client, other, store, { queues });
      await new Promise((r) => setTimeout(r, 3000));
      await c.handle.cancel();
      await assert.rejects(c.handle.result(), /cancel/i);
    } finally {
      controller.abort();
      await worker;
    }
  },
);
