import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getPosAdapter } from "../../src/adapters/pos";
import { signOrderlanePayload } from "../../src/adapters/pos/webhook";
import { ERROR_STATUS, type ErrorCode } from "../../src/http/errors";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  type TestTenant,
} from "../helpers";
import { placeCardOrder, sendStripeWebhook } from "../stripe-helpers";

/*
 * Issue 10, "The OpenAPI document explains the API": a storefront developer must be able to
 * build against /docs alone. This file walks the live document, so a new route or schema is
 * checked without editing it, and every failure lists each offender by name:
 *
 * - every operation has a summary, a description and a security declaration that names its
 *   credential (and the Worker enforces what it says), and its errors in the `Error` envelope;
 * - every property (through properties, items, allOf/anyOf/oneOf, additionalProperties and
 *   $refs into components), parameter and response header has a description;
 * - every example matches its schema, and the order-creation, preview and webhook examples are
 *   accepted by the real endpoints with the answers the document shows.
 */

// ------------------------------------------------------------------ the document

interface Schema {
  $ref?: string;
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
}

interface Example {
  summary?: string;
  value: unknown;
}

interface Media {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, Example>;
}

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema?: Schema;
  example?: unknown;
}

interface Response {
  description?: string;
  headers?: Record<string, { description?: string; schema?: Schema }>;
  content?: Record<string, Media>;
}

interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, Media> };
  responses: Record<string, Response>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    securitySchemes: Record<string, { type: string; scheme?: string; description?: string }>;
  };
}

const doc = (await (await call("/openapi.json")).json()) as OpenApiDocument;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const OPERATIONS = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method) => ({
    name: `${method.toUpperCase()} ${path}`,
    path,
    method,
    op: item[method] as Operation,
  })),
);

const ROLES = ["terminal", "staff", "owner"] as const;
type Role = (typeof ROLES)[number];
type Auth = { kind: "public" } | { kind: "admin" } | { kind: "key"; role: Role };

/** Who may call the operation, as its `security` says; a string when it says nothing usable. */
function authOf(op: Operation): Auth | string {
  const security = op.security;
  if (!Array.isArray(security)) return "declares no security (public routes say `security: []`)";
  if (security.length === 0) return { kind: "public" };
  if (security.length !== 1) return `has ${security.length} alternative security requirements`;
  const requirement = security[0] ?? {};
  const schemes = Object.keys(requirement);
  if (schemes.length !== 1) return `requires ${schemes.length} schemes at once`;
  const [scheme] = schemes as [string];
  if (!doc.components.securitySchemes[scheme]) return `names the unknown scheme ${scheme}`;
  const roles = requirement[scheme] ?? [];
  if (scheme === "adminToken")
    return roles.length === 0 ? { kind: "admin" } : "adminToken has roles";
  if (scheme === "bearer") {
    const role = ROLES.find((r) => roles.length === 1 && roles[0] === r);
    return role ? { kind: "key", role } : `bearer names no single role (${JSON.stringify(roles)})`;
  }
  return `names the scheme ${scheme}, which this test does not know`;
}

function component(ref: string): { name: string; schema: Schema | undefined } {
  const name = ref.replace("#/components/schemas/", "");
  return { name, schema: doc.components.schemas[name] };
}

const nonEmpty = (text: unknown): boolean => typeof text === "string" && text.trim().length > 0;

/**
 * Whether a property says what it is: its own description, or, for a $ref the generator wraps
 * as `allOf: [$ref, { description }]`, the description beside the reference.
 */
function describes(property: Schema): boolean {
  if (nonEmpty(property.description)) return true;
  return !!property.allOf?.some((part) => !part.$ref && nonEmpty(part.description));
}

// ------------------------------------------------------------------ the walk

interface Walk {
  offenders: string[];
  properties: number;
  parameters: number;
  headers: number;
  components: Set<string>;
}

