// Seeded initialisation in plain JS, identical on every backend: Kaiming-normal (fan-in, ReLU gain) for conv and
// dense weights, zero biases, BN γ = 1, β = 0, running mean 0 and variance 1.
import { deriveSeed, SeededRandom } from '../data/seeded-random.js';
import { sizeOf, type ArchDefinition, type Weights } from './network.js';

export function initWeights(def: ArchDefinition, seed: number): Weights {
  const rng = new SeededRandom(deriveSeed(seed, `init:${def.arch}`));
  const out: Weights = {};
  for (const p of def.params) {
    const a = new Float32Array(sizeOf(p.shape));
    switch (p.role) {
      case 'conv':
      case 'dense': {
        const std = Math.sqrt(2 / (p.fanIn ?? p.shape[0]!));
        for (let i = 0; i < a.length; i++) a[i] = std * rng.normal();
        break;
      }
      case 'bn-gamma':
      case 'bn-var':
        a.fill(1);
        break;
      default:
        break; // biases, BN β and running mean start at zero
    }
    out[p.name] = a;
  }
  return out;
}
