// The stage kinds, their implementation versions, and the kind a content key names. Apart from plan.ts (which
// re-exports it) so that a worker process can read keys without loading the spec's parser (zod, yaml).
export const STAGE_KINDS = ['train', 'forget', 'prune', 'gold', 'estimate', 'unlearn', 'unprune', 'evaluate'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** Bumped when a stage kind's implementation changes its output, so old artifacts are not reused. */
export const STAGE_VERSIONS: Record<StageKind, number> = {
  train: 1,
  forget: 1,
  // 2: wall times moved from blobs to manifests (blobs are byte-identical across runs).
  prune: 2,
  gold: 2,
  estimate: 1,
  unlearn: 2,
  // 3: IMP cells re-prune by replaying IMP's rounds from θ̂_r (was a one-shot top-k); params carry the pruning.
  unprune: 3,
  evaluate: 2,
};

/** Keys name their kind (`prune-3fa…`), so an input key locates its artifacts without a lookup. */
export function kindOfKey(key: string): StageKind {
  const kind = key.slice(0, key.indexOf('-')) as StageKind;
  if (!STAGE_KINDS.includes(kind)) throw new Error(`"${key}" is not a stage key`);
  return kind;
}
