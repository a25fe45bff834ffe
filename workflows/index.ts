// The workflow bundle's entry point.
export { shardWorkflow, sweepWorkflow, progressQuery, shardProgressQuery } from './sweep-workflow.js';
