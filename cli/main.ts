// The unprune command line. Commands grow with the issues: today `backends` reports the compute backends.
import { Command, Option } from 'commander';
import { availableBackends, BACKEND_CHOICES, BackendUnavailableError, initBackend } from '../ml/backend.js';

const program = new Command();
program
  .name('unprune')
  .description('Machine-unlearning experiments on sparse (pruned) neural networks')
  .addOption(
    new Option('--backend <name>', 'compute backend (default: UNPRUNE_BACKEND, else auto)').choices([
      ...BACKEND_CHOICES,
    ]),
  )
  .showHelpAfterError()
  // Bad input exits with status 2 (help and --version exit 0).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('backends')
  .description('list the compute backends installed here and the one that would be used')
  .action(async () => {
    const available = await availableBackends();
    const chosen = await initBackend(program.opts<{ backend?: string }>().backend);
    console.log(`installed: ${available.join(', ')}`);
    console.log(`selected:  ${chosen.name}`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // One line, never a stack trace (the wasm module would otherwise print its whole source on a re-thrown error).
  console.error(`unprune: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.UNPRUNE_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(err instanceof BackendUnavailableError ? 2 : 1);
}