/** Every property below `schema`, through every way a schema nests another. */
function walkSchema(schema: Schema | undefined, where: string, walk: Walk): void {
  if (!schema || typeof schema !== "object") return;
  if (schema.$ref) {
    const { name, schema: target } = component(schema.$ref);
    if (!target) walk.offenders.push(`${where}: $ref to missing component ${name}`);
    else if (!walk.components.has(name)) {
      walk.components.add(name);
      walkSchema(target, `#/components/schemas/${name}`, walk);
    }
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    walk.properties += 1;
    if (!describes(property)) {
      walk.offenders.push(
        property.$ref && Object.keys(property).length === 1
          ? `${where}.${key}: a bare $ref with no description of its own (describe it with .openapi({ description }), in other words than the component's own; if you did, register the component with registerComponents before the routes that use it)`
          : `${where}.${key}: no description`,
      );
    }
    walkSchema(property, `${where}.${key}`, walk);
  }
  walkSchema(schema.items, `${where}[]`, walk);
  if (typeof schema.additionalProperties === "object") {
    walkSchema(schema.additionalProperties, `${where}{*}`, walk);
  }
  for (const key of ["allOf", "anyOf", "oneOf"] as const) {
    for (const [i, part] of (schema[key] ?? []).entries()) {
      walkSchema(part, `${where}.${key}[${i}]`, walk);
    }
  }
}

/** Walks every operation's parameters, bodies, responses and headers, then every component. */
function walkDocument(): Walk {
  const walk: Walk = {
    offenders: [],
    properties: 0,
    parameters: 0,
    headers: 0,
    components: new Set(),
  };
  for (const { name, op } of OPERATIONS) {
    for (const parameter of op.parameters ?? []) {
      walk.parameters += 1;
      const where = `${name} ${parameter.in} parameter ${parameter.name}`;
      if (!nonEmpty(parameter.description)) walk.offenders.push(`${where}: no description`);
      walkSchema(parameter.schema, where, walk);
    }
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
      walkSchema(media.schema, `${name} request ${type}`, walk);
    }
    for (const [status, response] of Object.entries(op.responses)) {
      if (!nonEmpty(response.description)) {
        walk.offenders.push(`${name} ${status}: response without a description`);
      }
      for (const [header, spec] of Object.entries(response.headers ?? {})) {
        walk.headers += 1;
        const where = `${name} ${status} header ${header}`;
        if (!nonEmpty(spec.description)) walk.offenders.push(`${where}: no description`);
        walkSchema(spec.schema, where, walk);
      }
      for (const [type, media] of Object.entries(response.content ?? {})) {
        walkSchema(media.schema, `${name} ${status} ${type}`, walk);
      }
    }
  }
  for (const name of Object.keys(doc.components.schemas)) {
    walkSchema({ $ref: `#/components/schemas/${name}` }, "(components)", walk);
  }
  return walk;
}

// ------------------------------------------------------------------ examples against schemas

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Where `value` breaks `schema`: the JSON Schema keywords the generator writes (types, enums,
 * bounds, patterns, required and unknown properties, the combinators and $refs).
 */
