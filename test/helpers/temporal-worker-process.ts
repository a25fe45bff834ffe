// An `unprune worker --queue all` process on the given task queues, for the real-server tests and bench:scheduler.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TaskQueues } from '../../workflows/sweep-types.js';

const BIN = new URL('../../bin/unprune.js', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it has written to stderr so far (the worker logs one line per stage start and end there). */
  log: () => string;
  /** Resolves once it polls (its start-up line); rejects if it exits first. */
  ready: Promise<void>;
}

/** `slots`: --concurrency; `prefetch`: --prefetch (default: the worker's own defaults). */
export function startWorkerProcess(
  queues: TaskQueues,
  opts: { slots?: number; prefetch?: number } = {},
): WorkerProcess {
  const args = [BIN, 'worker', '--queue', 'all', '--gpu-queue', queues.gpu, '--cpu-queue', queues.cpu];
  args.push('--workflow-queue', queues.workflows);
  if (opts.slots) args.push('--concurrency', String(opts.slots));
  if (opts.prefetch !== undefined) args.push('--prefetch', String(opts.prefetch));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (/unprune worker: .* queues /.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`unprune worker exited (${code}): ${text.slice(-2000)}`)));
  });
  ready.catch(() => undefined);
  return { child, log: () => text, ready };
}
