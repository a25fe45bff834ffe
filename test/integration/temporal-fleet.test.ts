// Against a real Temporal server (runs only when TEMPORAL_ADDRESS is set; none installs from the package registries
// here): two `unprune worker` processes poll the same queues; one is killed with SIGKILL while it runs a training
// stage. That stage is retried on the other worker once its heartbeat times out, and the sweep completes with the
// rows an uninterrupted local run gives. Takes about three minutes (the heartbeat timeout is 120 s).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { submitSweep, temporalClient } from '../../cli/temporal-commands.js';
import { openStore } from '../../store/artifact-store.js';
import { planSweep } from '../../sweep/plan.js';
import { rowsFromJsonl } from '../../sweep/results/result-rows.js';
import { parseSweep } from '../../sweep/spec.js';
import { runSweepLocally } from '../../worker/local-engine.js';
import { temporalSettings } from '../../worker/temporal-connection.js';
import type { SweepProgress } from '../../workflows/sweep-types.js';
import { content, rowsOf } from '../helpers/sweep-runs.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/temporal-worker-process.js';

const address = process.env.TEMPORAL_ADDRESS;

const until = async (what: string, ms: number, ok: () => boolean) => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 200)))
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
};

test(
  'two workers, one killed with SIGKILL mid-stage: the stage is retried on the other, rows as an uninterrupted run',
  { skip: !address && 'TEMPORAL_ADDRESS is not set', timeout: 10 * 60_000 },
  async () => {
    const tag = `${process.pid}-${Date.now().toString(36)}`;
    const queues = { workflows: `fleet-wf-${tag}`, gpu: `fleet-gpu-${tag}`, cpu: `fleet-cpu-${tag}` };
    const workers: WorkerProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) workers.push(startWorkerProcess(queues));
      await Promise.all(workers.map((w) => w.ready));
      const store = mkdtempSync(join(tmpdir(), 'unprune-fleet-'));
      // One lineage, long enough trainings (a few seconds) to be killed in the middle of one.
      const text = readFileSync(new URL('../fixtures/specs/tiny.yaml', import.meta.url), 'utf8')
        .replace('name: tiny', `name: fleet-${tag}`)
        .replace('seeds: [0, 1]', 'seeds: [0]')
        .replace('epochs: 2', 'epochs: 150');
      const sweep = parseSweep(text);
      const client = await temporalClient(temporalSettings());
      const submitted = await submitSweep(client, sweep, store, { queues });
      // Whichever worker starts the lineage's training first is killed while it trains.
      let victim: (typeof workers)[number] | undefined;
      await until('a training stage starting', 120_000, () => {
        victim = workers.find((w) => /unprune worker: train \S+ \(train-[0-9a-f]+\): started/.test(w.log()));
        return victim !== undefined;
      });
      const key = /unprune worker: train \S+ \((train-[0-9a-f]+)\): started/.exec(victim!.log())![1]!;
      victim!.child.kill('SIGKILL');
      const survivor = workers.find((w) => w !== victim)!;
      const final = (await submitted.handle.result()) as SweepProgress;
      assert.equal(final.status, 'completed');
      assert.match(survivor.log(), new RegExp(`train \\S+ \\(${key}\\): started \\(attempt 2\\)`));
      const plan = planSweep(sweep);
      const rows = rowsFromJsonl((await openStore(store).getText(`sweeps/${plan.id}/rows.jsonl`)) ?? '');
      const local = mkdtempSync(join(tmpdir(), 'unprune-fleet-local-'));
      await runSweepLocally(plan, { store: local });
      assert.deepEqual(content(rows), content(rowsOf(local, plan.id)));
      await client.connection.close();
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
    }
  },
);