function mismatches(value: unknown, schema: Schema, path: string, out: string[], depth = 0): void {
  if (depth > 40) return;
  if (schema.$ref) {
    const target = component(schema.$ref).schema;
    if (target) mismatches(value, target, path, out, depth + 1);
  }
  for (const part of schema.allOf ?? []) mismatches(value, part, path, out, depth + 1);
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (!branches) continue;
    const fits = branches.filter((branch) => {
      const found: string[] = [];
      mismatches(value, branch, path, found, depth + 1);
      return found.length === 0;
    });
    if (fits.length === 0 || (key === "oneOf" && fits.length > 1)) {
      out.push(`${path}: matches ${fits.length} of the ${key} branches`);
    }
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    out.push(`${path}: is not ${JSON.stringify(schema.const)}`);
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
      out.push(`${path}: is ${actual}, not ${types.join(" or ")}`);
      return;
    }
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      out.push(`${path}: shorter than ${schema.minLength}`);
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      out.push(`${path}: longer than ${schema.maxLength}`);
    }
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
      out.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.format === "date-time" && !ISO_DATE_TIME.test(value)) {
      out.push(`${path}: ${JSON.stringify(value)} is not an ISO 8601 date-time`);
    }
    if (schema.format === "email" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
      out.push(`${path}: ${JSON.stringify(value)} is not an email address`);
    }
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${path}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${path}: above maximum`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      out.push(`${path}: not above ${schema.exclusiveMinimum}`);
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      out.push(`${path}: not below ${schema.exclusiveMaximum}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      out.push(`${path}: fewer than ${schema.minItems} items`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      out.push(`${path}: more than ${schema.maxItems} items`);
    }
    if (schema.items) {
      for (const [i, item] of value.entries()) {
        mismatches(item, schema.items, `${path}[${i}]`, out, depth + 1);
      }
    }
  }
  if (typeOf(value) === "object") {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record)) out.push(`${path}.${key}: required, missing`);
    }
    for (const [key, v] of Object.entries(record)) {
      const property = schema.properties?.[key];
      if (property) mismatches(v, property, `${path}.${key}`, out, depth + 1);
      else if (schema.additionalProperties === false) out.push(`${path}.${key}: not allowed`);
      else if (typeof schema.additionalProperties === "object") {
        mismatches(v, schema.additionalProperties, `${path}.${key}`, out, depth + 1);
      }
    }
  }
}

function examplesOf(media: Media | undefined): [string, unknown][] {
  if (!media) return [];
  const named = Object.entries(media.examples ?? {}).map(([k, e]): [string, unknown] => [
    k,
    e.value,
  ]);
  return media.example === undefined ? named : [["example", media.example], ...named];
}

function operation(method: string, path: string): Operation {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`the document has no ${method.toUpperCase()} ${path}`);
  return op;
}

function json(op: Operation, status?: string): Media {
  const media = status
    ? op.responses[status]?.content?.["application/json"]
    : op.requestBody?.content?.["application/json"];
  if (!media) throw new Error(`no application/json ${status ?? "request body"}`);
  return media;
}

function firstExample(media: Media, what: string): unknown {
  const [first] = examplesOf(media);
  if (!first) throw new Error(`${what} has no example`);
  return structuredClone(first[1]);
}

/** `value` with every string equal to a key of `ids` replaced by its value, deeply. */
function substitute(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === "string") return ids.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => substitute(v, ids));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  }
  return value;
}

// ------------------------------------------------------------------ operations

