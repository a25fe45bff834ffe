// The workflow bundle's entry point.
export { shardWorkflow, sweepWorkflow, progressQuery, shardProgressSignal } from './sweep-workflow.js';
