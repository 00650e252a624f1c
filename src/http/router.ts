import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Tenant } from "../db/tenants";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { isKeyRole, type KeyRole } from "../domain/roles";
import type { AppEnv } from "./app-env";
import {
  ApiError,
  ERROR_STATUS,
  type ErrorBody,
  ErrorBodySchema,
  type ErrorCode,
  errorBody,
  validationError,
} from "./errors";

export type { AppEnv };

/**
 * Every route module is built on this, so every zod failure (params, query,
 * headers, body) becomes the same `validation_failed` envelope.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}

type Registry = OpenAPIHono<AppEnv>["openAPIRegistry"];
type Responses = RouteConfig["responses"];

/**
 * When each error code is answered, as a client developer can act on it. A route says more with
 * `{ code, when }` where its own reasons are narrower (which object is unknown, which state
 * conflicts).
 */
const ERROR_WHEN: Record<ErrorCode, string> = {
  validation_failed:
    "a path, query, header or body value is missing or invalid, or a body is sent without `Content-Type: application/json`. `details.in` says where (`param`, `query`, `header`, `json`) and `details.issues` lists `{ path, message }` for each problem",
  malformed_json: "the body is not valid JSON",
  unauthorized:
    "no `Authorization: Bearer` credential, or one that is unknown, revoked or not this route's kind",
  forbidden: "the key belongs to another tenant, or its role does not cover this route",
  not_found: "the tenant, or an object the path names, does not exist",
  conflict: "the request does not fit the object's current state",
  payload_too_large: "the body is larger than 64 KiB (65 536 bytes)",
  upgrade_required: "the request is not a WebSocket upgrade",
  idempotency_mismatch: "this `Idempotency-Key` was used before with a different body",
  rate_limited:
    "too many requests from this client; wait `Retry-After` seconds (also in `details.retryAfter`)",
  internal:
    "an unexpected failure; the body says only `internal` and the `requestId` to quote to support. Nothing a client sent causes it",
};

/** The request id the examples show, in the form of a Cloudflare Ray ID. */
const EXAMPLE_REQUEST_ID = "8f1a2b3c4d5e6f70-SJC";

/** A representative error body for each code, shown as the response's example. */
const ERROR_EXAMPLE: Record<ErrorCode, { message: string; details?: unknown }> = {
  validation_failed: {
    message: "tenant: must be a tenant slug",
    details: { in: "param", issues: [{ path: "tenant", message: "must be a tenant slug" }] },
  },
  malformed_json: { message: "request body is not valid JSON" },
  unauthorized: { message: "invalid or revoked API key" },
  forbidden: { message: "this key belongs to another tenant" },
  not_found: { message: "unknown tenant" },
  conflict: { message: "cannot move an order from completed to preparing" },
  payload_too_large: { message: "request body is larger than 65536 bytes" },
  upgrade_required: { message: "this path only accepts a WebSocket upgrade" },
  idempotency_mismatch: { message: "this Idempotency-Key was used with a different request body" },
  rate_limited: {
    message: "too many orders from this address; retry in 60 s",
    details: { retryAfter: 60 },
  },
  internal: {
    message: "internal error",
    details: { requestId: EXAMPLE_REQUEST_ID },
  },
};

/**
 * An error code a route answers with, optionally with the route's own words for when, and the
 * message and details its example shows.
 */
export type ErrorEntry =
  | ErrorCode
  | {
      code: ErrorCode;
      when: string;
      message?: string;
      details?: unknown;
      /** Only `validation_failed` of a well-formed request that cannot be done: 422. */
      status?: 422;
    };

interface ErrorResponse {
  description: string;
  headers?: Record<string, { description: string; schema: { type: "integer"; minimum: number } }>;
  content: {
    "application/json": {
      schema: typeof ErrorBodySchema;
      examples: Record<string, { summary: string; value: ErrorBody }>;
    };
  };
}

const RETRY_AFTER_HEADER = {
  "Retry-After": {
    description: "Whole seconds to wait before sending the request again (at least 1).",
    schema: { type: "integer" as const, minimum: 1 },
  },
};

function isErrorResponse(response: Responses[string] | undefined): response is ErrorResponse {
  return (
    response !== undefined && "content" in response && !!response.content?.["application/json"]
  );
}

/**
 * `responses` with each entry's error added under its status: the description gains a line
 * saying when the code is answered and the body an example of it. A code the status already
 * documents is left as it is, so a route's own words win over defaults added later.
 */
