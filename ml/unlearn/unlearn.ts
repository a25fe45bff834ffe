// The unlearning registry: one entry per algorithm, each timed (RTE).
import { UNLEARN_METHODS, type UnlearnMethod } from '../catalog.js';
import type { Weights } from '../models/network.js';
import { finetune, gradientAscent, l1Sparse, negGradPlus, randomLabels, retrain, salun } from './basic-algorithms.js';
import { fisherForgetting } from './fisher-forgetting.js';
import { scrub } from './scrub.js';
import { woodfisherUnlearn } from './woodfisher.js';
import type { UnlearnInputs, UnlearnParams, UnlearnResult } from './unlearn-context.js';

const ALGORITHMS: Record<UnlearnMethod, (inputs: UnlearnInputs, params: UnlearnParams) => Promise<Weights>> = {
  retrain,
  ft: finetune,
  ga: gradientAscent,
  'neggrad+': negGradPlus,
  rl: randomLabels,
  'l1-sparse': l1Sparse,
  salun,
  scrub,
  ff: fisherForgetting,
  iu: woodfisherUnlearn,
};

export async function unlearn(
  method: UnlearnMethod,
  inputs: UnlearnInputs,
  params: UnlearnParams = {},
): Promise<UnlearnResult> {
  const algorithm = ALGORITHMS[method];
  if (!algorithm) throw new Error(`unknown unlearning method "${method}": one of ${UNLEARN_METHODS.join(', ')}`);
  const start = performance.now();
  const weights = await algorithm(inputs, params);
  return { weights, seconds: (performance.now() - start) / 1000 };
}
