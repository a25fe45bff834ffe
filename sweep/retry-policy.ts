// How a failed stage is retried, declared once for both engines: the local engine waits between attempts itself;
// the Temporal workflow hands the same numbers to the server as the activities' retry policy. Permanent errors
// (ml/errors.ts) are never retried.
export const STAGE_RETRY = {
  /** Extra attempts after the first failure. */
  retries: 4,
  initialSeconds: 1,
  backoff: 2,
  maxSeconds: 30,
} as const;

/** Seconds to wait before retry `attempt` (0-based): initial × backoff^attempt, capped. */
export function retryDelaySeconds(attempt: number, initialSeconds: number = STAGE_RETRY.initialSeconds): number {
  return Math.min(STAGE_RETRY.maxSeconds, initialSeconds * STAGE_RETRY.backoff ** attempt);
}