export function withErrorResponses(responses: Responses, ...entries: ErrorEntry[]): Responses {
  const out: Responses = { ...responses };
  for (const entry of entries) {
    const {
      code,
      when,
      status: unprocessable,
      ...shown
    } = typeof entry === "string" ? { code: entry, when: ERROR_WHEN[entry] } : entry;
    const example =
      shown.message !== undefined || shown.details !== undefined
        ? { message: shown.message ?? ERROR_EXAMPLE[code].message, details: shown.details }
        : ERROR_EXAMPLE[code];
    const status = unprocessable ?? ERROR_STATUS[code];
    const existing = out[status];
    if (existing && !isErrorResponse(existing)) continue;
    const media = existing?.content["application/json"];
    if (media?.examples[code]) continue;
    const line = `- \`${code}\`: ${when}.`;
    const next: ErrorResponse = {
      description: existing ? `${existing.description}\n${line}` : line,
      ...(status === 429 ? { headers: RETRY_AFTER_HEADER } : {}),
      content: {
        "application/json": {
          schema: ErrorBodySchema,
          examples: {
            ...media?.examples,
            [code]: {
              summary: when,
              value: errorBody(code, example.message, EXAMPLE_REQUEST_ID, example.details),
            },
          },
        },
      },
    };
    out[status] = next;
  }
  return out;
}

/** OpenAPI response entries, in the contract's envelope, for the errors a route can answer with. */
export function errorResponses(...entries: ErrorEntry[]): Record<number, ErrorResponse> {
  return withErrorResponses({}, ...entries) as Record<number, ErrorResponse>;
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

// ---- who may call a route ----

/** A route anyone may call, without credentials. */
export const publicSecurity: RouteConfig["security"] = [];
/** A platform route: the `ADMIN_TOKEN` secret as the bearer token. */
export const adminSecurity: RouteConfig["security"] = [{ adminToken: [] }];
/**
 * A tenant route: a key of the path's tenant whose role covers `role` (owner ⊃ staff ⊃
 * terminal). OpenAPI 3.1 lets a non-OAuth requirement list role names; the one listed is the
 * least the route needs.
 */
export function keySecurity(role: KeyRole): RouteConfig["security"] {
  return [{ bearer: [role] }];
}

const ROLE_TEXT: Record<KeyRole, string> = {
  owner: "role `owner`",
  staff: "role `staff` or `owner`",
  terminal: "any role (`terminal`, `staff` or `owner`)",
};

/** The sentence a route's description ends with, and the errors its credential implies. */
function authOf(
  security: RouteConfig["security"],
): { sentence: string; errors: ErrorEntry[] } | null {
  if (!security) return null;
  if (security.length === 0) {
    return { sentence: "**Auth:** none; send no `Authorization` header.", errors: [] };
  }
  const requirement = security[0] ?? {};
  if ("adminToken" in requirement) {
    return {
      sentence:
        "**Auth:** the platform admin token (secret `ADMIN_TOKEN`) as `Authorization: Bearer <token>`.",
      errors: [{ code: "unauthorized", when: "no bearer token, or not the admin token" }],
    };
  }
  const role = requirement.bearer?.find(isKeyRole);
  if (!role) return null;
  return {
    sentence: `**Auth:** a key of this tenant with ${ROLE_TEXT[role]}, as \`Authorization: Bearer <key>\`.`,
    errors: [
      { code: "unauthorized", when: "no bearer key, or an unknown or revoked one" },
      {
        code: "forbidden",
        when:
          role === "terminal"
            ? "the key belongs to another tenant"
            : `the key belongs to another tenant, or its role is below \`${role}\``,
      },
    ],
  };
}

/** The document's introduction: the conventions every operation below follows. */
export const API_OVERVIEW = [
  "Multi-tenant restaurant ordering: storefronts, staff, terminals and vendors. `{tenant}` in a path is the tenant's slug.",
  "**Conventions.** JSON field names are camelCase. Ids are opaque strings with a prefix naming their kind (`ord_`, `itm_`, `mod_`, …). Times the server writes are ISO 8601 UTC (`2026-05-01T18:30:00.000Z`). Money is `{ amount, currency }`: `amount` in integer minor units (1299 is 12.99 USD), `currency` an ISO 4217 code, always the tenant's; at most 100 000 000 and the tenant's `maxAmount`. Tax rates are basis points (875 is 8.75 %); percent discounts are whole percent.",
  "**Errors.** Every 4xx and 5xx answer is `{ error: { code, message, details?, requestId } }` (schema `Error`); each code always has the same status, listed with each operation. A rejected request writes nothing. Every answer, error or not, carries its request id in the `x-request-id` header; quote it to support.",
  "**Credentials.** `Authorization: Bearer <key>`: a tenant key, whose role (owner ⊃ staff ⊃ terminal) each operation names, or the platform admin token for `/v1/platform`. Storefront routes and webhooks take none.",
  "**Paged lists** take `?limit=` (1–200, default 50) and `?cursor=` and answer `{ items, nextCursor }`; `nextCursor` is null on the last page.",
  "**Bodies** are JSON (`Content-Type: application/json`) of at most 64 KiB. Rate-limited routes answer 429 with `Retry-After` in seconds.",
].join("\n\n");

/**
 * Registers named schemas (`.openapi("Name")`) as components before any route is generated.
 * Otherwise the first copy a route reaches defines the component, and a copy described for one
 * property (`MoneySchema.openapi({ description: "the tip" })`) would lend the shared component
 * that property's description, or its nullability, instead of becoming
 * `allOf: [$ref, { description }]`.
 */
export function registerComponents(registry: Registry, components: Record<string, z.ZodType>) {
  for (const [name, schema] of Object.entries(components)) registry.register(name, schema);
}

/**
 * Documents what every route shares because of the app's middleware rather than its own code,
 * so a route module cannot forget it: the security schemes; the sentence ending each
 * description that says which credential the route needs (from its `security`); and the error
 * responses its credential, inputs and method imply (401/403; 400 from the validation hook and
 * the JSON-only body rule; 404 for an unknown tenant; 413 from the body limit on every method
 * but GET; 500 everywhere). Run once, after every route module is mounted.
 */
export function documentConventions(registry: Registry): void {
  registry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description:
      "A tenant API key (`olk_…`), created with the tenant or by `POST /v1/admin/{tenant}/keys`. Each key has one role, owner ⊃ staff ⊃ terminal; an operation's requirement names the least role it needs. A key of one tenant is refused (403) under every other tenant.",
  });
  registry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The platform admin token (secret `ADMIN_TOKEN`), for `/v1/platform/*` only.",
  });
  for (const def of registry.definitions) {
    if (def.type !== "route") continue;
    const route = def.route;
    const auth = authOf(route.security);
    if (auth && route.description && !route.description.includes("**Auth:**")) {
      route.description = `${route.description}\n\n${auth.sentence}`;
    }
    const request = route.request;
    const api = route.path.startsWith("/v1/");
    // The JSON body validator and the JSON-only rule run on /v1 routes; webhooks read raw bodies.
    const hasJsonBody = api && !!request?.body?.content["application/json"];
    const writes = !["get", "head"].includes(route.method);
    const implied: ErrorEntry[] = [
      ...(request?.params || request?.query || request?.headers || request?.body || (writes && api)
        ? (["validation_failed"] as const)
        : []),
      ...(hasJsonBody ? (["malformed_json"] as const) : []),
      ...(auth?.errors ?? []),
      ...(route.path.includes("{tenant}") ? (["not_found"] as const) : []),
      ...(writes ? (["payload_too_large"] as const) : []),
      "internal",
    ];
    route.responses = withErrorResponses(route.responses, ...implied);
  }
}

