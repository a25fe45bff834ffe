// The unprune command line: validate / plan / run / results for sweeps, and backends. Bad input (a wrong spec, an
// unknown option) exits with status 2 and starts nothing; every error is one line on stderr.
// Modules that load tfjs, the charts or Temporal's worker are imported by the commands that use them: `validate`
// and `--help` start in ~0.5 s instead of ~3.
import { backendOptions, datasetDirs, loadSettings, SettingsError, type Settings } from '../worker/settings.js';
import { datasetUnavailable } from '../ml/data/load-dataset.js';
import { errorChain } from '../ml/errors.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_CHOICES } from '../ml/catalog.js';
import { BackendUnavailableError } from '../ml/errors.js';
import { DEFAULT_STORE, openStore } from '../store/artifact-store.js';
import { InvalidStorePathError } from '../store/blob-store.js';
import { configureNativeBlas, loadNativeBlas, nativeBlasUnavailableReason } from '../ml/kernels/native-blas.js';
import { PLANNED_KINDS, planCounts, planSweep, type Plan } from '../sweep/plan.js';
import {
  formatComparison,
  formatCsv,
  formatJson,
  formatLatex,
  formatMarkdown,
  formatTable,
  textTable,
} from '../sweep/results/result-formats.js';
import { pickAxes, pickMetrics, UnknownNameError, type ViewOptions } from '../sweep/results/result-view.js';
import { compareRows, parseComparison } from '../sweep/results/compare.js';
import type { ResultRow } from '../sweep/results/result-rows.js';
import type { ReportMeta } from '../sweep/report/html-report.js';
import { cellCount, parseSweep, SpecError, type Sweep } from '../sweep/spec.js';
import { readRows } from '../activities/sweep-rows.js';
import { formatDuration, progressReporter } from './progress.js';
import { listSweeps, planCensus, type PlanCensus } from '../activities/sweep-census.js';
import { availableParallelism } from 'node:os';
import { stageLabels } from '../sweep/shards.js';
import {
  addTemporalCommands,
  connectionOptions,
  formatProgress,
  runOnTemporal,
  SubmitError,
} from './temporal-commands.js';
import { TemporalUnavailableError, type ConnectionFlags } from '../worker/temporal-connection.js';

/** A user error: exit status 2, nothing started. */
class UsageError extends Error {}

const FORMATS = ['table', 'csv', 'json', 'md', 'latex', 'html'] as const;
type Format = (typeof FORMATS)[number];

