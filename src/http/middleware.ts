import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorBody, redactPath } from "./errors";
import type { AppEnv } from "./router";

export const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json(?:\s*;.*)?$/i;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) =>
    c.json(
      errorBody("payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`),
      413,
    ),
});

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
    JSON.stringify({
      level: status >= 500 ? "error" : "info",
      msg: "request",
      method: c.req.method,
      path: redactPath(c.req.path),
      status,
      ms: Date.now() - started,
    }),
  );
};
