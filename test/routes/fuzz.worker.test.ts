import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  type MenuItemBody,
  type TestTenant,
} from "../helpers";
import { snapshotTables } from "../snapshot";

/*
 * Property-based boundary test over every JSON route (issue 9, "Boundaries
 * that hold"). The operations come from the live OpenAPI document, so a new
 * route is fuzzed without editing this file; the two webhook routes, whose
 * bodies must be signed, are fuzzed on their own below.
 *
 * For every case: the status is below 500; a 4xx is the contract's error
 * envelope (CONTRACT.md, "Conventions") with one of its codes at that code's
 * status; and a rejected request leaves every D1 table as it was.
 *
 * Runs are reproducible: each operation's property runs from a seed derived
 * from FUZZ_SEED and the operation's name (printed when the file starts).
 * fast-check prints the seed, the path and the shrunk case of a failure;
 * pass `{ seed, path }` from that message to `fc.assert` to replay it.
 */

const FUZZ_SEED = 20_261_117;
/** Cases per OpenAPI operation; the webhook routes get WEBHOOK_RUNS each. */
const RUNS_PER_OPERATION = 60;
const WEBHOOK_RUNS = 150;

/** The contract's error codes and the statuses each may come with. */
const CONTRACT_CODES: Record<string, readonly number[]> = {
  validation_failed: [400, 422], // 422 when the tenant's POS cannot take a draft
  malformed_json: [400],
  unauthorized: [401],
  forbidden: [403],
  not_found: [404],
  conflict: [409],
  idempotency_mismatch: [422],
  payload_too_large: [413],
  rate_limited: [429],
  internal: [500],
};

// ------------------------------------------------------------------ the routes

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  example?: unknown;
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  security?: unknown[];
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

type Role = "owner" | "staff" | "terminal";
/** What a route needs to let a request through to its validators. */
type Auth = "admin" | "public" | Role;

interface Operation {
  /** `METHOD /path/{param}`, as the document spells it. */
  name: string;
  group: string;
  method: string;
  path: string;
  pathParams: string[];
  query: OpenApiParameter[];
  headers: OpenApiParameter[];
  bodySchema: JsonSchema | null;
  auth: Auth;
}

// Read at load time so every operation is its own test; the document needs no data.
const openApi = (await (
  await exports.default.fetch(new Request("http://orderlane.test/openapi.json"))
).json()) as OpenApiDocument;

const OPERATIONS: Operation[] = Object.entries(openApi.paths)
  .filter(([path]) => path.startsWith("/v1/"))
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): Operation => {
      const params = op.parameters ?? [];
      return {
        name: `${method.toUpperCase()} ${path}`,
        group: path.split("/")[2] ?? "v1",
        method: method.toUpperCase(),
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ""),
        query: params.filter((p) => p.in === "query"),
        headers: params.filter((p) => p.in === "header"),
        bodySchema: op.requestBody?.content?.["application/json"]?.schema ?? null,
        // Refined by probing in beforeAll: the role is asked of the Worker, not of the document.
        auth: path.startsWith("/v1/platform/")
          ? "admin"
          : op.security?.length
            ? "terminal"
            : "public",
      };
    }),
  );
const GROUPS = [...new Set(OPERATIONS.map((op) => op.group))];

function resolveRef(schema: JsonSchema): JsonSchema {
  let s = schema;
  for (let hops = 0; s.$ref && hops < 20; hops += 1) {
    const name = s.$ref.replace("#/components/schemas/", "");
    s = openApi.components?.schemas?.[name] ?? {};
  }
  return s;
}

/**
 * A value the schema accepts, for routes this file has no hand-written body
 * for (a route added later): enough shape for the mutations to start from.
 */
function synthesize(schema: JsonSchema, depth = 0): unknown {
  const s = resolveRef(schema);
  if (depth > 8) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum && s.enum.length > 0) return s.enum[0];
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const first = alternatives.find((a) => resolveRef(a).type !== "null") ?? alternatives[0];
    return first ? synthesize(first, depth + 1) : null;
  }
  if (s.allOf) {
    return Object.assign({}, ...s.allOf.map((part) => synthesize(part, depth + 1)));
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(s.properties ?? {})) {
        out[key] = synthesize(prop, depth + 1);
      }
      return out;
    }
    case "array":
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () =>
        synthesize(s.items ?? {}, depth + 1),
      );
    case "integer":
    case "number": {
      const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return Math.min(low, s.maximum ?? low);
    }
    case "boolean":
      return false;
    case "string": {
      if (s.format === "email") return "fuzz@example.com";
      if (s.format === "date-time") return "2030-01-01T12:00:00Z";
      if (s.format === "uri" || s.format === "url") return `${env.POS_DOUBLE_URL}/fuzz`;
      const candidates = ["fuzz", "USD", "ABC", "fuzz-1", "12345", "+15550100", "a".repeat(16)];
      const pattern = s.pattern ? new RegExp(s.pattern) : null;
      const fits = (v: string) =>
        (!pattern || pattern.test(v)) &&
        v.length >= (s.minLength ?? 0) &&
        v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY);
      return candidates.find(fits) ?? "x".repeat(Math.max(1, s.minLength ?? 1));
    }
    default:
      return {};
  }
}

// ------------------------------------------------------------------ fixtures

interface Fixtures {
  tenant: TestTenant;
  other: TestTenant;
  /** What the platform routes act on: they may change its limits or delete it. */
  platformTenant: TestTenant;
  keys: Record<Role, string>;
  revokedKey: string;
  /** Ordered from, never changed by the fuzzer. */
  item: MenuItemBody;
  /** What PATCH and availability routes act on. */
  patchItem: MenuItemBody;
  /** What DELETE acts on. */
  deleteItem: MenuItemBody;
  discountCode: string;
  order: { id: string; accessToken: string };
  otherOrderId: string;
  /** A staff key whose id DELETE /keys/{id} may revoke. */
  sacrificialKeyId: string;
  giftCardCode: string;
  phone: string;
  alertId: string;
  /** One tenant per POS provider, connected with a webhook secret. */
  webhookTenants: Record<string, TestTenant>;
}

let F: Fixtures;
/** Every D1 table, as test/snapshot.ts lists them. */
let TABLES: string[] = [];
/** Bodies known to pass validation, by operation name; other routes get a synthesized one. */
let BASE_BODIES: Record<string, unknown[]> = {};

const POS_PROVIDERS = ["toast", "clover", "square", "webhook", "sandbox"] as const;

