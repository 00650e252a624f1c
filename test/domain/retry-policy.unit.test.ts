import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, decideRetry } from "../../src/domain/retry-policy";

describe("decideRetry", () => {
  it("grows exponentially with equal jitter and a 5 minute cap", () => {
    const low = [1, 2, 3, 4, 5].map((attempt) =>
      decideRetry({ attempt, kind: "retryable", random: 0 }),
    );
    const high = [1, 2, 3, 4, 5].map((attempt) =>
      decideRetry({ attempt, kind: "retryable", random: 0.999999 }),
    );
    expect(low).toEqual([3, 5, 10, 20, 40].map((d) => ({ action: "retry", delaySeconds: d })));
    expect(high).toEqual([5, 10, 20, 40, 80].map((d) => ({ action: "retry", delaySeconds: d })));
    const late = decideRetry({
      attempt: 12,
      kind: "retryable",
      random: 1,
      policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 20 },
    });
    expect(late).toEqual({ action: "retry", delaySeconds: 300 });
  });

  it("retries the first failure within 10 seconds whatever the jitter", () => {
    for (let i = 0; i <= 100; i++) {
      const decision = decideRetry({ attempt: 1, kind: "retryable", random: i / 100 });
      expect(decision.action).toBe("retry");
      if (decision.action === "retry") {
        expect(decision.delaySeconds).toBeGreaterThanOrEqual(1);
        expect(decision.delaySeconds).toBeLessThanOrEqual(10);
      }
    }
  });

  it("gives up after the last attempt, and at once on a permanent failure", () => {
    expect(decideRetry({ attempt: 6, kind: "retryable", random: 0.5 })).toEqual({
      action: "give_up",
      reason: "attempts_exhausted",
    });
    expect(decideRetry({ attempt: 5, kind: "retryable", random: 0.5 }).action).toBe("retry");
    expect(decideRetry({ attempt: 1, kind: "permanent", random: 0.5 })).toEqual({
      action: "give_up",
      reason: "permanent",
    });
    const custom = { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 };
    expect(decideRetry({ attempt: 2, kind: "retryable", random: 0, policy: custom }).action).toBe(
      "give_up",
    );
  });

  it("honours a longer Retry-After, up to an hour, and ignores a shorter one", () => {
    expect(
      decideRetry({ attempt: 1, kind: "retryable", random: 0, retryAfterSeconds: 30 }),
    ).toEqual({
      action: "retry",
      delaySeconds: 30,
    });
    expect(decideRetry({ attempt: 4, kind: "retryable", random: 0, retryAfterSeconds: 2 })).toEqual(
      {
        action: "retry",
        delaySeconds: 20,
      },
    );
    expect(
      decideRetry({ attempt: 1, kind: "retryable", random: 0, retryAfterSeconds: 86_400 }),
    ).toEqual({
      action: "retry",
      delaySeconds: 3600,
    });
  });
});
