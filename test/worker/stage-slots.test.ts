// StageSlots: the per-queue gate that lets a Temporal worker hold a prefetched stage until one of its slots frees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageCancelledError } from '../../worker/stage-pool.js';
import { StageSlots } from '../../worker/temporal-activities.js';

const never = new AbortController().signal;

test('at most `size` stages run at once, and a freed slot goes to the longest-waiting stage', async () => {
  const slots = new StageSlots(2, 10);
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const stage = async (name: string, ms: number) => {
    await slots.enter(never, () => undefined);
    started.push(name);
    most = Math.max(most, ++running);
    await sleep(ms);
    running--;
    slots.leave();
  };
  // a and b take both slots; c, d, e queue in that order; b ends first, so c takes its slot, then d (a), then e.
  await Promise.all([stage('a', 60), stage('b', 20), stage('c', 60), stage('d', 20), stage('e', 10)]);
  assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(most, 2);
});

test('a waiting stage heartbeats until it enters, and stops after', async () => {
  const slots = new StageSlots(1, 10);
  await slots.enter(never, () => undefined);
  let beats = 0;
  const waiting = slots.enter(never, () => beats++);
  await sleep(55);
  assert.ok(beats >= 3, `heartbeats while waiting: ${beats}`);
  slots.leave();
  await waiting;
  const after = beats;
  await sleep(40);
  assert.equal(beats, after, 'no heartbeat once it runs');
  slots.leave();
});

test('a stage cancelled while waiting never starts, and leaves its place to the next', async () => {
  const slots = new StageSlots(1, 10);
  await slots.enter(never, () => undefined);
  const cancel = new AbortController();
  let cancelledStarted = false;
  const cancelled = slots.enter(cancel.signal, () => undefined).then(() => (cancelledStarted = true));
  const next = slots.enter(never, () => undefined);
  cancel.abort();
  await assert.rejects(cancelled, StageCancelledError);
  slots.leave();
  await next;
  assert.equal(cancelledStarted, false);
  // Already cancelled: refused without waiting, even with a free slot.
  slots.leave();
  const gone = new AbortController();
  gone.abort();
  await assert.rejects(
    slots.enter(gone.signal, () => undefined),
    StageCancelledError,
  );
  await slots.enter(never, () => undefined); // the slot is still free
});