export const TenantParam = z.object({
  tenant: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "must be a tenant slug")
    .openapi({
      param: { name: "tenant", in: "path" },
      example: "demo-bistro",
      description:
        "The tenant's slug: 1–64 lower-case letters, digits and inner hyphens, as chosen at `POST /v1/platform/tenants`.",
    }),
});

/**
 * `{tenant}` and `{id}`: the path of one object of the tenant. `what` names the object's kind
 * and id prefix for the document.
 */
export function IdParam(what: string) {
  return TenantParam.extend({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, description: what }),
  });
}

/** The 404 of a route whose only path object is the tenant. */
export const NO_TENANT = { code: "not_found", when: "no tenant has this slug" } as const;

export const MoneySchema = z
  .object({
    amount: z
      .number()
      .int()
      .nonnegative()
      .max(PLATFORM_MAX_AMOUNT)
      .describe(
        "Integer minor units of `currency` (cents for USD: 1299 is 12.99), 0 to 100 000 000; a tenant's own `maxAmount` may be lower.",
      ),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .describe(
        "ISO 4217 code, upper case (`USD`); in a request it must be the tenant's currency.",
      ),
  })
  .strict()
  .openapi("Money", {
    description: "An amount of money: integer minor units plus its ISO 4217 currency.",
  });

/**
 * Refuses an amount over the tenant's own ceiling (`maxAmount`, at most the
 * platform's) as a field error naming `path`.
 */
export function requireWithinLimit(
  tenant: Pick<Tenant, "maxAmount">,
  amount: number,
  path: string,
): number {
  if (amount > tenant.maxAmount) {
    const message = `must be at most ${tenant.maxAmount} (this store's limit, minor units)`;
    throw new ApiError("validation_failed", `${path}: ${message}`, {
      issues: [{ path, message }],
    });
  }
  return amount;
}

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .describe("How many items one page holds: 1–200, 50 when absent."),
  cursor: z
    .string()
    .max(200)
    .optional()
    .describe("The `nextCursor` of the previous page; absent for the first page."),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item).describe("This page's items, newest first."),
    nextCursor: z
      .string()
      .nullable()
      .describe("Pass as `?cursor=` to read the next page; null on the last page."),
  });
}
