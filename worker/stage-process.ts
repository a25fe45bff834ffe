// One local-engine worker process: its own tfjs backend, running the stages the parent sends, one at a time.
// It exits when the parent goes away (IPC disconnect), so a killed run leaves no stage half-written under a
// manifest: blobs land first and the manifest last, and an interrupted stage simply has no manifest.
import { runStage } from '../activities/run-stage.js';
import { MissingInputError } from '../activities/stage-artifacts.js';
import { emptyStats } from '../activities/stage-context.js';
import { initBackend } from '../ml/backend.js';
import { isPermanent } from '../ml/errors.js';
import { openStore } from '../store/artifact-store.js';
import { backendOptions, datasetDirs, loadSettings } from './settings.js';
import type { ParentMessage, WorkerMessage } from './stage-messages.js';

const send = (m: WorkerMessage) => process.send?.(m);

/** What an exhausted wasm heap (or V8's) looks like from inside: the module aborts, or an allocation fails. */
const OUT_OF_MEMORY =
  /Aborted\(|memory access out of bounds|out of memory|could not grow|Array buffer allocation failed/i;

process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (err) => {
  console.error(`unprune worker ${process.pid}: ${err.message}`);
  process.exit(70);
});

const storeLocation = process.env.UNPRUNE_WORKER_STORE;
if (!storeLocation || !process.send) {
  console.error('stage-process.ts is started by the local engine (it needs an IPC channel and UNPRUNE_WORKER_STORE)');
  process.exit(2);
}
// Store operations are charged to the stage running at the time (one stage at a time per process).
let current = emptyStats();
// Inputs this process has verified are kept (16 MB at most, which held all of a quickstart worker's repeated reads:
// ~127 of its ~180 MB): later stages read the same trainings, inits and masks again.
const store = openStore(
  storeLocation,
  (op, seconds, bytes) => current.store.push({ op, seconds, bytes }),
  (path, reason) => (current.corrupt ??= []).push({ path, reason }),
  16 * 1024 * 1024,
);
const settings = loadSettings();
const backend = await initBackend(settings.backend, backendOptions(settings));
send({ type: 'ready', backend: backend.name });

process.on('message', (msg: ParentMessage) => {
  if (msg.type !== 'run') return;
  const start = performance.now();
  const stats = (current = emptyStats());
  // A sign of life every second: a process stopped or stuck sends none, and the engine replaces it.
  // It carries the stage's latest progress text (a Temporal activity heartbeats with it).
  let detail: string | undefined;
  const alive = setInterval(() => send({ type: 'alive', key: msg.stage.key, detail }), 1000);
  runStage(msg.stage, {
    store,
    stats,
    datasetDirs: datasetDirs(settings),
    checkpointSeconds: settings.checkpointSeconds,
    heartbeat: (d) => (detail = d),
  })
    .finally(() => clearInterval(alive))
    .then(
      (outcome) =>
        send({ type: 'result', key: msg.stage.key, outcome, seconds: (performance.now() - start) / 1000, stats }),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        const inputKey = e instanceof MissingInputError ? e.inputKey : undefined;
        // Out of (wasm) memory leaves the module aborted: every later stage in this process would fail too. Report
        // it as permanent and fatal, then exit so that the engine starts a fresh process for the next stage.
        const fatal = OUT_OF_MEMORY.test(e.message);
        const m: WorkerMessage = {
          type: 'error',
          key: msg.stage.key,
          name: e.name,
          message: e.message,
          permanent: fatal || isPermanent(e),
          fatal,
          inputKey,
          stats,
        };
        if (fatal) process.send!(m, () => process.exit(71));
        else send(m);
      },
    );
});