function connectBody(provider: (typeof POS_PROVIDERS)[number]): Record<string, unknown> {
  const settings = {
    // Off: a connection made here must never start a POS submission in the background.
    autoSync: false,
    syncCustomerInfo: true,
    failurePolicy: "hold",
    captureMode: "immediate",
    maxAttempts: 3,
  };
  const credentials: Record<string, Record<string, string>> = {
    toast: { clientId: "toast-client", clientSecret: "toast-client-secret" },
    clover: { accessToken: "clover-access" },
    square: { accessToken: "sq-access", refreshToken: "sq-refresh", clientId: "sq-app" },
    webhook: { url: `${env.POS_DOUBLE_URL}/webhook/orders`, secret: "outgoing-secret-0123456789" },
    sandbox: { latencyMs: "0" },
  };
  return {
    provider,
    // Square's double knows only its sellers' locations (the connect check asks it).
    locationId: provider === "square" ? "L_TEST_LOCATION" : `fuzz-${provider}-location`,
    credentials: credentials[provider],
    webhookSecret: `${provider}-webhook-secret-0123`,
    settings,
  };
}

async function setUp(): Promise<void> {
  const tenant = await createTenant();
  const other = await createTenant();
  const platformTenant = await createTenant();
  const keys: Record<Role, string> = {
    owner: tenant.ownerKey,
    staff: await createKey(tenant, "staff"),
    terminal: await createKey(tenant, "terminal"),
  };
  const revoked = await callJson<{ key: string; apiKey: { id: string } }>(
    `/v1/admin/${tenant.slug}/keys`,
    { token: tenant.ownerKey, body: { role: "staff", label: "revoked" } },
    201,
  );
  await callJson(
    `/v1/admin/${tenant.slug}/keys/${revoked.apiKey.id}`,
    { method: "DELETE", token: tenant.ownerKey },
    204,
  );
  const sacrificial = await callJson<{ apiKey: { id: string } }>(
    `/v1/admin/${tenant.slug}/keys`,
    { token: tenant.ownerKey, body: { role: "staff", label: "sacrificial" } },
    201,
  );
  const modifiers = [
    { name: "Cheese", price: 100 },
    { name: "Bacon", price: 250 },
  ];
  const item = await createMenuItem(tenant, { name: "Burger", price: 1299, modifiers });
  const patchItem = await createMenuItem(tenant, { name: "Fries", price: 499, modifiers });
  const deleteItem = await createMenuItem(tenant, { name: "Soup", price: 699 });
  const discountCode = "FUZZ10";
  await callJson(
    `/v1/admin/${tenant.slug}/discounts`,
    { token: tenant.ownerKey, body: { code: discountCode, kind: "percent", value: 10 } },
    201,
  );
  const draft = orderDraft(item, "pickup");
  const placed = await callJson<{ order: { id: string }; accessToken: string }>(
    `/v1/stores/${tenant.slug}/orders`,
    { body: draft, headers: { "idempotency-key": "fuzz-setup-order-0001" } },
    201,
  );
  // Paid at the counter now, so no fuzzed request can be the one that confirms it and
  // queues work in the background.
  await callJson(
    `/v1/admin/${tenant.slug}/orders/${placed.order.id}/mark-paid`,
    { method: "POST", token: keys.staff },
    200,
  );
  const otherItem = await createMenuItem(other, { name: "Other", price: 100 });
  const otherOrder = await callJson<{ order: { id: string } }>(
    `/v1/stores/${other.slug}/orders`,
    {
      body: orderDraft(otherItem, "pickup", ""),
      headers: { "idempotency-key": "fuzz-other-0001" },
    },
    201,
  );
  const giftCard = await callJson<{ giftCard: { code: string } }>(
    `/v1/pos/${tenant.slug}/gift-cards`,
    {
      token: keys.terminal,
      body: { amount: { amount: 2500, currency: "USD" }, purchaserName: "Fuzz Buyer" },
    },
    201,
  );
  const phone = "+15550100";
  await callJson(
    `/v1/pos/${tenant.slug}/loyalty/${encodeURIComponent(phone)}/add`,
    { token: keys.terminal, body: { points: 500, reason: "setup" } },
    200,
  );
  // No request path raises an alert without a failing POS; the row is what one would write.
  const alertId = "alt_fuzz_0001";
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO alerts (id, tenant_id, kind, level, order_id, message, created_at, last_raised_at) VALUES (?, ?, 'pos_sync_failed', 'critical', ?, 'fuzz alert', ?, ?)",
  )
    .bind(alertId, tenant.id, placed.order.id, now, now)
    .run();

  F = {
    tenant,
    other,
    platformTenant,
    keys,
    revokedKey: revoked.key,
    item,
    patchItem,
    deleteItem,
    discountCode,
    order: { id: placed.order.id, accessToken: placed.accessToken },
    otherOrderId: otherOrder.order.id,
    sacrificialKeyId: sacrificial.apiKey.id,
    giftCardCode: giftCard.giftCard.code,
    phone,
    alertId,
    webhookTenants: {},
  };

  // Which role each tenant route needs, asked of the Worker itself: the lowest role that
  // is not refused with 403. Probed with ids that match nothing, before any POS is
  // connected, so no probe changes the fixtures.
  for (const op of OPERATIONS) {
    if (op.auth === "admin" || op.auth === "public") continue;
    const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
      name === "tenant" ? tenant.slug : "fuzz-probe",
    );
    for (const role of ["terminal", "staff", "owner"] as const) {
      const res = await exports.default.fetch(
        new Request(`http://orderlane.test${path}`, {
          method: op.method,
          headers: { authorization: `Bearer ${keys[role]}` },
        }),
      );
      const text = await res.text();
      if (res.status !== 403) {
        op.auth = role;
        break;
      }
      if (role === "owner") throw new Error(`${op.name} refuses even the owner key: ${text}`);
    }
  }

  await callJson(
    `/v1/admin/${tenant.slug}/pos/connect`,
    { token: tenant.ownerKey, body: connectBody("webhook") },
    200,
  );
  for (const provider of POS_PROVIDERS) {
    const t = await createTenant();
    await callJson(
      `/v1/admin/${t.slug}/pos/connect`,
      { token: t.ownerKey, body: connectBody(provider) },
      200,
    );
    F.webhookTenants[provider] = t;
  }

  BASE_BODIES = {
    "POST /v1/platform/tenants": [
      {
        slug: "fuzz-made-tenant",
        name: "Fuzz Made",
        currency: "USD",
        timezone: "Europe/Paris",
        taxRateBps: 500,
      },
    ],
    "POST /v1/stores/{tenant}/orders/preview": [
      orderDraft(item, "pickup"),
      orderDraft(item, "delivery"),
    ],
    "POST /v1/stores/{tenant}/orders": [orderDraft(item, "pickup"), orderDraft(item, "delivery")],
    "POST /v1/admin/{tenant}/menu/items": [
      {
        name: "Fuzz item",
        description: "made by the fuzzer",
        price: { amount: 850, currency: "USD" },
        available: true,
        posItemId: "pos-item-1",
        modifiers: [{ name: "Extra", price: { amount: 50, currency: "USD" }, posModifierId: null }],
      },
    ],
    "PATCH /v1/admin/{tenant}/menu/items/{id}": [
      {
        name: "Fries, renamed",
        price: { amount: 549, currency: "USD" },
        available: false,
        modifiers: patchItem.modifiers.map((m) => ({ id: m.id, name: m.name, price: m.price })),
      },
    ],
    "POST /v1/admin/{tenant}/discounts": [
      {
        code: "FUZZNEW",
        kind: "fixed",
        value: 300,
        minSubtotal: 1000,
        expiresAt: "2031-01-01T00:00:00Z",
        maxUses: 5,
      },
    ],
    "POST /v1/admin/{tenant}/orders/{id}/status": [{ status: "preparing" }],
    "POST /v1/admin/{tenant}/keys": [{ role: "terminal", label: "fuzz key" }],
    "POST /v1/admin/{tenant}/pos/connect": [connectBody("webhook"), connectBody("square")],
    "POST /v1/pos/{tenant}/gift-cards": [
      {
        amount: { amount: 2000, currency: "USD" },
        purchaserName: "Fuzz Buyer",
        recipientName: "Friend",
        recipientEmail: "friend@example.com",
      },
    ],
    "POST /v1/pos/{tenant}/loyalty/{phone}/add": [{ points: 10, reason: "fuzz visit" }],
    "POST /v1/pos/{tenant}/loyalty/{phone}/redeem": [{ points: 5, reason: "fuzz reward" }],
  };

  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
  ).all<{ name: string }>();
  TABLES = results.map((r) => r.name);
}

