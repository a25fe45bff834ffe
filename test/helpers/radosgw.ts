// Starts a real S3 server for a test file: Ceph radosgw from Debian, on loopback ports of its own, through the
// project's infra script (which installs the packages when missing). UNPRUNE_TEST_S3_ENDPOINT (with the
// UNPRUNE_S3_* keys set) points the tests at a running server instead.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = new URL('../../infra/scripts/radosgw.sh', import.meta.url).pathname;

export interface S3Server {
  env: Record<'UNPRUNE_S3_ENDPOINT' | 'UNPRUNE_S3_ACCESS_KEY' | 'UNPRUNE_S3_SECRET_KEY', string>;
  stop(): Promise<void>;
  /** Fault injection: kill the S3 gateway (data stays), and bring it back. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  if (process.env.UNPRUNE_TEST_S3_ENDPOINT) {
    return {
      env: {
        UNPRUNE_S3_ENDPOINT: process.env.UNPRUNE_TEST_S3_ENDPOINT,
        UNPRUNE_S3_ACCESS_KEY: process.env.UNPRUNE_S3_ACCESS_KEY ?? '',
        UNPRUNE_S3_SECRET_KEY: process.env.UNPRUNE_S3_SECRET_KEY ?? '',
      },
      stop: async () => undefined,
      stopGateway: async () => {
        throw new Error('cannot stop an external S3 server');
      },
      startGateway: async () => undefined,
    };
  }
  // Random loopback ports (the monitor and OSD ports follow the gateway's); one more try on a failed start.
  let dir = '';
  let stdout = '';
  for (let attempt = 1; ; attempt++) {
    dir = mkdtempSync(join(tmpdir(), 'unprune-rgw-'));
    const base = 20000 + 300 * Math.floor(Math.random() * 60);
    try {
      ({ stdout } = await run('bash', [SCRIPT, 'start', dir], {
        env: { ...process.env, RADOSGW_PORT: String(base), RADOSGW_MON_PORT: String(base + 1) },
        timeout: 240_000,
      }));
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      console.log(`# radosgw start failed (${(err as Error).message.split('\n')[1] ?? ''}); trying again`);
    }
  }
  const env = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
  ) as S3Server['env'];
  return {
    env,
    stop: async () => void (await run('bash', [SCRIPT, 'stop', dir], { timeout: 60_000 })),
    stopGateway: async () => void (await run('bash', [SCRIPT, 'stop-gateway', dir], { timeout: 60_000 })),
    startGateway: async () => void (await run('bash', [SCRIPT, 'start-gateway', dir], { timeout: 120_000 })),
  };
}
