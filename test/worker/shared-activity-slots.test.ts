// SharedActivitySlots: the permits a worker's heavy and light task queues draw from together (`unprune worker
// --slots N`), driven here the way the Temporal SDK's core drives a custom slot supplier: reserve before a poll,
// mark used when the poll returns a task, release when the task ends or the poll returns nothing. Permits go
// through a structured clone, as they may come back from the SDK as copies. The end-to-end check (a quickstart
// through a real server never running more than N stages at once) needs a server: bench/README.md has it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { SlotPermit, SlotReserveContext } from '@temporalio/worker';
import { SharedActivitySlots } from '../../worker/shared-activity-slots.js';

const ctx = (taskQueue: string) => ({ slotType: 'activity', taskQueue }) as SlotReserveContext;
const info = { type: 'activity' as const, activityType: 'train' };
const never = new AbortController().signal;

/** Whether `p` has settled by the next turn of the event loop. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

test('one waiting poll per queue; a permit while fewer than N tasks hold one; freed permits go to waiting polls', async () => {
  const slots = new SharedActivitySlots(2);
  const used = (p: SlotPermit) => slots.markSlotUsed({ slotInfo: info, permit: structuredClone(p) });
  const done = (p: SlotPermit) => slots.releaseSlot({ slotInfo: info, permit: structuredClone(p) });

  const gpu1 = await slots.reserveSlot(ctx('gpu'), never);
  const cpu1 = await slots.reserveSlot(ctx('cpu'), never);
  // A second poll on the GPU queue waits until the first returns a task.
  const gpu2 = slots.reserveSlot(ctx('gpu'), never);
  assert.equal(await settled(gpu2), false);
  used(gpu1);
  assert.equal(await settled(gpu2), true, 'the GPU queue polls again once its poll returned a task');
  assert.equal(slots.held, 1);
  // Two heavy stages at once: what per-queue slots (1 GPU, 2 CPU) do not allow on a machine without a GPU.
  used(await gpu2);
  assert.equal(slots.held, 2);
  // N tasks hold permits: no new poll on either queue. The CPU poll reserved before that may still bring one task
  // (the activities' gate holds it until a slot frees).
  const gpu3 = slots.reserveSlot(ctx('gpu'), never);
  assert.equal(await settled(gpu3), false);
  used(cpu1);
  assert.equal(slots.held, 3);
  const cpu2 = slots.reserveSlot(ctx('cpu'), never);
  assert.equal(await settled(cpu2), false);
  // Tasks end: one permit frees, still 2 held; another, and both queues' waiting polls go ahead (polls hold no
  // running slot: only a task they bring does).
  done(gpu1);
  assert.equal(await settled(gpu3), false);
  done(cpu1);
  assert.equal(await settled(gpu3), true);
  assert.equal(await settled(cpu2), true);
  assert.equal(slots.held, 1);
  // The GPU poll returns nothing (a long poll timing out): its permit frees without a task; the CPU poll brings one.
  done(await gpu3);
  used(await cpu2);
  assert.equal(slots.held, 2);
  assert.equal(await settled(slots.reserveSlot(ctx('gpu'), never)), false);
});

test("an aborted reservation rejects with the signal's reason (the SDK's AbortError) and takes nothing; eager tasks are declined", async () => {
  const slots = new SharedActivitySlots(1);
  const first = await slots.reserveSlot(ctx('cpu'), never);
  slots.markSlotUsed({ slotInfo: info, permit: first });
  const controller = new AbortController();
  const waiting = slots.reserveSlot(ctx('cpu'), controller.signal);
  controller.abort();
  await assert.rejects(waiting, (e) => e === controller.signal.reason && (e as Error).name === 'AbortError');
  slots.releaseSlot({ slotInfo: info, permit: first });
  assert.equal(slots.held, 0);
  // The aborted waiter is gone: the next reservation is granted at once, and only one per queue is waiting.
  assert.equal(await settled(slots.reserveSlot(ctx('cpu'), never)), true);
  assert.equal(slots.tryReserveSlot(), null);
  assert.throws(() => new SharedActivitySlots(0), /slots must be ≥ 1/);
});