function orderDraft(item: MenuItemBody, orderType: "pickup" | "delivery", discountCode = "FUZZ10") {
  return {
    orderType,
    items: [
      {
        menuItemId: item.id,
        quantity: 2,
        modifierIds: item.modifiers.map((m) => m.id),
        specialInstructions: "no onions",
      },
    ],
    customer: { name: "Fuzz Customer", email: "fuzz@example.com", phone: "+1 555 0100" },
    tip: { amount: 100, currency: "USD" },
    ...(discountCode ? { discountCode } : {}),
    specialInstructions: "ring the bell",
    ...(orderType === "delivery"
      ? {
          deliveryAddress: {
            line1: "1 Main St",
            city: "Springfield",
            postalCode: "12345",
            country: "US",
          },
        }
      : {}),
  };
}

function baseBodies(op: Operation): unknown[] {
  if (!op.bodySchema) return [];
  return BASE_BODIES[op.name] ?? [synthesize(op.bodySchema)];
}

/** Platform routes may delete or limit the tenant they name, so they get one of their own. */
function platformRoute(op: Operation): boolean {
  return op.path.startsWith("/v1/platform/");
}

/** The real value of a path parameter, by its name and the segment before it. */
function validPathValue(op: Operation, name: string): string {
  const segments = op.path.split("/");
  const before = segments[segments.indexOf(`{${name}}`) - 1];
  if (name === "tenant") return platformRoute(op) ? F.platformTenant.slug : F.tenant.slug;
  if (name === "phone") return F.phone;
  if (name === "code") return before === "gift-cards" ? F.giftCardCode : F.discountCode;
  if (name === "provider") return "square";
  switch (before) {
    case "items":
      return op.method === "DELETE" ? F.deleteItem.id : F.patchItem.id;
    case "modifiers":
      return F.patchItem.modifiers[0]?.id ?? "fuzz-id";
    case "orders":
      return F.order.id;
    case "keys":
      return F.sacrificialKeyId;
    case "alerts":
      return F.alertId;
    default:
      return "fuzz-id";
  }
}

function validQueryValue(param: OpenApiParameter): string | undefined {
  const schema = resolveRef(param.schema ?? {});
  const known: Record<string, string> = {
    token: F.order.accessToken,
    limit: "10",
    cursor: "1",
    dryRun: "true",
  };
  const value =
    schema.enum?.[0] !== undefined
      ? String(schema.enum[0])
      : (known[param.name] ??
        (schema.type === "integer" || schema.type === "number"
          ? String(schema.minimum ?? 1)
          : schema.type === "boolean"
            ? "true"
            : undefined));
  if (value !== undefined && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    return param.required ? value : undefined;
  }
  return value ?? (param.required ? "fuzz" : undefined);
}

// ------------------------------------------------------------------ inputs

type JsonPath = (string | number)[];

/** A replacement value; big ones are described, not spelled out, so failures print short. */
type Weird =
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: string }
  | { kind: "long"; length: number; char: string }
  | { kind: "repeat"; count: number }
  | { kind: "nest"; depth: number; shape: "array" | "object" };

type Mutation =
  | { op: "vary"; at: number; text: string; delta: number }
  | { op: "drop"; at: number }
  | { op: "set"; at: number; value: Weird }
  | { op: "add"; at: number; key: string; value: Weird };

type RawBody =
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: number[] }
  | { kind: "truncate"; base: number; at: number }
  | { kind: "flip"; base: number; at: number; char: string };

type BodyCase =
  | { kind: "none" }
  | { kind: "base"; base: number }
  | { kind: "mutated"; base: number; mutations: Mutation[] }
  | { kind: "json"; value: unknown }
  | { kind: "raw"; raw: RawBody };

type AuthCase =
  | "right"
  | "none"
  | "garbage"
  | "basic"
  | "empty-bearer"
  | "lower-role"
  | "other-tenant"
  | "revoked"
  | "swapped-token"
  | { random: string };

type PathValue =
  | { kind: "valid" }
  | { kind: "text"; text: string }
  | { kind: "long"; length: number }
  | { kind: "suffix"; suffix: string }
  | { kind: "other-tenant" };

type QueryValue = { kind: "valid" } | { kind: "text"; text: string; raw: boolean };

type HeaderValue =
  | { kind: "unique" }
  | { kind: "replay" }
  | { kind: "absent" }
  | { kind: "text"; text: string };

interface Case {
  body: BodyCase;
  contentType: string | null;
  auth: AuthCase;
  path: Record<string, PathValue>;
  query: { key: string; value: QueryValue }[];
  headers: Record<string, HeaderValue>;
  extraHeader: [string, string] | null;
}

