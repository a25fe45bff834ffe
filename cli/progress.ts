// Run progress: a cli-progress bar (counts and ETA) on a terminal; one line per finished stage otherwise.
import { errorChain } from '../ml/errors.js';
import { SingleBar } from 'cli-progress';

import type { EngineEvent } from '../worker/local-engine.js';

const recomputeLine = (e: Extract<EngineEvent, { type: 'recompute' }>) =>
  `recomputing ${e.stage.kind} ${e.stage.key}: ${e.for.kind} ${e.for.key} found it missing or corrupt`;

export function progressReporter(total: number, stream: NodeJS.WriteStream) {
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format:
        '{bar} {value}/{total} stages | run {done} cached {cached} running {running} failed {failed} | ETA {eta_formatted}',
      etaBuffer: 20,
      hideCursor: true,
    });
    bar.start(total, 0, { done: 0, cached: 0, running: 0, failed: 0 });
    return {
      onEvent: (e: EngineEvent) => {
        if (e.type === 'recompute') stream.write(`\n${recomputeLine(e)}\n`); // the bar redraws below it
        if (e.type === 'retry' || e.type === 'recompute') return;
        const p = e.progress;
        bar.update(p.done + p.cached + p.failed + p.skipped, {
          done: p.done,
          cached: p.cached,
          running: p.running,
          failed: p.failed,
        });
      },
      stop: () => bar.stop(),
    };
  }
  const width = String(total).length;
  return {
    onEvent: (e: EngineEvent) => {
      if (e.type === 'started') return;
      if (e.type === 'retry') {
        stream.write(`retry ${e.attempt}/${e.of} in ${e.delaySeconds} s: ${e.stage.kind} ${e.stage.key}: ${e.error}\n`);
        return;
      }
      if (e.type === 'recompute') {
        stream.write(`${recomputeLine(e)}\n`);
        return;
      }
      const p = e.progress;
      const n = String(p.done + p.cached + p.failed + p.skipped).padStart(width);
      const what = e.type === 'finished' ? e.outcome : `failed: ${errorChain(e.error)}`;
      stream.write(`[${n}/${total}] ${e.stage.key} ${what}\n`);
    },
    stop: () => undefined,
  };
}
