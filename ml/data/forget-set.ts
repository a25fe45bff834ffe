// Forget sets D_f ⊂ D. Random deletion is nested across sizes for one seed (each set is a prefix of one seeded
// permutation, so the 1% set ⊂ the 5% set ⊂ the 10% set): a size sweep then varies only the amount deleted.
// Class-wise deletion removes all of, or a nested part of, the chosen classes.
import { PermanentError } from '../errors.js';
import { deriveSeed, SeededRandom } from './seeded-random.js';

export type ForgetRequest =
  | { kind: 'random'; /** A count (integer ≥ 1) or a fraction of D (0 < f < 1). */ size: number; seed: number }
  | {
      kind: 'class';
      classes: number[];
      /** Part of each class: a fraction (0 < f ≤ 1) or a count; default 1 (the whole class). */
      size?: number;
      seed: number;
    };

export class ForgetSetError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'ForgetSetError';
  }
}

function resolveCount(size: number, of: number, what: string, allowAll: boolean): number {
  if (!Number.isFinite(size) || size <= 0) throw new ForgetSetError(`${what} size ${size} must be > 0`);
  const count = size < 1 ? Math.round(size * of) : size === 1 && allowAll ? of : size;
  if (size >= 1 && !Number.isInteger(size))
    throw new ForgetSetError(`${what} size ${size} must be an integer count or a fraction < 1`);
  if (count < 1) throw new ForgetSetError(`${what} size ${size} of ${of} examples selects nothing`);
  if (count > of || (!allowAll && count >= of)) {
    throw new ForgetSetError(
      `${what} size ${size} is too large: ${allowAll ? 'at most' : 'must be below'} ${of} examples`,
    );
  }
  return count;
}

/** Indices (sorted ascending) of D_f among the training examples whose labels are given. */
export function forgetSet(labels: Int32Array, numClasses: number, req: ForgetRequest): Int32Array {
  const n = labels.length;
  const order = new SeededRandom(deriveSeed(req.seed, 'forget-set')).permutation(n);
  let chosen: Int32Array;
  if (req.kind === 'random') {
    chosen = order.slice(0, resolveCount(req.size, n, 'random deletion', false));
  } else {
    if (req.classes.length === 0) throw new ForgetSetError('class deletion needs at least one class');
    const picked: number[] = [];
    for (const c of new Set(req.classes)) {
      if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
        throw new ForgetSetError(`unknown class ${c}: classes are 0..${numClasses - 1}`);
      }
      const members = order.filter((i) => labels[i] === c);
      if (members.length === 0) throw new ForgetSetError(`class ${c} has no training examples`);
      picked.push(...members.subarray(0, resolveCount(req.size ?? 1, members.length, `class ${c} deletion`, true)));
    }
    if (picked.length >= n) throw new ForgetSetError(`class deletion would remove all ${n} training examples`);
    chosen = Int32Array.from(picked);
  }
  return chosen.sort();
}