describe("every operation says what it does, who may call it and how it fails", () => {
  it("walks every operation in the document, webhooks included", () => {
    const names = OPERATIONS.map((o) => o.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "POST /v1/stores/{tenant}/orders",
        "POST /v1/stores/{tenant}/orders/preview",
        "POST /webhooks/stripe",
        "POST /webhooks/pos/{provider}/{tenant}",
        "POST /v1/platform/tenants",
        "POST /v1/admin/{tenant}/orders/{id}/status",
        "POST /v1/pos/{tenant}/gift-cards",
      ]),
    );
    expect(OPERATIONS.length).toBeGreaterThanOrEqual(38);
  });

  it("has a summary, a description and a security declaration naming its credential", () => {
    const offenders: string[] = [];
    for (const { name, op } of OPERATIONS) {
      if (!nonEmpty(op.summary)) offenders.push(`${name}: no summary`);
      if (!nonEmpty(op.description)) offenders.push(`${name}: no description`);
      const auth = authOf(op);
      if (typeof auth === "string") {
        offenders.push(`${name}: ${auth}`);
        continue;
      }
      const says =
        auth.kind === "public"
          ? /no `Authorization`/.test(op.description ?? "")
          : auth.kind === "admin"
            ? /admin token/.test(op.description ?? "")
            : (op.description ?? "").includes(`\`${auth.role}\``);
      if (!says) offenders.push(`${name}: its description does not say who may call it`);
    }
    expect(offenders).toEqual([]);
  });

  it("documents its errors in the contract's envelope, at least one 4xx, each saying when", () => {
    const offenders: string[] = [];
    for (const { name, op } of OPERATIONS) {
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      if (!errors.some(([status]) => Number(status) < 500)) {
        offenders.push(`${name}: no 4xx response`);
      }
      for (const [status, response] of errors) {
        const media = response.content?.["application/json"];
        if (media?.schema?.$ref !== "#/components/schemas/Error") {
          offenders.push(`${name} ${status}: not the Error schema`);
          continue;
        }
        const codes = Object.keys(media.examples ?? {});
        if (codes.length === 0) offenders.push(`${name} ${status}: no example of its codes`);
        for (const code of codes) {
          // The one exception CONTRACT.md makes: a draft the tenant's POS cannot accept is 422.
          const unprocessable = code === "validation_failed" && status === "422";
          if (ERROR_STATUS[code as ErrorCode] !== Number(status) && !unprocessable) {
            offenders.push(`${name} ${status}: ${code} is answered with another status`);
          }
          if (!response.description?.includes(`\`${code}\`: `)) {
            offenders.push(`${name} ${status}: the description does not say when ${code} happens`);
          }
        }
      }
      if (!op.responses["500"]) offenders.push(`${name}: no 500 response`);
    }
    expect(offenders).toEqual([]);
  });

  it("names the credential the Worker actually enforces, on a route that exists", async () => {
    const tenant = await createTenant();
    const keys: Record<Role, string> = {
      owner: tenant.ownerKey,
      staff: await createKey(tenant, "staff"),
      terminal: await createKey(tenant, "terminal"),
    };
    const offenders: string[] = [];
    const probe = async (
      name: string,
      method: string,
      path: string,
      token: string | undefined,
      expected: (status: number) => boolean,
      what: string,
    ) => {
      // Ids that match nothing and no body: nothing a probe reaches can change anything.
      const filled = path.replace(/\{([^}]+)\}/g, (_, p: string) =>
        p === "tenant"
          ? name.includes("/platform/")
            ? "probe-missing-tenant"
            : tenant.slug
          : "probe-id",
      );
      const res = await call(filled, { method: method.toUpperCase(), token });
      const text = await res.text();
      if (text.includes('"no route for ')) offenders.push(`${name}: no such route in the Worker`);
      else if (!expected(res.status))
        offenders.push(`${name} ${what}: answered ${res.status} ${text}`);
    };
    const allowed = (s: number) => s !== 401 && s !== 403;
    for (const { name, path, method, op } of OPERATIONS) {
      const auth = authOf(op);
      if (typeof auth === "string") continue;
      if (auth.kind === "public") {
        await probe(name, method, path, undefined, allowed, "without a credential");
      } else if (auth.kind === "admin") {
        await probe(name, method, path, undefined, (s) => s === 401, "without a credential");
        await probe(name, method, path, tenant.ownerKey, (s) => s === 401, "with a tenant key");
        await probe(name, method, path, ADMIN_TOKEN, allowed, "with the admin token");
      } else {
        await probe(name, method, path, undefined, (s) => s === 401, "without a credential");
        for (const role of ROLES) {
          const enough = ROLES.indexOf(role) >= ROLES.indexOf(auth.role);
          await probe(
            name,
            method,
            path,
            keys[role],
            enough ? allowed : (s) => s === 403,
            `with a ${role} key`,
          );
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

// ------------------------------------------------------------------ properties

describe("every property, parameter and header says what it is", () => {
  it("has a description, through properties, items, combinators, additionalProperties and $refs", () => {
    const walk = walkDocument();
    expect(walk.offenders).toEqual([]);
    // The walk saw the document: not a pass over nothing.
    expect(walk.properties).toBeGreaterThan(250);
    expect(walk.parameters).toBeGreaterThan(60);
    expect(walk.components).toEqual(new Set(Object.keys(doc.components.schemas)));
  });

  it("documents Idempotency-Key as a required header parameter with its rules", () => {
    const parameter = operation("post", "/v1/stores/{tenant}/orders").parameters?.find(
      (p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key",
    );
    expect(parameter).toMatchObject({
      required: true,
      schema: { type: "string", minLength: 8, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
    });
    const text = parameter?.description ?? "";
    for (const rule of ["8–255 printable ASCII", "same body", "first response", "different body"]) {
      expect(text).toContain(rule);
    }
    expect(text).toContain("422 `idempotency_mismatch`");
  });

  it("documents 500 payment_unavailable on order creation", () => {
    const response = operation("post", "/v1/stores/{tenant}/orders").responses["500"];
    expect(response?.description).toContain("payment_unavailable");
    expect(response?.content?.["application/json"]?.examples?.internal?.value).toEqual({
      error: {
        code: "internal",
        message: expect.any(String),
        details: { reason: "payment_unavailable", retryable: true },
        requestId: expect.any(String),
      },
    });
  });

  it("documents both webhooks with their signature headers", () => {
    const headers = (op: Operation) =>
      Object.fromEntries(
        (op.parameters ?? []).filter((p) => p.in === "header").map((p) => [p.name, p.required]),
      );
    expect(headers(operation("post", "/webhooks/stripe"))).toEqual({ "stripe-signature": true });
    expect(headers(operation("post", "/webhooks/pos/{provider}/{tenant}"))).toEqual({
      "toast-signature": false,
      "x-square-hmacsha256-signature": false,
      "x-clover-auth": false,
      "x-orderlane-timestamp": false,
      "x-orderlane-signature": false,
    });
  });
});

// ------------------------------------------------------------------ examples

describe("the examples", () => {
  it("exist for order creation, preview and both webhooks, requests and answers", () => {
    const orders = operation("post", "/v1/stores/{tenant}/orders");
    const preview = operation("post", "/v1/stores/{tenant}/orders/preview");
    const count = (media: Media) => examplesOf(media).length;
    expect(count(json(orders))).toBeGreaterThanOrEqual(2);
    expect(count(json(orders, "201"))).toBeGreaterThanOrEqual(1);
    expect(count(json(preview))).toBeGreaterThanOrEqual(1);
    expect(count(json(preview, "200"))).toBeGreaterThanOrEqual(1);
    expect(count(json(operation("post", "/webhooks/stripe")))).toBeGreaterThanOrEqual(1);
    expect(
      Object.keys(json(operation("post", "/webhooks/pos/{provider}/{tenant}")).examples ?? {}),
    ).toEqual(expect.arrayContaining(["webhook", "square", "toast", "clover"]));
  });

  it("every example in the document matches its schema", () => {
    const offenders: string[] = [];
    let checked = 0;
    const check = (value: unknown, schema: Schema | undefined, where: string) => {
      if (!schema) return;
      checked += 1;
      mismatches(value, schema, where, offenders);
    };
    for (const { name, op } of OPERATIONS) {
      for (const parameter of op.parameters ?? []) {
        const where = `${name} ${parameter.in} ${parameter.name} example`;
        if (parameter.example !== undefined) check(parameter.example, parameter.schema, where);
        if (parameter.schema?.example !== undefined) {
          check(parameter.schema.example, parameter.schema, where);
        }
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        for (const [key, value] of examplesOf(media)) {
          check(value, media.schema, `${name} request ${type} example ${key}`);
        }
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          for (const [key, value] of examplesOf(media)) {
            check(value, media.schema, `${name} ${status} ${type} example ${key}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  /**
   * A tenant whose menu is the one the preview example prices (item price = unit price − its
   * modifiers), and the example ids mapped to the ids it got.
   */
  async function exampleTenant(): Promise<{ tenant: TestTenant; ids: Map<string, string> }> {
    const priced = firstExample(
      json(operation("post", "/v1/stores/{tenant}/orders/preview"), "200"),
      "the preview answer",
    ) as {
      lines: {
        menuItemId: string;
        name: string;
        unitPrice: { amount: number };
        modifiers: { id: string; name: string; price: { amount: number } }[];
      }[];
      subtotal: { amount: number };
      discount: { amount: number };
    };
    const tenant = await createTenant({ taxRateBps: 875 });
    const ids = new Map<string, string>();
    for (const line of priced.lines) {
      if (ids.has(line.menuItemId)) continue;
      const modifiersTotal = line.modifiers.reduce((sum, m) => sum + m.price.amount, 0);
      const item = await createMenuItem(tenant, {
        name: line.name,
        price: line.unitPrice.amount - modifiersTotal,
        modifiers: line.modifiers.map((m) => ({ name: m.name, price: m.price.amount })),
      });
      ids.set(line.menuItemId, item.id);
      for (const [i, modifier] of line.modifiers.entries()) {
        ids.set(modifier.id, item.modifiers[i]?.id ?? "");
      }
    }
    const draft = firstExample(
      json(operation("post", "/v1/stores/{tenant}/orders")),
      "the order draft",
    ) as { discountCode?: string };
    if (draft.discountCode) {
      await callJson(
        `/v1/admin/${tenant.slug}/discounts`,
        {
          token: tenant.ownerKey,
          body: {
            code: draft.discountCode,
            kind: "percent",
            value: Math.round((priced.discount.amount / priced.subtotal.amount) * 100),
          },
        },
        201,
      );
    }
    return { tenant, ids };
  }

  it("the preview example, sent to a tenant with its menu, is priced as the document shows", async () => {
    const { tenant, ids } = await exampleTenant();
    const preview = operation("post", "/v1/stores/{tenant}/orders/preview");
    for (const [key, draft] of examplesOf(json(preview))) {
      const body = substitute(draft, ids);
      const res = await call(`/v1/stores/${tenant.slug}/orders/preview`, { body });
      expect(res.status, `preview example ${key}: ${await res.clone().text()}`).toBe(200);
    }
    const sent = substitute(firstExample(json(preview), "the preview request"), ids);
    const answer = await callJson(`/v1/stores/${tenant.slug}/orders/preview`, { body: sent }, 200);
    expect(answer).toEqual(
      substitute(firstExample(json(preview, "200"), "the preview answer"), ids),
    );
  });

  it("every order-creation example is accepted, and the first is answered as the document shows", async () => {
    const { tenant, ids } = await exampleTenant();
    const orders = operation("post", "/v1/stores/{tenant}/orders");
    const placed: Record<string, unknown>[] = [];
    for (const [key, draft] of examplesOf(json(orders))) {
      const res = await call(`/v1/stores/${tenant.slug}/orders`, {
        body: substitute(draft, ids),
        headers: { "idempotency-key": `openapi-example-${key}-${Date.now()}` },
      });
      const text = await res.text();
      expect(res.status, `order example ${key}: ${text}`).toBe(201);
      placed.push(JSON.parse(text) as Record<string, unknown>);
    }
    const shown = substitute(firstExample(json(orders, "201"), "the 201 answer"), ids) as {
      order: Record<string, unknown>;
      payment: { provider: string };
    };
    const first = placed[0] as {
      order: Record<string, unknown>;
      accessToken: string;
      payment: { provider: string; clientSecret: string };
    };
    const { id, number, tenant: slug, createdAt, updatedAt, ...rest } = shown.order;
    expect(first.order).toMatchObject(rest);
    expect(first.order.tenant).toBe(tenant.slug);
    expect(first.payment.provider).toBe(shown.payment.provider);
    expect(first.payment.clientSecret).toMatch(/^pi_\w+_secret_\w+$/);
    expect(first.accessToken).toMatch(/^[\w-]{43}$/);
    expect([id, number, slug, createdAt, updatedAt].every((v) => v !== undefined)).toBe(true);
  });

  it("the Stripe example, signed and about a real order, is applied", async () => {
    const tenant = await createTenant();
    const item = await createMenuItem(tenant, { name: "Soup", price: 900 });
    const order = await placeCardOrder(tenant, item.id);
    const event = firstExample(json(operation("post", "/webhooks/stripe")), "the Stripe event") as {
      id: string;
      data: { object: Record<string, unknown> };
    };
    event.id = `evt_openapi_${Date.now()}`;
    Object.assign(event.data.object, {
      id: order.intentId,
      amount: order.total,
      amount_received: order.total,
      metadata: { tenant_id: tenant.id, order_id: order.orderId },
    });
    const res = await sendStripeWebhook(JSON.stringify(event));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, applied: true });
    const { order: after } = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${tenant.slug}/orders/${order.orderId}`,
      { token: tenant.ownerKey },
      200,
    );
    expect(after).toMatchObject({ status: "confirmed", paymentStatus: "paid" });
  });

  it("the webhook-provider example, signed and about a real order, is applied", async () => {
    const tenant = await createTenant();
    const secret = "openapi-webhook-secret-0123";
    await callJson(
      `/v1/admin/${tenant.slug}/pos/connect`,
      {
        token: tenant.ownerKey,
        body: {
          provider: "webhook",
          locationId: "openapi-example",
          credentials: {
            url: `${env.POS_DOUBLE_URL}/webhook/orders`,
            secret: "outgoing-secret-0123456789",
          },
          webhookSecret: secret,
          // Off: no submission runs in the background of this test.
          settings: { autoSync: false },
        },
      },
      200,
    );
    const item = await createMenuItem(tenant, { name: "Soup", price: 900 });
    const { order } = await callJson<{ order: { id: string } }>(
      `/v1/stores/${tenant.slug}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: item.id, quantity: 1 }],
          customer: { name: "Ada" },
        },
        headers: { "idempotency-key": `openapi-pos-${Date.now()}` },
      },
      201,
    );
    await callJson(
      `/v1/admin/${tenant.slug}/orders/${order.id}/mark-paid`,
      { method: "POST", token: tenant.ownerKey },
      200,
    );
    const example = json(operation("post", "/webhooks/pos/{provider}/{tenant}")).examples?.webhook
      ?.value as Record<string, unknown>;
    const rawBody = JSON.stringify({ ...example, orderId: order.id, eventId: `evt-${Date.now()}` });
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await call(`/webhooks/pos/webhook/${tenant.slug}`, {
      rawBody,
      headers: {
        "x-orderlane-timestamp": String(timestamp),
        "x-orderlane-signature": await signOrderlanePayload(secret, timestamp, rawBody),
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, events: 1, applied: 1 });
    const { order: after } = await callJson<{ order: { status: string } }>(
      `/v1/admin/${tenant.slug}/orders/${order.id}`,
      { token: tenant.ownerKey },
      200,
    );
    expect(after.status).toBe(example.status);
  });

  it("the vendors' examples are events their adapters read", () => {
    const examples = json(operation("post", "/webhooks/pos/{provider}/{tenant}")).examples ?? {};
    const expected: Record<string, Record<string, unknown>> = {
      toast: { status: "ready" },
      clover: { status: "cancelled" },
      square: { posOrderId: "Cpp0nVuK0Ri5BNHRsGk7gRmk1CJZY" },
    };
    for (const [provider, fields] of Object.entries(expected)) {
      const example = examples[provider];
      expect(example, provider).toBeDefined();
      const reports = getPosAdapter(provider as "toast" | "clover" | "square").parseWebhook({
        headers: {},
        rawBody: JSON.stringify(example?.value),
        url: `http://orderlane.test/webhooks/pos/${provider}/demo-bistro`,
      });
      expect(reports, provider).toHaveLength(1);
      expect(reports[0], provider).toMatchObject(fields);
    }
  });
});
