// The HTML report as a reader sees it: rendered in headless Chromium (Debian's, installed on first use like the
// other services), every figure checked for drawn marks, a legend with one distinct colour per un-pruning variant,
// and no text outside its SVG (nothing clipped). The screenshots are kept in test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { ResultRow } from '../../sweep/results/result-rows.js';
import { htmlReport } from '../../sweep/report/html-report.js';
import { ensureDebianTool } from '../helpers/debian.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const VARIANTS = ['none', 'reprune', 'regrow p0.3 R2'];

/** Rows of a sweep with two pruning methods, three un-pruning variants (one with a long name), two seeds. */
function rows(sizes: number[]): ResultRow[] {
  const out: ResultRow[] = [];
  for (const prune of ['omp', 'imp'])
    for (const size of sizes)
      for (const seed of [0, 1])
        for (const unlearn of ['ft', 'neggrad+'])
          VARIANTS.forEach((unprune, v) => {
            const wobble = 0.01 * ((seed * 7 + v * 3 + Math.round(size * 100)) % 5);
            out.push({
              dataset: 'mnist',
              arch: 'mlp',
              seed,
              prune,
              sparsity: 0.9,
              deletion: 'random',
              deletion_size: size,
              unlearn,
              unprune,
              ua: 5 + 20 * size + v + seed,
              ra: 97 - v - seed * 0.5,
              ta: 95 - v,
              mia_efficacy: 10 + 50 * size + 5 * v + seed,
              iou_gold: 0.85 + 0.04 * v - size + wobble,
              iou_gold_base: 0.85 - size,
              iou_floor: 0.8,
              recovery: v === 0 ? 0 : 0.2 * v + wobble,
              final_sparsity: 0.9,
              rte_s: 1 + v,
              cost_ratio: v === 0 ? 0 : 0.3 * v,
              ua_gap: v,
              ra_gap: -v,
              ta_gap: -v,
              mia_gap: v,
              mean_abs_gap: v,
              gold_ua: 6,
              gold_ra: 97,
              gold_ta: 95,
              gold_mia: 12,
              orig_ua: 3,
              orig_ra: 98,
              orig_ta: 95,
              orig_mia: 8,
              weight_change: 0.05,
              per_layer_iou_gold: {},
              config: { unprune: { variant: unprune.split(' ')[0] } },
              evaluate_key: `e-${prune}-${size}-${seed}-${unlearn}-${v}`,
            } as unknown as ResultRow);
          });
  return out;
}

interface FigureCheck {
  id: string;
  marks: number;
  legendColours: string[];
  outside: string[];
  truncated: string[];
}

test('the HTML report in headless Chromium: every figure drawn, a colour per variant, no clipped text', async () => {
  const executablePath = ensureDebianTool('/usr/bin/chromium', 'chromium');
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    // As the machine notes say: without these, Chromium keeps trying to reach Google's hosts on a closed network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const cases: [string, ResultRow[]][] = [
      ['three-sizes', rows([0.01, 0.05, 0.1])],
      ['one-size', rows([0.05])],
      // A random and a class-wise deletion side by side (the class rows get their own figure).
      [
        'with-a-class',
        [
          ...rows([0.05]),
          ...rows([1]).map((r) => ({ ...r, deletion: 'class:3', evaluate_key: `${r.evaluate_key}-c` }) as ResultRow),
        ],
      ],
    ];
    for (const [name, sweepRows] of cases) {
      const html = await htmlReport(sweepRows, {
        sweepId: `chromium-${name}`,
        name: `report check (${name})`,
        description: 'synthetic rows with three un-pruning variants',
        version: '0.0.0-test',
        date: '2026-12-01T00:00:00Z',
        backends: ['cpu'],
        command: 'unprune results chromium --format html',
      });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.setContent(html, { waitUntil: 'load' });
      const figures = await page.$$eval('section.figure', (sections) =>
        sections.map((section) => {
          const svg = section.querySelector('svg')!;
          const box = svg.getBoundingClientRect();
          const texts = [...svg.querySelectorAll('text')].filter((t) => (t.textContent ?? '').trim() !== '');
          return {
            id: section.id,
            marks: svg.querySelectorAll('.role-mark path, .role-mark line, .role-mark rect').length,
            legendColours: [
              ...new Set(
                [...svg.querySelectorAll('.role-legend-symbol path')].map((p) => p.getAttribute('fill') ?? ''),
              ),
            ],
            outside: texts
              .filter((t) => {
                const r = t.getBoundingClientRect();
                return (
                  r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1
                );
              })
              .map((t) => t.textContent ?? ''),
            truncated: texts.map((t) => t.textContent ?? '').filter((s) => s.endsWith('…')),
          };
        }),
      );
      await page.screenshot({ path: join(ARTIFACTS, `html-report-${name}.png`), fullPage: true });
      await page.close();
      const ids = figures.map((f: FigureCheck) => f.id);
      for (const id of ['iou-vs-deletion', 'mia-vs-deletion', 'recovery-vs-cost', 'accuracy-per-algorithm'])
        assert.ok(ids.includes(id), `${name}: figure ${id} missing (${ids.join(', ')})`);
      if (name === 'with-a-class') assert.ok(ids.includes('iou-class-deletion'), ids.join(', '));
      for (const f of figures as FigureCheck[]) {
        assert.ok(f.marks > 0, `${name}/${f.id}: no marks drawn`);
        assert.deepEqual(f.outside, [], `${name}/${f.id}: text outside the figure`);
        assert.deepEqual(f.truncated, [], `${name}/${f.id}: truncated labels`);
        assert.equal(
          f.legendColours.filter((c) => c).length,
          VARIANTS.length,
          `${name}/${f.id}: legend colours ${f.legendColours.join(', ')}`,
        );
      }
    }
  } finally {
    await browser.close();
  }
});
