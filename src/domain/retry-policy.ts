/**
 * When to try a POS submission again. Pure: the caller passes the attempt
 * number, the failure and a random number in [0, 1).
 *
 * Delays grow exponentially from `baseDelaySeconds` (5 s, 10 s, 20 s, …)
 * with "equal jitter" (half the delay fixed, half random), so the first
 * retry comes within 10 s and synchronised failures spread out; they are
 * capped at `maxDelaySeconds` (5 min). A vendor's Retry-After wins when it
 * asks for longer, up to `maxRetryAfterSeconds`.
 */

export interface RetryPolicy {
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  maxRetryAfterSeconds: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelaySeconds: 5,
  maxDelaySeconds: 300,
  maxRetryAfterSeconds: 3600,
  maxAttempts: 6,
};

export type FailureKind = "retryable" | "permanent";

export type RetryDecision =
  | { action: "retry"; delaySeconds: number }
  | { action: "give_up"; reason: "permanent" | "attempts_exhausted" };

/**
 * Decides what follows failed attempt number `attempt` (1 for the first).
 */
export function decideRetry(input: {
  attempt: number;
  kind: FailureKind;
  retryAfterSeconds?: number | undefined;
  random: number;
  policy?: RetryPolicy;
}): RetryDecision {
  const policy = input.policy ?? DEFAULT_RETRY_POLICY;
  if (input.kind === "permanent") return { action: "give_up", reason: "permanent" };
  if (input.attempt >= policy.maxAttempts)
    return { action: "give_up", reason: "attempts_exhausted" };
  const exponential = Math.min(
    policy.maxDelaySeconds,
    policy.baseDelaySeconds * 2 ** Math.max(0, input.attempt - 1),
  );
  const random = Math.min(Math.max(input.random, 0), 1);
  let delay = Math.ceil(exponential / 2 + (exponential / 2) * random);
  if (input.retryAfterSeconds !== undefined && input.retryAfterSeconds > delay) {
    delay = Math.min(Math.ceil(input.retryAfterSeconds), policy.maxRetryAfterSeconds);
  }
  return { action: "retry", delaySeconds: Math.max(1, delay) };
}
