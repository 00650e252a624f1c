import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { contextStorage } from "hono/context-storage";
import { logLine } from "../log";
import { ApiError, errorResponse, redactPath } from "./errors";
import type { AppEnv } from "./router";

export const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json(?:\s*;.*)?$/i;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) =>
    errorResponse(c, "payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`),
});

/** The response header every answer carries its request id in. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A Ray ID as Cloudflare writes it (`8f1a2b3c4d5e6f70-SJC`), bounded: the header only comes from
 * Cloudflare in production, but `wrangler dev` passes a client's own through.
 */
const RAY_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The id a request is known by: Cloudflare's Ray ID, which its dashboard and logs already use
 * (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-ray), or a fresh
 * UUID where there is none (local runs, the Worker tests).
 */
export function requestIdFor(headers: Headers): string {
  const ray = headers.get("cf-ray")?.trim();
  return ray && RAY_ID.test(ray) ? ray : crypto.randomUUID();
}

const storeContext = contextStorage();

/**
 * Mounted first: gives the request its id, on the context (`c.var.requestId`, which error
 * bodies carry), in the async context that `logLine` reads for the length of the request, and
 * on the response as `x-request-id`. The header is set after the rest has run because a
 * response a handler or middleware builds itself (a preflight, a socket upgrade) replaces any
 * header set before.
 */
export const assignRequestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const requestId = requestIdFor(c.req.raw.headers);
  c.set("requestId", requestId);
  await storeContext(c, next);
  c.header(REQUEST_ID_HEADER, requestId);
};

/**
 * Bodies over 64 KiB are `payload_too_large` before anything reads them.
 * GET and HEAD are let through: no handler reads their body, and a
 * Transfer-Encoding header gives them a body stream that hono's bodyLimit
 * would put back into a new GET Request, which throws.
 */
export const limitBody: MiddlewareHandler<AppEnv> = (c, next) =>
  c.req.method === "GET" || c.req.method === "HEAD" ? next() : limit(c, next);

/** API bodies are JSON only; anything else is refused before a validator sees it. */
export const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header("content-type");
  const hasBody =
    c.req.header("content-length") !== "0" && (type || c.req.header("transfer-encoding"));
  if (hasBody && ["POST", "PUT", "PATCH"].includes(c.req.method) && !JSON_TYPE.test(type ?? "")) {
    throw new ApiError("validation_failed", "Content-Type must be application/json");
  }
  await next();
};

/**
 * One log line per request, with the path redacted (`redactPath`): the
 * platform's own invocation logs, which would keep the raw URL, are off in
 * wrangler.toml. `ACCESS_LOG` is `all` (default), `errors` (4xx and 5xx only)
 * or `off`.
 */
export const logRequest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const mode: string = c.env.ACCESS_LOG ?? "all";
  if (mode === "off") return next();
  const started = Date.now();
  await next();
  const status = c.res.status;
  if (mode === "errors" && status < 400) return;
  console.log(
    logLine({
      level: status >= 500 ? "error" : "info",
      msg: "request",
      method: c.req.method,
      path: redactPath(c.req.path),
      status,
      ms: Date.now() - started,
    }),
  );
};
