import { initBackend, tf } from './ml/backend.js';
import { buildArch } from './ml/models/architectures.js';
import { initWeights } from './ml/models/init-weights.js';
import { Network } from './ml/models/network.js';
import { MaskedOptimizer } from './ml/optimizers.js';
import { crossEntropy, trainStep } from './ml/train.js';
await initBackend('wasm');
const arch = (process.argv[2] ?? 'lenet5') as any;
const def = buildArch(arch, [28,28,1], 10); const net = new Network(def, initWeights(def,0));
const opt = new MaskedOptimizer({optimizer:'sgd', lr:0.01, momentum:0.9});
const x = tf.randomNormal([128,28,28,1]); const y = tf.tensor1d(Array.from({length:128},(_,i)=>i%10),'int32');
for (let i=0;i<3;i++) trainStep(net,opt,x,y,0.01,crossEntropy).dispose();
const prof = await tf.profile(() => { for (let i=0;i<10;i++) trainStep(net,opt,x,y,0.01,crossEntropy).dispose(); });
const agg: Record<string,{ms:number,n:number}> = {};
for (const k of prof.kernels) { const e = agg[k.name] ??= {ms:0,n:0}; e.ms += (k.kernelTimeMs as number); e.n++; }
const tot = Object.values(agg).reduce((s,e)=>s+e.ms,0);
console.log('total kernel ms/step', (tot/10).toFixed(2), 'kernels/step', prof.kernels.length/10);
for (const [k,e] of Object.entries(agg).sort((a,b)=>b[1].ms-a[1].ms).slice(0,15)) console.log(k.padEnd(28), (e.ms/10).toFixed(3), e.n/10);
const t=performance.now(); for (let i=0;i<20;i++) trainStep(net,opt,x,y,0.01,crossEntropy).dispose(); net.variable('fc1.w').dataSync(); console.log('wall ms/step', ((performance.now()-t)/20).toFixed(2));
