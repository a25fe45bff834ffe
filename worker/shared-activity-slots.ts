// Activity slots that one worker's task queues draw from together (`unprune worker --slots N`). Temporal gives each
// task queue's Worker slots of its own, so on a machine without a GPU a worker with 1 heavy-queue and 2 light-queue
// slots runs the heavy stages (three quarters of a sweep's work) one at a time, and a second worker process to fill
// the other core oversubscribes them instead (each runs up to 3 stages). Here the heavy and light queues' pollers
// take permits from one count: a permit is granted while fewer than `accepted` tasks hold one, and to one waiting
// poll per queue at a time. Two queues' polls can both be answered at once, so up to one task per queue beyond
// `accepted` may arrive; the activities' shared gate (StageSlots in worker/temporal-activities.ts) holds any task
// beyond the running slots, heartbeating, until a slot frees.
import type {
  ActivitySlotInfo,
  CustomSlotSupplier,
  SlotMarkUsedContext,
  SlotPermit,
  SlotReleaseContext,
  SlotReserveContext,
} from '@temporalio/worker';

/** What a permit carries through the SDK: an id only (it may not come back as the same object). */
interface Permit extends SlotPermit {
  id: number;
}

export class SharedActivitySlots implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  /** Tasks holding a permit (received, running or waiting at the gate). */
  private holding = 0;
  /** Permits reserved for a poll that has not returned a task yet, by task queue. */
  private readonly polling = new Map<string, number>();
  private readonly permits = new Map<number, { queue: string; used: boolean }>();
  private nextId = 0;
  private waiters: (() => void)[] = [];

  /** `accepted`: tasks this worker takes at once (its running slots plus any prefetch). */
  constructor(private readonly accepted: number) {
    if (!(Number.isInteger(accepted) && accepted >= 1)) throw new RangeError(`slots must be ≥ 1, got ${accepted}`);
  }

  /** Tasks holding a permit now (for tests and metrics). */
  get held(): number {
    return this.holding;
  }

  reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    const queue = ctx.taskQueue;
    return new Promise<SlotPermit>((resolve, reject) => {
      const grant = (): boolean => {
        if (this.holding >= this.accepted || (this.polling.get(queue) ?? 0) > 0) return false;
        this.polling.set(queue, (this.polling.get(queue) ?? 0) + 1);
        const id = this.nextId++;
        this.permits.set(id, { queue, used: false });
        resolve({ id } satisfies Permit);
        return true;
      };
      if (grant()) return;
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        // The SDK takes its own abort reason back as the expected end of a reservation (anything else it logs).
        reject(abortSignal.reason);
      };
      const waiter = () => {
        if (!grant()) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        abortSignal.removeEventListener('abort', onAbort);
      };
      if (abortSignal.aborted) return onAbort();
      abortSignal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Eager tasks (handed over with a workflow task's completion) are not taken: unprune's queues are not the workflows'. */
  tryReserveSlot(): SlotPermit | null {
    return null;
  }

  markSlotUsed(ctx: SlotMarkUsedContext<ActivitySlotInfo>): void {
    const p = this.permits.get((ctx.permit as Permit).id);
    if (!p || p.used) return;
    p.used = true;
    this.holding++;
    this.polling.set(p.queue, this.polling.get(p.queue)! - 1);
    this.wake();
  }

  releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>): void {
    const id = (ctx.permit as Permit).id;
    const p = this.permits.get(id);
    if (!p) return;
    this.permits.delete(id);
    if (p.used) this.holding--;
    else this.polling.set(p.queue, this.polling.get(p.queue)! - 1);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
