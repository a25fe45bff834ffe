// Run progress. On a terminal: a cli-progress bar that fits 80 columns (counts, elapsed time, ETA). Without one (a
// log, CI): a summary line at most every `everySeconds` and at the end, never one line per stage. Either way
// failures, retries and recomputations are printed as they happen, naming the cell (data set, seed, pruning,
// deletion, algorithm, variant) the stage belongs to.
import { errorChain } from '../ml/errors.js';
import { SingleBar } from 'cli-progress';

import type { EngineEvent } from '../worker/local-engine.js';
import type { RunProgress } from '../sweep/runner.js';

/** `1h02m`, `4m05s`, `7s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

export interface ProgressOptions {
  total: number;
  stream: NodeJS.WriteStream;
  /** Stage key → the cells it serves, as a reader names them (sweep/shards.ts stageLabels). */
  labels?: ReadonlyMap<string, string>;
  /** Without a terminal: at most one summary line this often (0: at every finished stage). */
  everySeconds?: number;
  now?: () => number;
}

const ended = (p: RunProgress) => p.done + p.cached + p.failed + p.skipped;

export function progressReporter(opts: ProgressOptions) {
  const { total, stream } = opts;
  const now = opts.now ?? (() => performance.now() / 1000);
  const start = now();
  const named = (s: { kind: string; key: string }) => {
    const label = opts.labels?.get(s.key);
    return `${s.kind} ${label ? `(${label}) ` : ''}${s.key}`;
  };
  const eventLine = (e: EngineEvent): string | undefined => {
    if (e.type === 'retry') return `retry ${e.attempt}/${e.of} in ${e.delaySeconds} s: ${named(e.stage)}: ${e.error}`;
    if (e.type === 'recompute')
      return `recomputing ${named(e.stage)}: ${e.for.kind} ${e.for.key} found it missing or corrupt`;
    if (e.type === 'failed') return `failed: ${named(e.stage)}: ${errorChain(e.error)}`;
    return undefined;
  };
  // The estimate counts only stages that ran (cached ones cost nothing), over the stages still to run.
  const eta = (p: RunProgress) => {
    const ran = p.done + p.failed;
    const left = total - ended(p);
    if (left === 0) return 0;
    return ran > 0 ? ((now() - start) / ran) * left : Number.NaN;
  };

  let stopped = false;
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      barsize: 20,
      // (Payload names that are not cli-progress's own tokens: its {eta} and {duration} are raw seconds.)
      format: '{bar} {value}/{total} | {cached} cached {failed} failed | {since} | ETA {left}',
      hideCursor: true,
      // Leaves the last state on screen; later lines (the summary) start below it.
      clearOnComplete: false,
    });
    bar.start(total, 0, { cached: 0, failed: 0, since: '0s', left: '–' });
    const timer = setInterval(() => bar.update({ since: formatDuration(now() - start) }), 1000);
    timer.unref();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      bar.stop();
    };
    return {
      onEvent: (e: EngineEvent) => {
        if (stopped) return;
        const line = eventLine(e);
        if (line) stream.write(`\n${line}\n`); // the bar redraws below it
        if (e.type === 'retry' || e.type === 'recompute') return;
        const p = e.progress;
        bar.update(ended(p), {
          cached: p.cached,
          failed: p.failed,
          since: formatDuration(now() - start),
          left: formatDuration(eta(p)),
        });
      },
      /** Stops drawing (before any other output, e.g. on Ctrl-C): later events are not drawn over it. */
      stop,
    };
  }
  const every = opts.everySeconds ?? 10;
  let last = Number.NEGATIVE_INFINITY;
  let latest: RunProgress | undefined;
  const width = String(total).length;
  const summaryLine = (p: RunProgress) => {
    const n = ended(p);
    const pct = total ? Math.floor((100 * n) / total) : 100;
    return (
      `[${String(n).padStart(width)}/${total}] ${pct}% · run ${p.done}, cached ${p.cached}, failed ${p.failed}` +
      `${p.skipped ? `, skipped ${p.skipped}` : ''}, running ${p.running} · ${formatDuration(now() - start)} elapsed` +
      `${n < total ? ` · ETA ${formatDuration(eta(p))}` : ''}\n`
    );
  };
  return {
    onEvent: (e: EngineEvent) => {
      if (stopped) return;
      const line = eventLine(e);
      if (line) stream.write(`${line}\n`);
      if (e.type === 'retry' || e.type === 'recompute' || e.type === 'started') return;
      latest = e.progress;
      if (now() - last >= every || ended(e.progress) === total) {
        last = now();
        stream.write(summaryLine(e.progress));
        latest = undefined;
      }
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      // The state at the end, unless the last line already said it.
      if (latest) stream.write(summaryLine(latest));
    },
  };
}
