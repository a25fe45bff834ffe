// Training checkpoints survive a write torn by a kill: the two slots are written by turns, so the newest whole one is
// always there for the retry (a cancelled activity kills its stage process at once, possibly mid-write). How often
// they are written is a setting.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpointKeys, CHECKPOINT_KIND, readCheckpoint, writeCheckpoint } from '../../activities/train.js';
import { runStage } from '../../activities/run-stage.js';
import { openStore } from '../../store/artifact-store.js';
import { useBackend } from '../helpers/ml.js';
import { runSweepInProcess } from '../helpers/stages.js';

const checkpoint = (epoch: number) => ({
  epoch,
  weights: { w: new Float32Array([epoch, epoch + 0.5]) },
  optimizer: { t: epoch * 10, slots: { m: [new Float32Array([epoch])] } },
});

test('a torn checkpoint write leaves the previous epoch readable; the newest whole slot wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unprune-ckpt-'));
  const ctx = { store: openStore(dir) };
  for (const epoch of [1, 2, 3]) await writeCheckpoint(ctx, 'train-x', checkpoint(epoch));
  assert.equal((await readCheckpoint(ctx, 'train-x'))?.epoch, 3);
  // Epoch 4 goes to the even slot: the kill lands after its weights and before its manifest.
  const even = join(dir, 'stages', CHECKPOINT_KIND, checkpointKeys('train-x')[0]);
  assert.ok(readdirSync(even).includes('weights.bin'));
  writeFileSync(join(even, 'weights.bin'), 'half of epoch 4');
  const resumed = await readCheckpoint(ctx, 'train-x');
  assert.equal(resumed?.epoch, 3, 'the odd slot (epoch 3) is whole');
  assert.deepEqual([...resumed!.weights.w!], [3, 3.5]);
  assert.deepEqual([...resumed!.optimizer.slots.m![0]!], [3]);
});

test('a training stores resume checkpoints as often as UNPRUNE_CHECKPOINT_SECONDS asks; its weights do not change', async () => {
  const spec = {
    dataset: { name: 'synthetic', train: 256, test: 32 },
    model: { arch: 'mlp' },
    train: { epochs: 4, batch: 32, lr: 0.05 },
    seeds: [0],
    prune: [{ method: 'omp', sparsity: 0.5 }],
    deletion: { kind: 'random', sizes: [0.1] },
    unlearn: [{ method: 'ft', epochs: 1 }],
  };
  const trained = async (checkpointSeconds: number) => {
    const { plan, ctx } = await runSweepInProcess(spec, { run: false });
    const stage = plan.stages.find((s) => s.kind === 'train' && s.params.sample === 'all')!;
    const epochs: unknown[] = [];
    const writeStage = ctx.store.writeStage.bind(ctx.store);
    ctx.store.writeStage = (kind, key, blobs, meta) => {
      if (kind === CHECKPOINT_KIND) epochs.push((meta.params as { epoch: number }).epoch);
      return writeStage(kind, key, blobs, meta);
    };
    assert.equal(await runStage(stage, { ...ctx, checkpointSeconds }), 'done');
    return { epochs, weights: await ctx.store.readBlob('train', stage.key, 'weights.bin') };
  };
  await useBackend();
  const everyEpoch = await trained(0);
  assert.deepEqual(everyEpoch.epochs, [1, 2, 3], 'after every epoch but the last');
  // Epochs of milliseconds: within an hour's interval none is due.
  const hourly = await trained(3600);
  assert.deepEqual(hourly.epochs, []);
  assert.deepEqual(hourly.weights, everyEpoch.weights);
});
