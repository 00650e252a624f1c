import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { clipMessage } from "../domain/input-text";
import { logLine } from "../log";
import type { AppEnv } from "./app-env";

/** The contract's error codes and the status each one is answered with. */
export const ERROR_STATUS = {
  validation_failed: 400,
  malformed_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  upgrade_required: 426,
  idempotency_mismatch: 422,
  rate_limited: 429,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every error a handler means to answer with; `onError` turns it into the envelope. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Only for `validation_failed` of a well-formed request that cannot be done (422). */
    readonly unprocessable = false,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /**
   * A well-formed request this tenant cannot take (a draft its POS cannot accept, credentials
   * its POS refuses): `validation_failed` answered 422, as CONTRACT.md says for those.
   */
  static unprocessable(message: string, details?: unknown): ApiError {
    return new ApiError("validation_failed", message, details, true);
  }

  get status(): ContentfulStatusCode {
    return this.unprocessable ? 422 : ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown; requestId: string };
}

export const ErrorBodySchema = z
  .object({
    error: z
      .object({
        code: z
          .enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]])
          .describe(
            "What went wrong, one of a fixed set, each with its status: `validation_failed` 400 (422 for a well-formed draft the tenant's POS cannot accept, as CONTRACT.md says), `malformed_json` 400, `unauthorized` 401, `forbidden` 403, `not_found` 404, `conflict` 409, `payload_too_large` 413, `idempotency_mismatch` 422, `upgrade_required` 426 (the terminal socket only), `rate_limited` 429, `internal` 500.",
          ),
        message: z
          .string()
          .describe(
            "A sentence for the developer, in English; it may name the field at fault. Do not parse it: branch on `code` and `details`.",
          ),
        details: z
          .unknown()
          .optional()
          .describe(
            "More about the error when there is more: `{ in, issues: [{ path, message }] }` for validation, `{ reason, … }` for a named refusal, `{ retryAfter }` (seconds) when rate limited, `{ requestId }` (the same as `requestId`, kept for older clients) for an unexpected `internal`.",
          ),
        requestId: z
          .string()
          .describe(
            "This request's id, also sent as the `x-request-id` response header of every answer: Cloudflare's Ray ID (the `cf-ray` request header) when there is one, otherwise a random UUID. Quote it to support; every log line written while the request was handled carries it.",
          ),
      })
      .describe("The error."),
  })
  .openapi("Error", {
    description: "The body of every 4xx and 5xx answer. A rejected request has written nothing.",
  });

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: unknown,
): ErrorBody {
  return details === undefined
    ? { error: { code, message, requestId } }
    : { error: { code, message, details, requestId } };
}

/** The envelope for `code`, with this request's id, under the code's status. */
export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: unknown,
): Response {
  return c.json(errorBody(code, message, c.var.requestId, details), ERROR_STATUS[code]);
}

/** Turns a zod failure into the one `validation_failed` shape every 400 uses. */
export function validationError(error: z.ZodError, where: string): ApiError {
  // Quoted input is clipped (an unknown key can be any length), and the list kept short.
  const issues = error.issues.slice(0, 20).map((issue) => ({
    path: clipMessage(formatPath(issue.path)),
    message: clipMessage(issue.message),
  }));
  const first = issues[0];
  const message = first
    ? `${first.path ? `${first.path}: ` : ""}${first.message}`
    : `invalid ${where}`;
  return new ApiError("validation_failed", message, { in: where, issues });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/**
 * The single error handler: known errors become their envelope, anything else
 * is logged (with the request id, as every line is) and answered `internal` without detail.
 */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) {
    const body = errorBody(err.code, err.message, c.var.requestId, err.details);
    return c.json(body, err.status);
  }
  if (err instanceof HTTPException) {
    // Hono's JSON validator throws this for a body that does not parse.
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return errorResponse(c, "malformed_json", "request body is not valid JSON");
    }
    if (err.status === 413) return errorResponse(c, "payload_too_large", err.message);
    // @hono/zod-openapi's media-type gate: a body without a JSON Content-Type.
    if (err.status === 415) {
      return errorResponse(c, "validation_failed", "Content-Type must be application/json");
    }
    if (err.status < 500) {
      // A status with no code of its own is answered as validation_failed's 400: code and
      // status always agree.
      return errorResponse(c, codeForStatus(err.status), err.message);
    }
  }
  console.error(
    logLine({
      level: "error",
      msg: "unhandled error",
      method: c.req.method,
      path: redactPath(c.req.path),
      error: redact(err.message),
      stack: err.stack ? redact(err.stack) : undefined,
    }),
  );
  // `details.requestId` repeats `requestId` for clients written when only 500s carried one.
  return errorResponse(c, "internal", "internal error", { requestId: c.var.requestId });
}

function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(
    ([, s]) => s === status,
  );
  return found ? found[0] : "validation_failed";
}

/**
 * drizzle puts a failed query's bound parameters into its message; they can
 * hold customer details or key hashes, so they are cut before logging.
 */
export function redact(text: string): string {
  return text.replace(/params:[^\n]*/gi, "params: [redacted]");
}

/**
 * A request path as log lines may show it: gift-card codes and phone numbers
 * (loyalty accounts are keyed by phone) are personal data and are replaced,
 * as is any other run of seven or more digits, which is how a phone number
 * reaches a path elsewhere.
 */
export function redactPath(path: string): string {
  return path
    .replace(/(\/gift-cards\/)[^/]+/gi, "$1[redacted]")
    .replace(/(\/loyalty\/)[^/]+/gi, "$1[redacted]")
    .replace(/(?:\+|%2B)?\d(?:[\d\s().-]|%20){6,}\d/gi, "[redacted]");
}
