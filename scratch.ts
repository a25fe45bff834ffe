import { bundleWorkflowCode } from '@temporalio/worker';
const t = performance.now();
const b = await bundleWorkflowCode({ workflowsPath: new URL('./workflows/index.ts', import.meta.url).pathname, logger: undefined });
console.log('bundle', b.code.length, ((performance.now() - t) / 1000).toFixed(1));
