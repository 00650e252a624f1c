import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createMenuItem,
  createTenant,
  expectError,
  tableCounts,
  uniqueSlug,
} from "../helpers";

describe("bad input never reaches the handlers", () => {
  it("malformed JSON is 400 malformed_json and writes nothing", async () => {
    const t = await createTenant();
    const before = await tableCounts();
    for (const rawBody of ['{"orderType": "pickup",', "not json", "{'single': 1}"]) {
      await expectError(
        await call(`/v1/stores/${t.slug}/orders`, {
          rawBody,
          headers: { "idempotency-key": "malformed-0001" },
        }),
        400,
        "malformed_json",
      );
    }
    await expectError(
      await call("/v1/platform/tenants", { token: ADMIN_TOKEN, rawBody: "{" }),
      400,
      "malformed_json",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("a JSON body that is not an object is 400 validation_failed", async () => {
    const t = await createTenant();
    for (const rawBody of ["[]", "42", "null", '"text"']) {
      await expectError(
        await call(`/v1/stores/${t.slug}/orders/preview`, { rawBody }),
        400,
        "validation_failed",
      );
    }
  });

  it("a body that is not JSON is refused by content type", async () => {
    const t = await createTenant();
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, {
        token: t.ownerKey,
        rawBody: "name=Soup&price=500",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      400,
      "validation_failed",
    );
    expect(error.message).toContain("application/json");
    expect(await tableCounts()).toEqual(before);
  });

  it("a JSON body without a Content-Type, or with a malformed one, is 400 validation_failed", async () => {
    const t = await createTenant();
    const body = new TextEncoder().encode(JSON.stringify({ role: "terminal", label: "x" }));
    const before = await tableCounts();
    for (const contentType of [null, "application/json;", "application/json; charset"]) {
      const headers = new Headers({ authorization: `Bearer ${t.ownerKey}` });
      if (contentType) headers.set("content-type", contentType);
      const res = await exports.default.fetch(
        new Request(`http://orderlane.test/v1/admin/${t.slug}/keys`, {
          method: "POST",
          headers,
          body,
        }),
      );
      expect(res.status, `content-type ${contentType}`).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          code: "validation_failed",
          message: "Content-Type must be application/json",
          requestId: res.headers.get("x-request-id"),
        },
      });
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("a body over 64 KiB is 413 payload_too_large and writes nothing", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 500 });
    const before = await tableCounts();
    const body = {
      orderType: "pickup",
      items: [{ menuItemId: item.id, quantity: 1 }],
      customer: { name: "Big" },
      specialInstructions: "x".repeat(70 * 1024),
    };
    await expectError(
      await call(`/v1/stores/${t.slug}/orders`, {
        body,
        headers: { "idempotency-key": "too-big-00001" },
      }),
      413,
      "payload_too_large",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("a body just under 64 KiB is judged on its content, not its size", async () => {
    const t = await createTenant();
    const res = await call(`/v1/stores/${t.slug}/orders/preview`, {
      body: { orderType: "pickup", items: [], customer: { name: "x".repeat(60 * 1024) } },
    });
    await expectError(res, 400, "validation_failed");
  });

  it("wrong types are 400 with every issue listed", async () => {
    const res = await call("/v1/platform/tenants", {
      token: ADMIN_TOKEN,
      body: { slug: 42, name: [], currency: "USD", timezone: "UTC", taxRateBps: "0" },
    });
    const error = await expectError(res, 400, "validation_failed");
    const details = error.details as { in: string; issues: { path: string }[] };
    expect(details.in).toBe("json");
    expect([...new Set(details.issues.map((i) => i.path))].sort()).toEqual([
      "name",
      "slug",
      "taxRateBps",
    ]);
  });

  it("an unknown tenant on storefront routes is 404", async () => {
    await expectError(await call("/v1/stores/ghost-kitchen/menu"), 404, "not_found");
    await expectError(
      await call("/v1/stores/ghost-kitchen/orders", {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: "x", quantity: 1 }],
          customer: { name: "A" },
        },
        headers: { "idempotency-key": "ghost-000001" },
      }),
      404,
      "not_found",
    );
  });

  it("a GET with a Transfer-Encoding header is answered, not 500", async () => {
    const t = await createTenant();
    for (const value of ["chunked", "!"]) {
      const res = await exports.default.fetch(
        new Request(`http://orderlane.test/v1/stores/${t.slug}/menu`, {
          headers: { "transfer-encoding": value },
        }),
      );
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toMatchObject({ tenant: { slug: t.slug }, items: [] });
    }
  });

  it("an unknown route is 404 in the envelope", async () => {
    await expectError(await call("/v1/nothing-here"), 404, "not_found");
  });

  it("a bad path parameter is a 4xx, not 500", async () => {
    await expectError(
      await call(`/v1/platform/tenants/${"x".repeat(100)}`, { token: ADMIN_TOKEN }),
      400,
      "validation_failed",
    );
    // A slug that cannot exist is simply an unknown tenant.
    await expectError(await call("/v1/stores/BAD_SLUG!/menu"), 404, "not_found");
  });
});