const WEIRD_CONSTANTS: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  0.5,
  -0.5,
  1.000001,
  99,
  100,
  101,
  100_000_000,
  100_000_001,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e21,
  1e308,
  -1e308,
  5e-324,
  "",
  " ",
  "NaN",
  "Infinity",
  "-1",
  "1e308",
  "0x10",
  "null",
  "true",
  "USD",
  "usd",
  "XXX",
  "2030-02-30T25:61:00Z",
  "\u0000",
  "\u202e\u0644\u0627",
  "\ud800",
  "🍔🍟",
  "' OR 1=1 --",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "__proto__",
  [],
  {},
  [null],
  { "": null },
  JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  [[[]]],
];
const RAW_NUMBERS = ["1e999", "-1e999", "-0", "1E400", "123456789012345678901234567890", "0e0"];

const weirdArb: fc.Arbitrary<Weird> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WEIRD_CONSTANTS).map((value) => json(value)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...RAW_NUMBERS).map((text) => ({ kind: "raw" as const, text })),
  },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()).map((value) => json(value)) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.string({ unit: "binary", maxLength: 30 }), fc.string({ unit: "grapheme" }))
      .map((value) => json(value)),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("long" as const),
      length: fc.constantFrom(41, 101, 256, 1001, 5000, 70_000),
      char: fc.constantFrom("x", "é", "🍔", "\u0000", " ", "9"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("repeat" as const),
      count: fc.constantFrom(31, 51, 100, 1000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("nest" as const),
      depth: fc.constantFrom(20, 200, 5000),
      shape: fc.constantFrom("array" as const, "object" as const),
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => json(value)) },
);

function json(value: unknown): Weird {
  return { kind: "json", value };
}

/** A leaf changed within its type (a string for a string, ±delta for a number): often still valid. */
const varyArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constant("vary" as const),
  at: fc.nat(),
  text: fc.oneof(
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
    fc.constantFrom("é", "ＡＢＣ", "  padded  ", "Ω≈ç√", "🍔", "x".repeat(40)),
  ),
  delta: fc.integer({ min: -3, max: 3 }),
});

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: varyArb },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("drop" as const), at: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: weirdArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("add" as const),
      at: fc.nat(),
      key: fc.oneof(
        fc.constantFrom("__proto__", "constructor", "id", "tenantId", "extra", ""),
        fc.string({ maxLength: 10 }),
      ),
      value: weirdArb,
    }),
  },
);

const INVALID_JSON = [
  "",
  " ",
  "{",
  "}",
  "[",
  '{"a":}',
  "{'a':1}",
  "{a:1}",
  "[1,]",
  '{"a":1,}',
  "NaN",
  "undefined",
  "null",
  "true",
  "0",
  '"text"',
  "[]",
  "\uFEFF{}",
  "{}garbage",
  '{"a":1}{"b":2}',
  "\u0000",
  '{"a":"\\ud800"}',
  '{"a":"\\x41"}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  "1e999",
];

function rawBodyArb(bases: number): fc.Arbitrary<RawBody> {
  const options: fc.Arbitrary<RawBody>[] = [
    fc.constantFrom(...INVALID_JSON).map((text) => ({ kind: "text", text })),
    fc
      .oneof(fc.string(), fc.string({ unit: "binary" }))
      .map((text) => ({ kind: "text" as const, text })),
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }).map((bytes) => ({
      kind: "bytes" as const,
      bytes,
    })),
  ];
  if (bases > 0) {
    const base = fc.nat({ max: bases - 1 });
    options.push(
      fc.record({ kind: fc.constant("truncate" as const), base, at: fc.nat() }),
      fc.record({
        kind: fc.constant("flip" as const),
        base,
        at: fc.nat(),
        char: fc.constantFrom("{", "}", '"', ",", ":", "\\", "\u0000", "x"),
      }),
    );
  }
  return fc.oneof(...options);
}

function bodyArb(bases: number): fc.Arbitrary<BodyCase> {
  const free: { weight: number; arbitrary: fc.Arbitrary<BodyCase> }[] = [
    {
      weight: 2,
      arbitrary: fc
        .oneof(fc.jsonValue(), fc.anything())
        .map((value) => ({ kind: "json" as const, value })),
    },
    {
      weight: 2,
      arbitrary: rawBodyArb(bases).map((raw) => ({ kind: "raw" as const, raw })),
    },
  ];
  if (bases === 0) {
    return fc.oneof({ weight: 6, arbitrary: fc.constant({ kind: "none" as const }) }, ...free);
  }
  const base = fc.nat({ max: bases - 1 });
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("base" as const), base }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("mutated" as const),
        base,
        mutations: fc.array(varyArb, { minLength: 1, maxLength: 2 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("mutated" as const),
        base,
        mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
    ...free,
  );
}

/** Printable ASCII, what a header value can carry without the runtime re-encoding it. */
const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});

const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      null,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=fuzz",
      "application/json; charset=utf-8",
      "application/json;charset=UTF-8",
      "APPLICATION/JSON",
      "application/vnd.api+json",
      "application/json; charset",
      "application/json;",
      "application/jsonx",
      "application/json, text/plain",
      "*/*",
      "",
      "json",
    ),
  },
  { weight: 1, arbitrary: headerText },
);

const authArb: fc.Arbitrary<AuthCase> = fc.oneof(
  { weight: 14, arbitrary: fc.constant("right" as const) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<AuthCase>(
      "none",
      "garbage",
      "basic",
      "empty-bearer",
      "lower-role",
      "other-tenant",
      "revoked",
      "swapped-token",
    ),
  },
  { weight: 1, arbitrary: headerText.map((random) => ({ random })) },
);

const weirdPathText = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "%2e%2e",
    "..%2f..%2fplatform",
    "%2F",
    "%",
    "%ZZ",
    "%E0%A4%A",
    "%00",
    "%252e%252e",
    " ",
    "%20",
    "ü",
    "😀",
    "\u202e",
    "' OR 1=1 --",
    "-1",
    "0",
    "null",
    "undefined",
    "__proto__",
    "a?b=c",
    "a#b",
    ";",
    "%C0%AE",
  ),
  fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => encodeURIComponent(s)),
  fc.string({ maxLength: 20 }),
);

const pathValueArb: fc.Arbitrary<PathValue> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: "valid" as const }) },
  { weight: 2, arbitrary: weirdPathText.map((text) => ({ kind: "text" as const, text })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(65, 1000, 8000).map((length) => ({ kind: "long" as const, length })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("x", "%20", "/", "/..", "%00", "'", "\u00e9")
      .map((suffix) => ({ kind: "suffix" as const, suffix })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "other-tenant" as const }) },
);

