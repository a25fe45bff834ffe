// The machine-independent unit of compute cost: examples passed forward and backward (one gradient evaluation
// each), counted wherever ml/ takes a gradient over data. A stage's cost is the count's growth while it runs (a
// process runs one stage at a time), so every training loop, replay, estimator and unlearning step is included
// whether or not it reports progress.
let counted = 0;

/** Records a gradient over `n` examples (a forward and a backward pass each). */
export function countTrainingExamples(n: number): void {
  counted += n;
}

/** Examples passed forward and backward in this process so far. */
export function trainingExamplesSoFar(): number {
  return counted;
}