describe("OpenAPI", () => {
  it("GET /openapi.json is generated from the routes' zod schemas", async () => {
    const doc = await callJson<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>
      >;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
        securitySchemes: Record<string, unknown>;
      };
    }>("/openapi.json", {}, 200);
    expect(doc.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.paths);
    for (const path of [
      "/v1/platform/tenants",
      "/v1/platform/tenants/{tenant}",
      "/v1/stores/{tenant}/menu",
      "/v1/stores/{tenant}/orders",
      "/v1/stores/{tenant}/orders/preview",
      "/v1/stores/{tenant}/orders/{id}",
      "/v1/stores/{tenant}/discounts/{code}",
      "/v1/admin/{tenant}/menu/items",
      "/v1/admin/{tenant}/menu/items/{id}",
      "/v1/admin/{tenant}/discounts",
      "/v1/admin/{tenant}/orders",
      "/v1/admin/{tenant}/orders/{id}",
      "/v1/admin/{tenant}/orders/{id}/status",
      "/v1/admin/{tenant}/keys",
      "/v1/admin/{tenant}/keys/{id}",
    ]) {
      expect(paths).toContain(path);
    }
    expect(Object.keys(doc.paths["/v1/stores/{tenant}/orders"]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["201", "400", "404", "422"]),
    );
    const order = doc.components.schemas.Order;
    expect(Object.keys(order?.properties ?? {})).toEqual(
      expect.arrayContaining([
        "id",
        "number",
        "status",
        "paymentStatus",
        "posStatus",
        "items",
        "total",
        "externalId",
      ]),
    );
    expect(doc.components.schemas.OrderDraft?.required).toEqual(
      expect.arrayContaining(["orderType", "items", "customer"]),
    );
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("the reference page (/docs/) is served from this Worker's static assets, nothing from another host", async () => {
    // The assets answer before the Worker runs (wrangler.toml [assets]); `/docs` itself is sent
    // on to `/docs/` by their routing, which the browser test (test/browser/docs.test.ts) goes
    // through while it renders the page with the network blocked.
    const page = await env.ASSETS.fetch("http://orderlane.test/docs/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('src="./swagger-ui-bundle.js"');
    expect(html).toContain('src="./init.js"');
    // Nothing from another host.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const init = await (await env.ASSETS.fetch("http://orderlane.test/docs/init.js")).text();
    expect(init).toContain("SwaggerUIBundle(");
    expect(init).toContain('url: "/openapi.json"');
  });
});

describe("tenants are created with a usable slug only once", () => {
  it("two concurrent creations of one slug: one 201, one 409", async () => {
    const slug = uniqueSlug("race");
    const body = { slug, name: "Race", currency: "USD", timezone: "UTC", taxRateBps: 0 };
    const [a, b] = await Promise.all([
      call("/v1/platform/tenants", { token: ADMIN_TOKEN, body }),
      call("/v1/platform/tenants", { token: ADMIN_TOKEN, body }),
    ]);
    expect([a?.status, b?.status].sort()).toEqual([201, 409]);
  });
});