const queryText = fc.oneof(
  fc.constantFrom(
    "",
    "-1",
    "0",
    "1",
    "201",
    "1.5",
    "1e308",
    "1e999",
    "NaN",
    "Infinity",
    "0x10",
    " 10",
    "10abc",
    "true",
    "TRUE",
    "%",
    "%ZZ",
    "%00",
    "💥",
    "x".repeat(5000),
    "9".repeat(30),
    "att_00000000000000000000000000",
  ),
  fc.string({ unit: "grapheme", maxLength: 30 }),
);

function queryArb(op: Operation): fc.Arbitrary<Case["query"]> {
  const names = op.query.map((p) => p.name);
  const valid = fc
    .subarray(names)
    .map((keys) => keys.map((key) => ({ key, value: { kind: "valid" as const } })));
  const fuzzed = fc.array(
    fc.record({
      key: fc.oneof(
        ...(names.length > 0 ? [fc.constantFrom(...names)] : []),
        fc.constantFrom("__proto__", "limit[]", "", "a".repeat(300), "token", "cursor"),
        fc.string({ maxLength: 8 }),
      ),
      value: fc.record({
        kind: fc.constant("text" as const),
        text: queryText,
        raw: fc.boolean(),
      }),
    }),
    { minLength: 1, maxLength: 4 },
  );
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: fuzzed });
}

const headerValueArb: fc.Arbitrary<HeaderValue> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "unique" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "replay" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "absent" as const }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "",
          "short",
          "has spaces in it",
          "k".repeat(256),
          "k".repeat(5000),
          "é".repeat(10),
        ),
        headerText,
      )
      .map((text) => ({ kind: "text" as const, text })),
  },
);

const extraHeaderArb: fc.Arbitrary<[string, string] | null> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(
        "idempotency-key",
        "origin",
        "x-forwarded-for",
        "cf-connecting-ip",
        "content-length",
        "transfer-encoding",
        "accept",
        "x-http-method-override",
      ),
      headerText,
    ),
  },
);

function caseArb(op: Operation): fc.Arbitrary<Case> {
  const path: Record<string, fc.Arbitrary<PathValue>> = {};
  for (const name of op.pathParams) path[name] = pathValueArb;
  const headers: Record<string, fc.Arbitrary<HeaderValue>> = {};
  for (const p of op.headers) headers[p.name] = headerValueArb;
  return fc.record({
    body: bodyArb(baseBodies(op).length),
    contentType: contentTypeArb,
    auth: authArb,
    path: fc.record(path),
    query: queryArb(op),
    headers: fc.record(headers),
    extraHeader: extraHeaderArb,
  });
}

// ------------------------------------------------------------------ building requests

function allPaths(value: unknown, prefix: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) allPaths(v, [...prefix, i], out);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) allPaths(v, [...prefix, k], out);
  }
  return out;
}

function getAt(root: unknown, path: JsonPath): unknown {
  let node = root;
  for (const part of path) node = (node as Record<string | number, unknown>)[part];
  return node;
}

function setAt(root: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as object;
  // defineProperty, not assignment: a key "__proto__" must stay a key.
  Object.defineProperty(parent, path[path.length - 1] as string | number, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
  return root;
}

function dropAt(root: unknown, path: JsonPath): unknown {
  if (path.length === 0) return undefined;
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete (parent as Record<string, unknown>)[last as string];
  return root;
}

/** Serializes JSON with `raw` placeholders replaced by text JSON.stringify cannot make. */
class BodyWriter {
  #raws: string[] = [];

  raw(text: string): string {
    this.#raws.push(text);
    return `\u0000raw${this.#raws.length - 1}\u0000`;
  }

  write(value: unknown): string | undefined {
    let text = JSON.stringify(value);
    if (text === undefined) return undefined;
    this.#raws.forEach((raw, i) => {
      text = (text as string).split(JSON.stringify(`\u0000raw${i}\u0000`)).join(raw);
    });
    return text;
  }
}

function resolveWeird(weird: Weird, current: unknown, writer: BodyWriter): unknown {
  switch (weird.kind) {
    case "json":
      return structuredClone(weird.value);
    case "raw":
      return writer.raw(weird.text);
    case "long":
      return weird.char.repeat(weird.length);
    case "repeat": {
      const item = Array.isArray(current) ? (current[0] ?? null) : current;
      return Array.from({ length: weird.count }, () => structuredClone(item));
    }
    case "nest":
      return writer.raw(
        weird.shape === "array"
          ? `${"[".repeat(weird.depth)}${"]".repeat(weird.depth)}`
          : `${'{"a":'.repeat(weird.depth)}0${"}".repeat(weird.depth)}`,
      );
  }
}

