// Tools the tests use from Debian, installed on first use (CI machines start bare; apt reaches Debian's mirror).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function ensureDebianTool(path: string, pkg: string): string {
  if (!existsSync(path)) {
    const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
    execFileSync(
      sudo[0] ?? 'apt-get',
      // Waits for another install's dpkg lock rather than failing on it.
      [
        ...sudo.slice(1),
        ...(sudo.length ? ['apt-get'] : []),
        '-o',
        'DPkg::Lock::Timeout=600',
        'install',
        '-y',
        '-q',
        pkg,
      ],
      {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 600_000,
      },
    );
  }
  return path;
}