/** Whole-number options: a value outside min..max (or not a number) is one line naming the option, exit 2. */
const wholeNumber =
  (what: string, min: number, max = 2 ** 31 - 1) =>
  (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}, got "${v}"`);
    return n;
  };
const positiveInt = (what: string) => wholeNumber(what, 1);

function loadSpec(file: string, maxCells?: number): Sweep {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  return parseSweep(readFileSync(file, 'utf8'), { source: file, maxCells });
}

/**
 * A spec whose data sets are not on this machine is refused before anything starts (exit 2), with the message
 * loading them would fail with; `validate` and a local `run` check this (Temporal workers may hold data elsewhere).
 */
function requireData(sweep: Sweep): void {
  const dirs = datasetDirs(settings());
  const problems = sweep.dataset.flatMap((ds, i) => {
    const why = datasetUnavailable({ name: ds.name, dir: ds.dir ?? dirs[ds.name as keyof typeof dirs] });
    return why ? [`${sweep.dataset.length > 1 ? `dataset[${i}]` : 'dataset'} (${ds.name}): ${why}`] : [];
  });
  if (problems.length) throw new SpecError(problems);
}

/** How results are shaped: which metrics, grouped by which axes, per-cell or averaged CSV, figures to a folder. */
interface ResultFlags {
  format: Format;
  out?: string;
  metrics?: string;
  groupBy?: string;
  aggregate?: boolean;
  figures?: string;
}

/** The view options the flags ask for; an unknown metric or axis is a usage error (exit 2) naming the known ones. */
function viewOptions(o: ResultFlags): ViewOptions {
  const list = (v: string) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  try {
    return {
      metrics: o.metrics === undefined ? undefined : pickMetrics(list(o.metrics)).map((m) => m.name),
      groupBy: o.groupBy === undefined ? undefined : pickAxes(list(o.groupBy)),
    };
  } catch (err) {
    if (err instanceof UnknownNameError) throw new UsageError(err.message);
    throw err;
  }
}

async function render(rows: ResultRow[], o: ResultFlags, meta: ReportMeta): Promise<string> {
  const view = viewOptions(o);
  switch (o.format) {
    case 'table':
      return formatTable(rows, meta.sweepId, view);
    case 'csv':
      return formatCsv(rows, { ...view, aggregate: o.aggregate });
    case 'json':
      return formatJson(rows, meta.sweepId, view);
    case 'md':
      return formatMarkdown(rows, meta.sweepId, view);
    case 'latex':
      return formatLatex(rows, meta.sweepId, view);
    case 'html':
      return (await import('../sweep/report/html-report.js')).htmlReport(rows, meta, view);
  }
}

/** Prints (or writes) the results, and with --figures writes each figure as SVG and PNG. */
async function emitResults(rows: ResultRow[], o: ResultFlags, plan: Plan, backends: string[]): Promise<void> {
  const meta: ReportMeta = {
    sweepId: plan.id,
    name: plan.sweep.name,
    description: plan.sweep.description,
    version: PACKAGE_VERSION,
    date: new Date().toISOString(),
    backends,
    command: ['unprune', ...process.argv.slice(2)].join(' '),
  };
  await emit(await render(rows, o, meta), o.out);
  if (o.figures) {
    mkdirSync(o.figures, { recursive: true });
    const { reportFigures } = await import('../sweep/report/html-report.js');
    const { svgToPng } = await import('../sweep/report/charts.js');
    for (const f of await reportFigures(rows)) {
      writeFileSync(join(o.figures, `${f.name}.svg`), f.svg);
      writeFileSync(join(o.figures, `${f.name}.png`), svgToPng(f.svg));
    }
    console.error(`wrote the figures to ${o.figures}`);
  }
}

/** The options that shape results, on `run` and `results`. */
function resultOptions(cmd: Command): Command {
  return cmd
    .addOption(formatOption('table'))
    .option('--out <file>', 'write the results there instead of stdout')
    .option('--metrics <names>', 'metrics to show, comma-separated (default: the table metrics; names as in CSV)')
    .option('--group-by <axes>', 'axes to keep apart, comma-separated; the others are averaged within each seed')
    .option('--aggregate', 'CSV: one row per table row (means, std, 95% CI) instead of one per cell')
    .option('--figures <dir>', 'also write each figure there as SVG and PNG');
}

async function emit(text: string, out: string | undefined): Promise<void> {
  if (out) {
    writeFileSync(out, text);
    console.error(`wrote ${out}`);
  } else process.stdout.write(text);
}

/** The package's version (package.json is the one place it is declared). */
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const program = new Command();
/** The process settings (environment, with --backend over UNPRUNE_BACKEND), parsed once when first needed. */
let parsedSettings: Settings | undefined;
const settings = (): Settings => {
  if (!parsedSettings) {
    parsedSettings = loadSettings(process.env, { backend: program.opts<{ backend?: Settings['backend'] }>().backend });
    configureNativeBlas(backendOptions(parsedSettings));
  }
  return parsedSettings;
};
program
  .name('unprune')
  .description('Machine-unlearning experiments on sparse (pruned) neural networks')
  .addOption(
    new Option('--backend <name>', 'compute backend (default: UNPRUNE_BACKEND, else auto)').choices([
      ...BACKEND_CHOICES,
    ]),
  )
  .version(PACKAGE_VERSION, '-V, --version', 'print the unprune version')
  // A bad option value is one line naming the option and its allowed values, not the whole help.
  .showHelpAfterError('(unprune --help, or unprune <command> --help, for usage)')
  // Bad input exits with status 2 (help and --version exit 0).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

// Output piped into a reader that stops early (`| head`): end quietly, as other command-line tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const storeOption = () => new Option('--store <dir|s3://bucket/prefix>', 'artifact store').default(DEFAULT_STORE);
const formatOption = (dflt: Format) =>
  new Option('--format <format>', 'output format').choices([...FORMATS]).default(dflt);
const maxCellsOption = () =>
  new Option('--max-cells <n>', "refuse grids larger than this (overrides the spec's limits.maxCells)").argParser(
    positiveInt('--max-cells'),
  );

program
  .command('backends')
  .description('list the compute backends installed here and the one that would be used')
  .action(async () => {
    settings();
    const { availableBackends, initBackend } = await import('../ml/backend.js');
    const available = await availableBackends();
    const chosen = await initBackend(settings().backend, backendOptions(settings()));
    console.log(`installed: ${available.join(', ')}`);
    console.log(`selected:  ${chosen.name}`);
    const blas = loadNativeBlas();
    if (blas) {
      const d = blas.describe();
      console.log(`blas:      ${d.config.split(' ').slice(0, 2).join(' ')}, ${d.core} kernels, ${d.threads} thread(s)`);
    } else console.log(`blas:      not available: ${nativeBlasUnavailableReason()}`);
  });

program
  .command('validate')
  .description('check a sweep spec (YAML or JSON); print its grid size, or every problem with its field path')
  .argument('<file>', 'sweep spec')
  .addOption(maxCellsOption())
  .action((file: string, o: { maxCells?: number }) => {
    const s = loadSpec(file, o.maxCells);
    requireData(s);
    console.log(`${file}: ok — sweep "${s.name}", ${cellCount(s)} cells`);
  });

function planText(plan: Plan, census: PlanCensus & { workers: number }): string {
  const c = planCounts(plan);
  const storedTotal = PLANNED_KINDS.reduce((n, k) => n + (census.stored[k] ?? 0), 0);
  const lines = [
    `sweep ${plan.id}: ${c.cells} cells`,
    '',
    `${'stage'.padEnd(10)} ${'planned'.padStart(9)} ${'stored'.padStart(9)} ${'naive'.padStart(9)}`,
    ...PLANNED_KINDS.map(
      (k) =>
        `${k.padEnd(10)} ${String(c.byKind[k]).padStart(9)} ${String(census.stored[k] ?? 0).padStart(9)} ${String(c.naiveByKind[k]).padStart(9)}`,
    ),
    `${'total'.padEnd(10)} ${String(c.planned).padStart(9)} ${String(storedTotal).padStart(9)} ${String(c.naive).padStart(9)}`,
    '',
    `planned/naive = ${(c.planned / c.naive).toFixed(3)} (naive: every cell runs its own chain; planned: shared stages run once)`,
    storedTotal === c.planned
      ? 'every stage is stored: a run prints the results at once'
      : census.estimateSeconds === null
        ? `${c.planned - storedTotal} stages to run; no estimate (the store has no recorded time for some stage kinds)`
        : `${c.planned - storedTotal} stages to run: about ${formatDuration(census.estimateSeconds)} (stage times recorded in the store, ${census.workers} workers)`,
  ];
  return lines.join('\n') + '\n';
}

program
  .command('plan')
  .description(
    'expand a sweep into its stage graph: stages by kind (planned, already stored, naive) and the time left, estimated from the stage times the store recorded',
  )
  .argument('<file>', 'sweep spec')
  .addOption(storeOption())
  .addOption(
    new Option('--workers <n>', 'workers the estimate assumes (default: one per core)').argParser(
      positiveInt('--workers'),
    ),
  )
  .option('--json', 'print the counts as JSON')
  .addOption(maxCellsOption())
  .action(async (file: string, o: { json?: boolean; maxCells?: number; store: string; workers?: number }) => {
    const plan = planSweep(loadSpec(file, o.maxCells));
    const workers = o.workers ?? availableParallelism();
    const census = { ...(await planCensus(openStore(o.store), plan, workers)), workers };
    if (o.json) console.log(JSON.stringify({ sweep: plan.id, ...planCounts(plan), ...census }, null, 2));
    else process.stdout.write(planText(plan, census));
  });

program
  .command('list')
  .description('the sweeps in a store: id, name, when its last run ended, cells done, description')
  .addOption(storeOption())
  .option('--json', 'print them as JSON')
  .action(async (o: { store: string; json?: boolean }) => {
    const sweeps = await listSweeps(openStore(o.store));
    if (o.json) return console.log(JSON.stringify(sweeps, null, 2));
    if (sweeps.length === 0) return console.log(`no sweeps in ${o.store}`);
    console.log(
      textTable(
        ['sweep', 'name', 'last run', 'cells done', 'description'],
        sweeps.map((s) => [
          s.id,
          s.name,
          s.written ? s.written.replace('T', ' ').slice(0, 16) : '–',
          s.cells === undefined ? '–' : `${s.cellsDone}/${s.cells}`,
          s.description ?? '',
        ]),
      ),
    );
  });

connectionOptions(
  resultOptions(program.command('run'))
    .description('run a sweep on the local engine (resumes from the store), then print its results')
    .argument('<file>', 'sweep spec')
    .addOption(
      new Option('--engine <engine>', 'local process pool, or Temporal (a configured server, else a local dev server)')
        .choices(['local', 'temporal'])
        .default('local'),
    )
    .addOption(storeOption())
    .addOption(
      new Option('--workers <n>', 'worker processes (default: one per core)').argParser(positiveInt('--workers')),
    )
    .addOption(
      new Option('--retries <n>', 'extra attempts for a failing stage (backoff 1 s, doubling, at most 30 s)')
        .default(4)
        .argParser(wholeNumber('--retries', 0, 100)),
    )
    .addOption(maxCellsOption())
    .addOption(
      new Option('--metrics-port <port>', 'serve Prometheus metrics on /metrics (0: any free port)').argParser(
        wholeNumber('--metrics-port', 0, 65535),
      ),
    )
    .option('--metrics-host <host>', 'address /metrics binds to', '127.0.0.1')
    .addOption(
      new Option('--metrics-linger <seconds>', 'keep serving /metrics this long after the run')
        .default(0)
        .argParser(wholeNumber('--metrics-linger', 0, 86400)),
    )
    .option('--pushgateway <url>', 'push the final metrics to a Prometheus Pushgateway (job "unprune")'),
).action(
  async (
    file: string,
    o: ConnectionFlags &
      ResultFlags & {
        engine: string;
        store: string;
        workers?: number;
        retries: number;
        maxCells?: number;
        metricsPort?: number;
        metricsHost: string;
        metricsLinger: number;
        pushgateway?: string;
      },
  ) => {
    const plan = planSweep(loadSpec(file, o.maxCells));
    if (o.engine === 'local') requireData(plan.sweep);
    // Bad result flags are refused before anything runs, not after the sweep.
    viewOptions(o);
    // prom-client only where metrics are asked for (~45 ms of the start otherwise).
    const metricsModule =
      o.metricsPort !== undefined || o.pushgateway ? await import('../worker/metrics.js') : undefined;
    const metrics = metricsModule && new metricsModule.UnpruneMetrics({ role: 'local-engine' });
    const served =
      metrics && o.metricsPort !== undefined
        ? await metricsModule.serveMetrics(metrics, o.metricsPort, o.metricsHost)
        : undefined;
    if (served) console.error(`metrics: ${served.url}`);
    if (o.engine === 'temporal') {
      const outcome = await runOnTemporal(plan.sweep, o.store, o);
      // Results only for a sweep that completed: a failed or cancelled one says so and exits 1 (`results` shows
      // what it stored, naming the missing cells).
      if (outcome.status !== 'COMPLETED') {
        if (outcome.progress) console.error(formatProgress(outcome.progress));
        console.error(`unprune: sweep ${outcome.status.toLowerCase()}${outcome.reason ? `: ${outcome.reason}` : ''}`);
        process.exitCode = 1;
        return;
      }
      const stored = await readRows(openStore(o.store), plan);
      await emitResults(stored.rows, o, plan, stored.backends);
      return;
    }
    const controller = new AbortController();
    const labels = stageLabels(plan);
    const progress = progressReporter({
      total: plan.stages.length,
      stream: process.stderr,
      labels,
      everySeconds: settings().progressSeconds,
    });
    let interrupts = 0;
    // The conventional exit status for the signal that stopped the run: 128 + its number (INT 2, TERM 15, HUP 1).
    let stoppedBy = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1);
      if (++interrupts > 1) process.exit(code);
      stoppedBy = code;
      // The bar stops first, so the message is not drawn over (the summary below has the final counts).
      progress.stop();
      console.error(`\nstopping (${signal}): running stages are abandoned (they leave no artifacts); rerun to resume`);
      controller.abort();
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
    const { runSweepLocally } = await import('../worker/local-engine.js');
    const result = await runSweepLocally(plan, {
      store: o.store,
      workers: o.workers,
      retries: o.retries,
      settings: settings(),
      signal: controller.signal,
      onEvent: progress.onEvent,
      onCorrupt: (path, reason) => console.error(`unprune: corrupt artifact ${path} (${reason}); recomputing it`),
      metrics,
    }).finally(() => progress.stop());
    if (metrics && o.pushgateway) {
      await metrics.push(o.pushgateway, 'unprune');
      console.error(`pushed metrics to ${o.pushgateway}`);
    }
    if (served) {
      if (o.metricsLinger > 0) await new Promise((r) => setTimeout(r, o.metricsLinger * 1000));
      served.server.close();
    }
    const p = result.summary.progress;
    console.error(
      `sweep ${plan.id}: ${p.total} stages — ${p.done} run, ${p.cached} cached, ${p.failed} failed, ${p.skipped} skipped` +
        `${result.backend ? ` (backend ${result.backend})` : ''}; rows: ${result.rowsPath}`,
    );
    for (const f of result.summary.failures) {
      const label = labels.get(f.stage.key);
      console.error(`failed: ${f.stage.kind} ${label ? `(${label}) ` : ''}${f.stage.key}: ${errorChain(f.error)}`);
    }
    if (result.rowsError) {
      console.error(`could not write the rows: ${result.rowsError}; the stages are stored, rerun to write them`);
      process.exitCode = 1;
    }
    if (controller.signal.aborted) {
      console.error(`cancelled with ${p.remaining} stages to go; rerun the same command to resume`);
      process.exit(stoppedBy || 130);
    }
    await emitResults(result.rows, o, plan, result.backend ? [result.backend] : []);
    if (result.missing.length)
      console.error(
        `${result.missing.length} cells have no row (a stage on their chain failed), e.g. ${someCells(result.missing)}`,
      );
    if (p.failed > 0) process.exitCode = 1;
  },
);

resultOptions(program.command('results'))
  .description(
    'print or export the results of a sweep (from its spec file or its id), rebuilt from the stored evaluations; ' +
      'exit 3 when cells are missing unless --partial',
  )
  .argument('<sweep>', 'sweep spec file, or a sweep id (name-hash) in the store')
  .addOption(storeOption())
  .option('--partial', 'a table with cells missing is acceptable (exit 0)')
  .option(
    '--compare <axis=a,b>',
    'paired differences b − a over seeds, with 95% intervals and p-values, for cells differing only in that axis (e.g. unprune=none,reprune)',
  )
  .action(async (what: string, o: ResultFlags & { store: string; partial?: boolean; compare?: string }) => {
    const comparison = o.compare === undefined ? undefined : parseComparisonOption(o.compare);
    // Reading results never writes to the store: a read-only store works, and a running engine's rows are safe.
    const store = openStore(o.store);
    let plan: Plan;
    if (existsSync(what)) plan = planSweep(loadSpec(what, Number.MAX_SAFE_INTEGER));
    else {
      // The rows are derived from the sweep's resolved spec (written when it started), never from a rows file
      // that a killed or cancelled run may have left short.
      const spec = await store.getText(`sweeps/${what}/sweep.json`);
      if (spec === null) {
        const known = [...new Set((await store.blobs.list('sweeps/')).map((p) => p.split('/')[1]))];
        throw new UsageError(
          `no sweep "${what}" in ${store.location}${known.length ? `; known: ${known.join(', ')}` : ''}`,
        );
      }
      plan = planSweep(parseSweep(spec, { source: `sweeps/${what}/sweep.json`, maxCells: Number.MAX_SAFE_INTEGER }));
    }
    const { rows, missing, backends } = await readRows(store, plan);
    if (comparison) {
      if (o.format !== 'table' && o.format !== 'md' && o.format !== 'json')
        throw new UsageError(`--compare prints table, md or json, not ${o.format}`);
      const comps = compareRows(rows, comparison.axis, comparison.a, comparison.b);
      await emit(formatComparison(comps, o.format), o.out);
    } else await emitResults(rows, o, plan, backends);
    if (missing.length) {
      console.error(
        `unprune: incomplete: ${missing.length} of ${plan.cells.length} cells of ${plan.id} have no row ` +
          `(their evaluations are not in ${store.location}: still running, failed, or never run), e.g. ` +
          `${someCells(missing)}. ` +
          `Rerun the sweep to complete it` +
          `${o.partial ? '' : ', or pass --partial to accept this table'}.`,
      );
      if (!o.partial) process.exitCode = 3;
    }
  });

/** `--compare` as a usage error (exit 2) when malformed. */
function parseComparisonOption(text: string) {
  try {
    return parseComparison(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The first three cells by name, and how many more: `a; b; c and 4 more`. */
function someCells(cells: Plan['cells']): string {
  const names = cells.slice(0, 3).map((c) => cellName(c.axes));
  return `${names.join('; ')}${cells.length > names.length ? ` and ${cells.length - names.length} more` : ''}`;
}

/** A cell named by its axes, as a researcher reads it. */
function cellName(a: Plan['cells'][number]['axes']): string {
  return `${a.dataset}/${a.arch} seed ${a.seed} ${a.prune} ${a.sparsity} ${a.deletion} ${a.deletion_size} ${a.unlearn} ${a.unprune}`;
}

addTemporalCommands(program, loadSpec, storeOption, maxCellsOption, wholeNumber);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // One line, never a stack trace (the wasm module would otherwise print its whole source on a re-thrown error).
  console.error(`unprune: ${err instanceof Error ? err.message : String(err)}`);
  // The parsed setting when there is one; the raw variable only when parsing the settings is what failed.
  const debug = parsedSettings ? parsedSettings.debug : Boolean(process.env.UNPRUNE_DEBUG);
  if (debug && err instanceof Error) console.error(err.stack);
  const usage =
    err instanceof SettingsError ||
    err instanceof BackendUnavailableError ||
    err instanceof SpecError ||
    err instanceof UsageError ||
    err instanceof InvalidStorePathError ||
    err instanceof TemporalUnavailableError ||
    err instanceof SubmitError;
  process.exit(usage ? 2 : 1);
}