function applyMutations(base: unknown, mutations: Mutation[], writer: BodyWriter): unknown {
  let value: unknown = structuredClone(base);
  for (const m of mutations) {
    const paths = allPaths(value);
    const path = paths[m.at % paths.length] ?? [];
    const current = getAt(value, path);
    if (m.op === "vary") {
      const varied =
        typeof current === "string"
          ? m.text
          : typeof current === "number"
            ? current + m.delta
            : typeof current === "boolean"
              ? !current
              : current;
      value = setAt(value, path, varied);
    } else if (m.op === "drop") value = dropAt(value, path);
    else if (m.op === "add" && current && typeof current === "object" && !Array.isArray(current)) {
      Object.defineProperty(current, m.key, {
        value: resolveWeird(m.value, undefined, writer),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    } else value = setAt(value, path, resolveWeird(m.value, current, writer));
  }
  return value;
}

/** The body's bytes for a case (undefined: no body at all). */
function bodyBytes(bases: unknown[], body: BodyCase): Uint8Array | undefined {
  const encode = (text: string | undefined) =>
    text === undefined ? undefined : new TextEncoder().encode(text);
  switch (body.kind) {
    case "none":
      return undefined;
    case "base":
      return encode(JSON.stringify(bases[body.base]));
    case "mutated": {
      const writer = new BodyWriter();
      return encode(writer.write(applyMutations(bases[body.base], body.mutations, writer)));
    }
    case "json":
      return encode(JSON.stringify(body.value) ?? "");
    case "raw": {
      const raw = body.raw;
      if (raw.kind === "text") return encode(raw.text);
      if (raw.kind === "bytes") return new Uint8Array(raw.bytes);
      const text = JSON.stringify(bases[raw.base]);
      const at = raw.at % (text.length + 1);
      return encode(
        raw.kind === "truncate"
          ? text.slice(0, at)
          : text.slice(0, at) + raw.char + text.slice(at + 1),
      );
    }
  }
}

let uniqueCounter = 0;

function authHeader(op: Operation, auth: AuthCase): string | undefined {
  const right =
    op.auth === "admin" ? ADMIN_TOKEN : op.auth === "public" ? undefined : F.keys[op.auth];
  if (typeof auth === "object") return auth.random;
  switch (auth) {
    case "right":
      return right === undefined ? undefined : `Bearer ${right}`;
    case "none":
      return undefined;
    case "garbage":
      return "Bearer olk_thisIsNotAKeyOfAnyTenant0000000000000";
    case "basic":
      return "Basic YWRtaW46YWRtaW4=";
    case "empty-bearer":
      return "Bearer ";
    case "lower-role": {
      const lower: Record<Auth, string> = {
        admin: F.tenant.ownerKey,
        public: "garbage",
        owner: F.keys.staff,
        staff: F.keys.terminal,
        terminal: F.revokedKey,
      };
      return `Bearer ${lower[op.auth]}`;
    }
    case "other-tenant":
      return `Bearer ${F.other.ownerKey}`;
    case "revoked":
      return `Bearer ${F.revokedKey}`;
    case "swapped-token":
      return `Bearer ${op.auth === "admin" ? F.tenant.ownerKey : ADMIN_TOKEN}`;
  }
}

function pathValue(op: Operation, name: string, value: PathValue): string {
  const valid = validPathValue(op, name);
  switch (value.kind) {
    case "valid":
      return name === "phone" ? encodeURIComponent(valid) : valid;
    case "text":
      return value.text;
    case "long":
      return "a".repeat(value.length);
    case "suffix":
      return valid + value.suffix;
    case "other-tenant":
      // The other tenant's slug or order; for other parameters, the real value in upper case.
      if (name === "tenant") return platformRoute(op) ? F.platformTenant.slug : F.other.slug;
      return name === "id" ? F.otherOrderId : valid.toUpperCase();
  }
}

interface Built {
  label: string;
  request: Request;
}

function buildRequest(op: Operation, c: Case): Built | null {
  let path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    pathValue(op, name, c.path[name] ?? { kind: "valid" }),
  );
  const query = c.query
    .map(({ key, value }) => {
      const param = op.query.find((p) => p.name === key);
      const text =
        value.kind === "valid" ? (param ? validQueryValue(param) : undefined) : value.text;
      if (text === undefined) return null;
      const raw = value.kind === "text" && value.raw;
      return `${encodeURIComponent(key)}=${raw ? text : encodeURIComponent(text)}`;
    })
    .filter((part) => part !== null);
  for (const param of op.query) {
    if (param.required && !c.query.some((q) => q.key === param.name)) {
      query.push(`${param.name}=${encodeURIComponent(validQueryValue(param) ?? "fuzz")}`);
    }
  }
  if (query.length > 0) path += `?${query.join("&")}`;

  const headers = new Headers();
  const body =
    op.method === "GET" || op.method === "HEAD" ? undefined : bodyBytes(baseBodies(op), c.body);
  const authorization = authHeader(op, c.auth);
  try {
    if (authorization !== undefined) headers.set("authorization", authorization);
    if (c.contentType !== null && (body !== undefined || c.contentType !== "application/json")) {
      headers.set("content-type", c.contentType);
    }
    for (const [name, value] of Object.entries(c.headers)) {
      if (value.kind === "absent") continue;
      uniqueCounter += 1;
      headers.set(
        name,
        value.kind === "unique"
          ? `fuzz-${Date.now().toString(36)}-${uniqueCounter}`
          : value.kind === "replay"
            ? "fuzz-replayed-key-0001"
            : value.text,
      );
    }
    if (c.extraHeader) headers.set(c.extraHeader[0], c.extraHeader[1]);
    const request = new Request(`http://orderlane.test${path}`, {
      method: op.method,
      headers,
      body,
    });
    const shownBody =
      body === undefined ? "(none)" : preview(new TextDecoder().decode(body.slice(0, 400)));
    const label = `${op.method} ${path.length > 300 ? `${path.slice(0, 300)}…` : path} [auth ${typeof c.auth === "object" ? "random" : c.auth}, content-type ${JSON.stringify(headers.get("content-type"))}, ${body?.length ?? 0} bytes: ${shownBody}]`;
    return { label, request };
  } catch (err) {
    // A header or URL no client could send (the Request constructor refuses it).
    if (err instanceof TypeError) return null;
    throw err;
  }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}

// ------------------------------------------------------------------ the checks

interface TableState {
  text: string;
  rows: Record<string, unknown[]>;
}

/**
 * Every row of every table in one D1 batch (one round trip, where
 * snapshotTables makes one per table): the same rows, so any write shows.
 */
async function readTables(): Promise<TableState> {
  const results = await env.DB.batch(TABLES.map((t) => env.DB.prepare(`SELECT * FROM "${t}"`)));
  const rows: Record<string, unknown[]> = {};
  TABLES.forEach((table, i) => {
    rows[table] = results[i]?.results ?? [];
  });
  return { text: JSON.stringify(rows), rows };
}

/** The rows as snapshotTables() orders them, to compare with it. */
function normalized(rows: Record<string, unknown[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [table, list] of Object.entries(rows)) {
    out[table] = list
      .map((row) => JSON.stringify(row))
      .sort()
      .map((text) => JSON.parse(text) as unknown);
  }
  return out;
}

/** What the last case left; a change seen before the next one is laid at its door. */
let last: { label: string; rejected: boolean; state: TableState } | null = null;

/** Outbox rows an accepted request committed and is still publishing (waitUntil). */
function undelivered(state: TableState): number {
  return (state.rows.outbox_events ?? []).filter((row) => {
    const r = row as { delivered_at: unknown; attempts: unknown };
    return r.delivered_at === null && r.attempts === 0;
  }).length;
}

/**
 * Waits until what an accepted request started in the background has
 * landed, so the next case's "before" is not moved by it: its outbox rows
 * delivered (or a failed try counted), then no write for 100 ms.
 */
async function settle(from: TableState): Promise<TableState> {
  let state = from;
  let quietSince = Date.now();
  const deadline = Date.now() + 10_000;
  while (Date.now() - quietSince < 100 || (undelivered(state) > 0 && Date.now() < deadline)) {
    if (Date.now() > deadline) throw new Error("D1 kept changing for 10 s after a request");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = await readTables();
    if (next.text !== state.text) {
      state = next;
      quietSince = Date.now();
    }
  }
  return state;
}

async function expectUnchanged(label: string, before: TableState, after: TableState) {
  if (after.text === before.text) return;
  // Rows may come back in another order without any write; compare as snapshotTables does.
  if (JSON.stringify(normalized(after.rows)) === JSON.stringify(normalized(before.rows))) return;
  expect(await snapshotTables(), `${label} was rejected but changed D1`).toEqual(
    normalized(before.rows),
  );
}

function expectEnvelope(
  label: string,
  status: number,
  text: string,
  requestIdHeader: string | null,
): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${label} → ${status} with a body that is not JSON: ${preview(text)}`);
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  const shape =
    body !== null &&
    typeof body === "object" &&
    !Array.isArray(body) &&
    Object.keys(body).join() === "error" &&
    error !== null &&
    typeof error === "object" &&
    typeof error.code === "string" &&
    typeof error.message === "string" &&
    error.message.length > 0 &&
    typeof error.requestId === "string" &&
    error.requestId.length > 0 &&
    Object.keys(error).every((k) => ["code", "message", "details", "requestId"].includes(k));
  expect(shape, `${label} → ${status}: not the error envelope: ${preview(text)}`).toBe(true);
  expect(error?.requestId, `${label} → ${status}: requestId is not x-request-id`).toBe(
    requestIdHeader,
  );
  const code = String(error?.code);
  expect(
    CONTRACT_CODES[code]?.includes(status),
    `${label} → ${status}: code ${code} is not the contract's code for that status: ${preview(text)}`,
  ).toBe(true);
  return code;
}

