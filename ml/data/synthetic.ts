// A seeded synthetic classification set for tests: each class is a Gaussian blob around a random prototype image.
import { SeededRandom } from './seeded-random.js';
import type { Dataset, Split } from './dataset.js';

export interface SyntheticOptions {
  train?: number;
  test?: number;
  inputShape?: [number, number, number];
  numClasses?: number;
  /** Noise std relative to the prototypes' unit scale; larger is harder. */
  noise?: number;
  seed?: number;
}

export function makeSynthetic(opts: SyntheticOptions = {}): Dataset {
  const inputShape = opts.inputShape ?? [8, 8, 1];
  const numClasses = opts.numClasses ?? 4;
  const noise = opts.noise ?? 1;
  const rng = new SeededRandom(opts.seed ?? 0);
  const fs = inputShape[0] * inputShape[1] * inputShape[2];
  const prototypes = Array.from({ length: numClasses }, () => Float32Array.from({ length: fs }, () => rng.normal()));
  const make = (n: number): Split => {
    const x = new Float32Array(n * fs);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % numClasses;
      y[i] = c;
      const p = prototypes[c]!;
      for (let j = 0; j < fs; j++) x[i * fs + j] = p[j]! + noise * rng.normal();
    }
    return { x, y, n };
  };
  return { name: 'synthetic', inputShape, numClasses, train: make(opts.train ?? 512), test: make(opts.test ?? 256) };
}
