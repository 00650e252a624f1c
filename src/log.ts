import { tryGetContext } from "hono/context-storage";

/** What the request id middleware (`assignRequestId`) puts on the context this module reads. */
interface RequestScope {
  Variables: { requestId?: string };
}

/** The fields of one JSON log line: a level and a message, then whatever says more. */
export type LogFields = { level: "info" | "warn" | "error"; msg: string } & Record<string, unknown>;

/**
 * The id of the request being handled, or undefined outside one (a queue batch, the cron pass, a
 * Durable Object). Read from the Hono context that `hono/context-storage` keeps in an
 * AsyncLocalStorage for the length of the request, so code several calls below a handler,
 * including work it hands to `waitUntil`, finds it without being passed it
 * (https://developers.cloudflare.com/workers/runtime-apis/nodejs/asynclocalstorage/).
 */
export function currentRequestId(): string | undefined {
  return tryGetContext<RequestScope>()?.var.requestId;
}

/**
 * One JSON log line, with `requestId` when it is written while a request is handled: every
 * `console.*` line goes through this, so a request's lines can be found by the id its response
 * carries.
 */
export function logLine(fields: LogFields): string {
  const requestId = currentRequestId();
  return JSON.stringify(requestId === undefined ? fields : { ...fields, requestId });
}