const counts: Record<string, { cases: number; skipped: number; statuses: Record<string, number> }> =
  {};

function count(group: string, status: number | "skipped") {
  counts[group] ??= { cases: 0, skipped: 0, statuses: {} };
  const entry = counts[group];
  if (status === "skipped") {
    entry.skipped += 1;
    return;
  }
  entry.cases += 1;
  entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
}

/** Sends one request and checks the three properties; returns the status. */
async function runCase(group: string, built: Built, expect4xx = false): Promise<number> {
  let before = await readTables();
  // Taken first, so a failing case is never blamed again on the cases after it.
  const previous = last;
  last = null;
  if (previous && before.text !== previous.state.text) {
    if (previous.rejected) {
      await expectUnchanged(
        `${previous.label} (a write after its response)`,
        previous.state,
        before,
      );
    }
    before = await settle(before);
  }
  const res = await exports.default.fetch(built.request);
  const text = await res.text();
  count(group, res.status);
  const label = built.label;
  const rejected = res.status >= 400;
  let after = await readTables();
  if (!rejected && after.text !== before.text) {
    // It wrote: its events are published after the response (waitUntil).
    after = await settle(after);
  }
  last = { label, rejected, state: after };
  expect(res.status, `${label} → ${res.status}: ${preview(text)}`).toBeLessThan(500);
  if (expect4xx) {
    expect(res.status, `${label} → ${res.status} without a valid signature`).toBeGreaterThanOrEqual(
      400,
    );
  }
  if (rejected) {
    expectEnvelope(label, res.status, text, res.headers.get("x-request-id"));
    await expectUnchanged(label, before, after);
  }
  return res.status;
}

function seedFor(name: string): number {
  let h = FUZZ_SEED;
  for (const ch of name) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

// ------------------------------------------------------------------ the tests

const started = Date.now();

beforeAll(async () => {
  await setUp();
  last = null;
  console.log(
    `fuzz: seed ${FUZZ_SEED}, ${OPERATIONS.length} operations, ${RUNS_PER_OPERATION} runs each; roles: ${OPERATIONS.map((op) => `${op.name} → ${op.auth}`).join("; ")}`,
  );
}, 60_000);

afterAll(() => {
  const lines = Object.entries(counts).map(
    ([group, c]) =>
      `  ${group}: ${c.cases} cases (${c.skipped} unsendable skipped), statuses ${JSON.stringify(c.statuses)}`,
  );
  const total = Object.values(counts).reduce((n, c) => n + c.cases, 0);
  console.log(
    `fuzz cases per group:\n${lines.join("\n")}\n  total: ${total} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

describe("the routes to fuzz", () => {
  it("come from the OpenAPI document and cover every /v1 audience", () => {
    expect(GROUPS).toEqual(expect.arrayContaining(["platform", "stores", "admin", "pos"]));
    expect(OPERATIONS.length).toBeGreaterThanOrEqual(30);
    expect(OPERATIONS.map((op) => op.name)).toContain("POST /v1/stores/{tenant}/orders");
    const withBody = OPERATIONS.filter((op) => op.bodySchema);
    expect(withBody.length).toBeGreaterThanOrEqual(10);
    // Every hand-written body names a route that still exists.
    for (const name of Object.keys(BASE_BODIES)) {
      expect(OPERATIONS.map((op) => op.name)).toContain(name);
    }
    const synthesized = withBody.filter((op) => !BASE_BODIES[op.name]).map((op) => op.name);
    if (synthesized.length > 0) console.log(`fuzz: synthesized base bodies for ${synthesized}`);
  });

  it("have base bodies the routes accept, and the write check sees what snapshotTables sees", async () => {
    expect(TABLES).toEqual(Object.keys(await snapshotTables()));
    // A preview writes nothing and needs a valid draft: the base reaches the handler.
    const preview = await callJson(
      `/v1/stores/${F.tenant.slug}/orders/preview`,
      { body: BASE_BODIES["POST /v1/stores/{tenant}/orders/preview"]?.[0] },
      200,
    );
    expect(preview.total).toEqual({ amount: expect.any(Number), currency: "USD" });
    const before = await readTables();
    await createKey(F.tenant, "terminal");
    const after = await readTables();
    expect(after.text).not.toBe(before.text);
    expect(await snapshotTables()).toEqual(normalized(after.rows));
    expect(normalized(after.rows)).not.toEqual(normalized(before.rows));
  });
});

for (const group of GROUPS) {
  describe(`${group} routes`, () => {
    for (const op of OPERATIONS.filter((o) => o.group === group)) {
      it(`${op.name}: no 5xx, the envelope on every error, no write on a rejection`, async () => {
        await fc.assert(
          fc.asyncProperty(caseArb(op), async (c) => {
            const built = buildRequest(op, c);
            if (!built) {
              count(group, "skipped");
              return;
            }
            await runCase(group, built);
          }),
          { seed: seedFor(op.name), numRuns: RUNS_PER_OPERATION },
        );
      }, 120_000);
    }
  });
}

// ------------------------------------------------------------------ webhooks

const stripeSignatureArb = fc.oneof(
  fc.constant(null),
  fc.constantFrom(
    "",
    "garbage",
    "t=,v1=",
    "t=abc,v1=def",
    "v1=00",
    "t=1",
    "t=1,v1=zz",
    `t=1,v1=${"0".repeat(64)}`,
    `t=9999999999,v1=${"a".repeat(64)}`,
    `t=${"9".repeat(30)},v1=${"a".repeat(64)}`,
    `t=1,v1=${"a".repeat(64)},v1=${"b".repeat(64)},v0=${"c".repeat(64)}`,
    ",,,,",
    "t=1,".repeat(500),
  ),
  fc
    .tuple(fc.integer({ min: -600, max: 600 }), fc.stringMatching(/^[0-9a-f]{0,80}$/))
    .map(([skew, hex]) => `t=${Math.floor(Date.now() / 1000) + skew},v1=${hex}`),
  headerText,
);

function stripeEvent(): Record<string, unknown> {
  return {
    id: "evt_fuzz_0001",
    object: "event",
    type: "payment_intent.succeeded",
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: "pi_fuzz",
        object: "payment_intent",
        amount: 2000,
        currency: "usd",
        metadata: { orderId: F.order.id, tenantId: F.tenant.id },
      },
    },
  };
}

function posEvent(provider: string): Record<string, unknown> {
  switch (provider) {
    case "toast":
      return {
        timestamp: new Date().toISOString(),
        eventCategory: "orders",
        eventType: "order_updated",
        guid: crypto.randomUUID(),
        details: { order: { guid: crypto.randomUUID(), approvalStatus: "APPROVED" } },
      };
    case "clover":
      return {
        appId: "FUZZAPP",
        merchants: { MFUZZ: [{ objectId: "O:FUZZ", type: "UPDATE", ts: Date.now() }] },
      };
    case "square":
      return {
        merchant_id: "MFUZZ",
        type: "order.updated",
        event_id: crypto.randomUUID(),
        created_at: new Date().toISOString(),
        data: {
          type: "order_updated",
          id: "sq-order",
          object: { order_updated: { state: "COMPLETED" } },
        },
      };
    default:
      return {
        eventId: "evt-fuzz",
        orderId: F.order.id,
        status: "ready",
        occurredAt: new Date().toISOString(),
      };
  }
}

const webhookBodyArb: fc.Arbitrary<BodyCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("mutated" as const),
      base: fc.constant(0),
      mutations: fc.array(mutationArb, { maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.jsonValue(), fc.anything()).map((value) => ({
      kind: "json" as const,
      value,
    })),
  },
  { weight: 1, arbitrary: rawBodyArb(1).map((raw) => ({ kind: "raw" as const, raw })) },
  { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
);

/** The body of a webhook case, from the vendor-shaped event `base`. */
function webhookBody(base: Record<string, unknown>, body: BodyCase): Uint8Array | undefined {
  return bodyBytes([base], body);
}

function webhookRequest(
  path: string,
  headers: [string, string | null][],
  contentType: string | null,
  body: Uint8Array | undefined,
): Built | null {
  try {
    const h = new Headers();
    if (contentType !== null) h.set("content-type", contentType);
    for (const [name, value] of headers) if (value !== null) h.set(name, value);
    const request = new Request(`http://orderlane.test${path}`, {
      method: "POST",
      headers: h,
      body,
    });
    const shown =
      body === undefined ? "(none)" : preview(new TextDecoder().decode(body.slice(0, 300)));
    return {
      label: `POST ${path} [headers ${JSON.stringify([...h])}, ${body?.length ?? 0} bytes: ${shown}]`,
      request,
    };
  } catch (err) {
    if (err instanceof TypeError) return null;
    throw err;
  }
}

