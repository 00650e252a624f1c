import { z } from "zod";
import { PosError } from "./types";

/**
 * One vendor HTTP call, bounded by `timeoutMs`, with the answer classified
 * the same way for every vendor: 2xx is returned; network failure, timeout,
 * 5xx and 429 are `retryable` (429 and 503 with their Retry-After); 401 and
 * 403 are `auth`; any other 4xx is `permanent`. The vendor's error text is
 * kept (cut short) for the sync history, never the request's credentials.
 */
export async function vendorFetch(
  url: string,
  init: RequestInit,
  options: { timeoutMs: number; fetch?: typeof fetch; now?: () => Date },
): Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      throw new PosError("retryable", "timeout", `no answer within ${options.timeoutMs} ms`);
    }
    throw new PosError(
      "retryable",
      "network_error",
      `could not reach the POS: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (response.ok) return response;
  const vendorMessage = (await response.text().catch(() => "")).slice(0, 500);
  const status = response.status;
  if (status === 429 || status >= 500) {
    const retryAfterSeconds = parseRetryAfter(
      response.headers.get("retry-after"),
      options.now?.() ?? new Date(),
    );
    throw new PosError(
      "retryable",
      status === 429 ? "rate_limited" : "server_error",
      `POS answered ${status}`,
      {
        status,
        vendorMessage,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      },
    );
  }
  if (status === 401 || status === 403) {
    throw new PosError(
      "auth",
      status === 401 ? "unauthorized" : "forbidden",
      `POS answered ${status}`,
      {
        status,
        vendorMessage,
      },
    );
  }
  throw new PosError(
    "permanent",
    status === 422 ? "unprocessable" : "rejected",
    `POS answered ${status}`,
    {
      status,
      vendorMessage,
    },
  );
}

/** Retry-After as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** Parses a JSON body or fails as a retryable bad answer (a proxy page, a cut stream). */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PosError("retryable", "bad_response", "POS answered with a body that is not JSON", {
      status: response.status,
      vendorMessage: text.slice(0, 200),
    });
  }
}

/**
 * Checks a 2xx answer against the vendor's documented shape. What a mismatch
 * means depends on the call: after a lookup a retry reads afresh
 * (`retryable`); an idempotent replay would return the same body (`permanent`).
 */
export function parseVendorAnswer<T>(
  schema: z.ZodType<T>,
  data: unknown,
  context: { vendor: string; what: string; kind: "retryable" | "permanent" },
): T {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new PosError(
      context.kind,
      "bad_response",
      `${context.vendor} answered an unexpected ${context.what}`,
      {
        vendorMessage: z.prettifyError(result.error).slice(0, 500),
      },
    );
  }
  return result.data;
}

/**
 * A verified webhook body read against the vendor's documented shape; one
 * that is not JSON or not that shape is a permanent `invalid_webhook`.
 */
export function parseWebhookBody<T>(schema: z.ZodType<T>, rawBody: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(rawBody) as unknown;
  } catch {
    json = undefined;
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new PosError("permanent", "invalid_webhook", `not ${what}`, {
      vendorMessage: z.prettifyError(result.error).slice(0, 500),
    });
  }
  return result.data;
}

/** How long and how often `withRateLimitRetries` waits out a 429. */
export interface RateLimitRetries {
  /** Waits before the 429 is thrown (default 3). */
  maxWaits?: number;
  /** The longest Retry-After worth waiting for here (default 10 s); a longer one is thrown at once. */
  maxWaitSeconds?: number;
  /** Without a Retry-After (default 1 s). */
  defaultWaitSeconds?: number;
  /** Tests only. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `call`, and when it fails with a 429 waits the vendor's Retry-After and calls again, at
 * most `maxWaits` times; then the last `retryable` `rate_limited` error is thrown. A Retry-After
 * longer than `maxWaitSeconds` is not waited here: calling again any sooner would only meet
 * another 429, so the error (with its `retryAfterSeconds`) goes to the caller's own backoff.
 * Every other failure is thrown as it came.
 */
export async function withRateLimitRetries<T>(
  call: () => Promise<T>,
  limits: RateLimitRetries = {},
): Promise<T> {
  const maxWaits = limits.maxWaits ?? 3;
  const maxWaitSeconds = limits.maxWaitSeconds ?? 10;
  const sleep = limits.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let waits = 0; ; waits++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof PosError) || err.details.status !== 429 || waits >= maxWaits) throw err;
      const seconds = err.details.retryAfterSeconds ?? limits.defaultWaitSeconds ?? 1;
      if (seconds > maxWaitSeconds) throw err;
      await sleep(seconds * 1000);
    }
  }
}
