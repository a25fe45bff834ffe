// Runs the unprune command as a user would (bin/unprune.js), capturing status, stdout and stderr.
import { spawn, spawnSync } from 'node:child_process';

export const BIN = new URL('../../bin/unprune.js', import.meta.url).pathname;

export function unprune(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function unpruneAsync(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}
