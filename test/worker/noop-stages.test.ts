// The engine path bench/scheduler.ts measures: no-op stages through the real scheduler, worker processes and
// filesystem store. Dependencies are honoured, every stage leaves a manifest, and a rerun finds them all cached.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NoopStage } from '../../activities/noop.js';
import { openStore } from '../../store/artifact-store.js';
import { runStagesLocally } from '../../worker/local-engine.js';

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
