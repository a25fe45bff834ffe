// The error taxonomy, declared once: an error is permanent (it fails the same way on every attempt — bad
// configuration, missing data, a diverging run) or retryable (everything else: a store hiccup, a lost input, a
// killed process). Permanence is declared on the error class (`readonly permanent = true`, inherited from
// PermanentError, or declared directly by classes in rooms that cannot import ml/) and read by one function,
// `isPermanent`, in both engines. Across a process boundary the flag travels beside the name and message.
import { BACKEND_CHOICES, type ConcreteBackend } from './catalog.js';

export class PermanentError extends Error {
  readonly permanent = true;
}

/** A setting out of its range (a sparsity of 1, zero IMP rounds, a subset larger than the data set). */
export class InvalidConfigError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidConfigError';
  }
}

/** A compute backend that cannot be loaded here (a bad --backend or UNPRUNE_BACKEND): the message lists the choices. */
export class BackendUnavailableError extends PermanentError {
  constructor(
    readonly requested: string,
    readonly available: ConcreteBackend[],
    reason: string,
  ) {
    super(
      `backend "${requested}" is not available (${reason}); installed: ${available.join(', ')}. ` +
        `Choose one of ${BACKEND_CHOICES.join(', ')} with --backend or UNPRUNE_BACKEND.`,
    );
    this.name = 'BackendUnavailableError';
  }
}

/** True when retrying cannot help: the error (or a deserialised copy of it) is marked permanent. */
export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/** An error's message followed by its causes' (`a: b: c`), for the one place an error is finally shown. */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (!parts.some((p) => p.includes(message))) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}
