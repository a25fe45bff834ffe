// Helpers for tests that run sweeps through the CLI and inspect what they left in a filesystem store.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIMING_COLUMNS } from '../../sweep/results/result-metrics.js';
import { rowsFromJsonl, type ResultRow } from '../../sweep/results/result-rows.js';
import { unprune } from './cli.js';

export const TINY = new URL('../fixtures/specs/tiny.yaml', import.meta.url).pathname;
export const tmp = (what = 'run') => mkdtempSync(join(tmpdir(), `unprune-${what}-`));

/** Stages with a manifest in a filesystem store (plan stages only: train checkpoints live beside them). */
export function manifests(store: string): { kind: string; key: string }[] {
  const root = join(store, 'stages');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((kind) => !kind.endsWith('-checkpoint'))
    .flatMap((kind) =>
      readdirSync(join(root, kind))
        .filter((key) => readdirSync(join(root, kind, key)).includes('manifest.json'))
        .map((key) => ({ kind, key })),
    );
}

export function rowsOf(store: string, sweep?: string): ResultRow[] {
  const dir = sweep ?? readdirSync(join(store, 'sweeps'))[0]!;
  return rowsFromJsonl(readFileSync(join(store, 'sweeps', dir, 'rows.jsonl'), 'utf8'));
}

/** Rows without wall-time columns (they differ between runs of the same cell). */
export const content = (rs: ResultRow[]) =>
  rs.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING_COLUMNS.includes(k))));

/** The engine's closing line: "N stages — R run, C cached, F failed". */
export function summary(stderr: string) {
  const m = /(\d+) stages — (\d+) run, (\d+) cached, (\d+) failed/.exec(stderr);
  assert.ok(m, stderr);
  return { total: +m[1]!, run: +m[2]!, cached: +m[3]!, failed: +m[4]! };
}

/** Files left under a folder whose names mark unfinished writes. */
export function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.includes('.tmp-'));
}

export interface FaultFigures {
  faultsInjected?: number;
  faultsSurvived?: number;
  badInputs?: number;
  rowsLost?: number;
  corruptReadsUsed?: number;
  stagesRunTwice?: number;
}

/**
 * Counts a check's faults as injected, before it injects them: a check that then fails records no survival, so the
 * summary line reads "injected 15, survived 14" and names it.
 */
export function injectingFaults(what: string, faultsInjected: number): void {
  appendFileSync(figuresFile(), JSON.stringify({ what, faultsInjected }) + '\n');
}

/** After a check's assertions passed: what it verified (faults survived, rows lost, bad inputs rejected, …). */
export function recordFigures(what: string, f: Omit<FaultFigures, 'faultsInjected'>): void {
  console.log(`# ${what}: ${JSON.stringify(f)}`);
  appendFileSync(figuresFile(), JSON.stringify({ what, ...f }) + '\n');
}

/** Where this `node --test` run's checks append their figures (UNPRUNE_FAULT_FIGURES when the summary runs them). */
export const figuresFile = () =>
  process.env.UNPRUNE_FAULT_FIGURES ?? join(tmpdir(), `unprune-fault-figures-${process.ppid}.jsonl`);

/** An uninterrupted run of the tiny sweep: its stage count and its rows without wall times (the reference). */
export function baselineRun(): { total: number; rows: ReturnType<typeof content> } {
  const store = tmp('baseline');
  const r = unprune(['run', TINY, '--store', store, '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
  return { total: summary(r.stderr).total, rows: content(rowsOf(store)) };
}
