// Store throughput: write and read a 20 MB weights checkpoint and 1,000 small masks through the filesystem store and
// through the S3 store against radosgw (started here by infra/scripts/radosgw.sh), next to Debian's `aws s3 cp` of
// the same bytes to the same endpoint, in the same run; and the bit-packed mask size against float32. A benchmark:
// it prints figures and never fails on speed.
//   npm run bench:store -- [--json] [--masks 1000] [--mb 20]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../store/artifact-store.js';
import type { BlobStore } from '../store/blob-store.js';
import { encodeMask, encodeWeights } from '../store/codec.js';
import { FsBlobStore } from '../store/fs.js';
import { S3_TIMEOUT_SECONDS, S3BlobStore } from '../store/s3.js';
import { benchArgs } from './command-line.js';

const { values: args } = benchArgs(import.meta.url, {
  options: {
    json: { type: 'boolean', default: false },
    masks: { type: 'string', default: '1000' },
    mb: { type: 'string', default: '20' },
  },
});
const SCRIPT = new URL('../infra/scripts/radosgw.sh', import.meta.url).pathname;
const floats = (Number(args.mb) * 1024 * 1024) / 4;
const checkpoint = encodeWeights({ 'w#1': Float32Array.from({ length: floats }, (_, i) => Math.sin(i)) });
const maskLen = 266_610; // the MLP's prunable weights
const masks = Array.from({ length: Number(args.masks) }, (_, j) =>
  encodeMask({
    layers: [
      {
        name: 'w',
        shape: [maskLen],
        keep: Uint8Array.from({ length: maskLen }, (_, i) => ((i * 7 + j) % 5 === 0 ? 1 : 0)),
      },
    ],
  }),
);
const maskBytes = masks.reduce((s, m) => s + m.byteLength, 0);

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function measure(blobs: BlobStore) {
  const store = new ArtifactStore(blobs);
  const writeBig = await timeIt(() => blobs.put('bench/checkpoint.bin', checkpoint));
  const readBig = await timeIt(async () => void (await blobs.get('bench/checkpoint.bin')));
  const writeMasks = await timeIt(async () => {
    for (let i = 0; i < masks.length; i += 16)
      await Promise.all(masks.slice(i, i + 16).map((m, j) => blobs.put(`bench/masks/${i + j}.bin`, m)));
  });
  void store;
  const mb = checkpoint.byteLength / 1e6;
  return { writeMBps: mb / writeBig, readMBps: mb / readBig, masksPerSecond: masks.length / writeMasks };
}

const fsRoot = mkdtempSync(join(tmpdir(), 'unprune-bench-store-'));
const fsFigures = await measure(new FsBlobStore(fsRoot));
rmSync(fsRoot, { recursive: true, force: true });

const rgw = mkdtempSync(join(tmpdir(), 'unprune-bench-rgw-'));
// A cold Ceph start occasionally fails (the OSD reports a wrong fsid); try up to three times on fresh ports.
let envText = '';
for (let attempt = 1; !envText; attempt++) {
  const port = 20000 + 300 * Math.floor(Math.random() * 60);
  try {
    envText = execFileSync('bash', [SCRIPT, 'start', rgw], {
      encoding: 'utf8',
      env: { ...process.env, RADOSGW_PORT: String(port), RADOSGW_MON_PORT: String(port + 1) },
    });
  } catch (err) {
    if (attempt >= 3) throw err;
  }
}
const env = Object.fromEntries([...envText.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
try {
  const s3 = new S3BlobStore({
    endpoint: env.UNPRUNE_S3_ENDPOINT!,
    accessKey: env.UNPRUNE_S3_ACCESS_KEY!,
    secretKey: env.UNPRUNE_S3_SECRET_KEY!,
    bucket: 'bench',
    prefix: 'p',
    timeoutSeconds: S3_TIMEOUT_SECONDS,
  });
  await s3.put('warmup', new Uint8Array(1)); // bucket creation (~2 s, pool creation) outside the timing
  const s3Figures = await measure(s3);
  // aws is a Python program with ~1 s of start-up: it copies COPIES files per call so transfer dominates; the S3
  // store is timed on the same COPIES files.
  const COPIES = 5;
  const up = join(rgw, 'up');
  mkdirSync(up);
  for (let i = 0; i < COPIES; i++) writeFileSync(join(up, `checkpoint-${i}.bin`), checkpoint);
  const awsEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: env.UNPRUNE_S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: env.UNPRUNE_S3_SECRET_KEY,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const endpoint = ['--endpoint-url', env.UNPRUNE_S3_ENDPOINT!];
  const aws = (paths: string[]) =>
    execFileSync('/usr/bin/aws', ['s3', 'cp', '--quiet', '--recursive', ...paths, ...endpoint], { env: awsEnv });
  const awsUp = await timeIt(async () => void aws([up, 's3://bench/aws/']));
  const awsDown = await timeIt(async () => void aws(['s3://bench/aws/', join(rgw, 'down')]));
  const mb = checkpoint.byteLength / 1e6;
  const awsFigures = { writeMBps: (COPIES * mb) / awsUp, readMBps: (COPIES * mb) / awsDown };
  const ourUp = await timeIt(async () => {
    for (let i = 0; i < COPIES; i++) await s3.put(`many/${i}.bin`, checkpoint);
  });
  const ourDown = await timeIt(async () => {
    for (let i = 0; i < COPIES; i++) await s3.get(`many/${i}.bin`);
  });
  const ours = { writeMBps: (COPIES * mb) / ourUp, readMBps: (COPIES * mb) / ourDown };
  const packing = (maskLen * 4) / (maskBytes / masks.length);
  console.log(
    `checkpoint ${mb.toFixed(1)} MB; ${masks.length} masks of ${maskLen} weights (${(maskBytes / masks.length / 1024).toFixed(1)} KiB each)`,
  );
  console.log('store          write MB/s  read MB/s  masks/s');
  const row = (n: string, f: { writeMBps: number; readMBps: number; masksPerSecond?: number }) =>
    console.log(
      `${n.padEnd(14)} ${f.writeMBps.toFixed(1).padStart(10)} ${f.readMBps.toFixed(1).padStart(10)} ${f.masksPerSecond ? f.masksPerSecond.toFixed(0).padStart(8) : '       –'}`,
    );
  row('filesystem', fsFigures);
  row('S3 (minio)', s3Figures);
  row(`S3 ×${COPIES}`, ours);
  row(`aws s3 cp ×${COPIES}`, awsFigures);
  console.log(
    `S3 store / aws s3 cp (${COPIES} files each, aws start-up included): write ${(ours.writeMBps / awsFigures.writeMBps).toFixed(2)}, ` +
      `read ${(ours.readMBps / awsFigures.readMBps).toFixed(2)}; bit-packed masks ${packing.toFixed(1)}× smaller than float32`,
  );
  if (args.json)
    console.log(JSON.stringify({ fs: fsFigures, s3: s3Figures, s3Copies: ours, aws: awsFigures, packing }));
} finally {
  execFileSync('bash', [SCRIPT, 'stop', rgw]);
}