describe("webhook routes", () => {
  it("POST /webhooks/stripe without a valid signature: 4xx, the envelope, no write", async () => {
    await fc.assert(
      fc.asyncProperty(
        webhookBodyArb,
        stripeSignatureArb,
        contentTypeArb,
        async (body, signature, contentType) => {
          const built = webhookRequest(
            "/webhooks/stripe",
            [["stripe-signature", signature]],
            contentType,
            webhookBody(stripeEvent(), body),
          );
          if (!built) return count("webhooks", "skipped");
          await runCase("webhooks", built, true);
        },
      ),
      { seed: seedFor("stripe"), numRuns: WEBHOOK_RUNS },
    );
  }, 120_000);

  it("POST /webhooks/pos/{provider}/{tenant} without a valid signature: 4xx, the envelope, no write", async () => {
    const providerArb = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...POS_PROVIDERS) },
      { weight: 1, arbitrary: fc.constantFrom("unknown", "TOAST", "", "..", "%2e", "clover%2F") },
    );
    const tenantArb = fc.oneof(
      { weight: 6, arbitrary: fc.constant("matching") },
      { weight: 1, arbitrary: fc.constantFrom("main", "other-provider", "unknown-tenant", "..") },
      { weight: 1, arbitrary: weirdPathText },
    );
    const signatureHeaders = [
      "toast-signature",
      "x-clover-auth",
      "x-square-hmacsha256-signature",
      "x-orderlane-signature",
      "x-orderlane-timestamp",
    ];
    const headerArb = fc.array(
      fc.tuple(
        fc.constantFrom(...signatureHeaders),
        fc.oneof(
          fc.constantFrom(
            "",
            "garbage",
            "AAAA",
            "=",
            `${Math.floor(Date.now() / 1000)}`,
            "a".repeat(5000),
            btoa("x".repeat(32)),
          ),
          fc.stringMatching(/^[A-Za-z0-9+/]{0,64}={0,2}$/),
          headerText,
        ),
      ),
      { maxLength: 4 },
    );
    await fc.assert(
      fc.asyncProperty(
        providerArb,
        tenantArb,
        headerArb,
        webhookBodyArb,
        contentTypeArb,
        async (provider, tenant, headers, body, contentType) => {
          const own = F.webhookTenants[provider];
          const slug =
            tenant === "matching"
              ? (own?.slug ?? F.tenant.slug)
              : tenant === "main"
                ? F.tenant.slug
                : tenant === "other-provider"
                  ? (F.webhookTenants[provider === "toast" ? "square" : "toast"]?.slug ?? "x")
                  : tenant;
          const secret = `${provider}-webhook-secret-0123`;
          // A random value equal to the Clover secret would be a valid signature.
          const sent = headers.filter(([, value]) => value !== secret);
          const built = webhookRequest(
            `/webhooks/pos/${provider}/${slug}`,
            sent,
            contentType,
            webhookBody(posEvent(provider), body),
          );
          if (!built) return count("webhooks", "skipped");
          await runCase("webhooks", built, true);
        },
      ),
      { seed: seedFor("pos-webhooks"), numRuns: WEBHOOK_RUNS },
    );
  }, 120_000);
});
