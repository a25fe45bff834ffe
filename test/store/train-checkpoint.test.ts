// Training checkpoints survive a write torn by a kill: the two slots are written by turns, so the newest whole one is
// always there for the retry (a cancelled activity kills its stage process at once, possibly mid-write).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpointKeys, CHECKPOINT_KIND, readCheckpoint, writeCheckpoint } from '../../activities/train.js';
import { openStore } from '../../store/artifact-store.js';

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
