// The benchmarks' command lines: Node's parseArgs, plus `--help` (prints the script's header comment, which says
// what it measures and lists its options) and a wrong option reported with that text and exit status 2, instead of
// parseArgs's stack trace.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The comment lines a script opens with, without their `//`. */
function headerOf(scriptUrl: string): string {
  const lines: string[] = [];
  for (const line of readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

/** parseArgs(config) for the script at `scriptUrl` (its import.meta.url). */
export function benchArgs<T extends ParseArgsConfig>(scriptUrl: string, config: T): ReturnType<typeof parseArgs<T>> {
  const argv = config.args ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(headerOf(scriptUrl));
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS')) throw err;
    console.error(`${e.message}\n\n${headerOf(scriptUrl)}`);
    process.exit(2);
  }
}
