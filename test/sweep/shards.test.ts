// The Temporal engine's shards: every stage is counted by exactly one shard (a sweep's progress is the plan's, with
// no stage twice), and a lineage's head holds everything that needs no forget set (deletion shards only read it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { planSweep } from '../../sweep/plan.js';
import { scheduleOf, shardBlobs, shardPlan } from '../../sweep/shards.js';
import { parseSweep } from '../../sweep/spec.js';
import { inputKeys } from '../../sweep/stage-kinds.js';

// Two architectures share each forget set (it depends on the data and the seed only).
const plan = planSweep(
  parseSweep(readFileSync(new URL('../../examples/unpruning-study.yaml', import.meta.url), 'utf8')),
);

test('each stage is counted by exactly one shard; the shards together count the plan', () => {
  const shards = shardPlan(plan);
  const blobs = shardBlobs(plan, shards);
  const counts = new Map<string, number>();
  for (const b of blobs) {
    const shared = new Set(b.shared);
    b.stages.forEach((s, i) => shared.has(i) || counts.set(s.key, (counts.get(s.key) ?? 0) + 1));
  }
  assert.equal(counts.size, plan.stages.length);
  assert.ok([...counts.values()].every((n) => n === 1));
  // What a deletion shard lists but does not count: its head's stages, and nothing of a later shard.
  const deletion = blobs.find((b) => b.id.startsWith('deletion:'))!;
  const schedule = scheduleOf(deletion);
  assert.ok(schedule.some((s) => s.shared) && schedule.some((s) => !s.shared));
});

test("a lineage's head holds every stage that needs no forget set; deletion shards hold the rest", () => {
  const byKey = new Map(plan.stages.map((s) => [s.key, s] as const));
  const needsForget = (key: string): boolean => {
    const s = byKey.get(key)!;
    return s.kind === 'forget' || inputKeys(s).some(needsForget);
  };
  const shards = shardPlan(plan);
  const heads = new Map(shards.filter((s) => s.kind === 'head').map((s) => [s.id, new Set(s.keys)] as const));
  for (const s of shards) {
    if (s.kind === 'head')
      assert.ok(
        s.keys.every((k) => !needsForget(k)),
        s.id,
      );
    else for (const k of s.keys) if (!needsForget(k)) assert.ok(heads.get(s.after!)!.has(k), `${s.id}: ${k}`);
  }
});
