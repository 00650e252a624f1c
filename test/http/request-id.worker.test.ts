import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  ADMIN_TOKEN,
  call,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
} from "../helpers";

// Every answer carries its request id in `x-request-id`; every error body carries the same id as
// `error.requestId` (`expectError` checks that they match); log lines written while the request
// is handled carry it too.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RAY = "8f1a2b3c4d5e6f70-SJC";

/** The JSON lines `method` writes while `run` runs. */
async function linesOf(
  method: "log" | "error",
  run: () => Promise<void>,
): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(console, method).mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.startsWith("{")) lines.push(JSON.parse(line));
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("every error kind carries the request id in body and header", () => {
  it("404 from an unknown route (app.notFound)", async () => {
    await expectError(await call("/v1/nothing-here"), 404, "not_found");
  });

  it("404 from an unknown tenant", async () => {
    await expectError(await call("/v1/stores/ghost-kitchen/menu"), 404, "not_found");
  });

  it("400 validation_failed, from the zod hook and from the JSON-only rule", async () => {
    const error = await expectError(
      await call(`/v1/platform/tenants/${"x".repeat(100)}`, { token: ADMIN_TOKEN }),
      400,
      "validation_failed",
    );
    expect(error.details).toMatchObject({ in: "param" });
    await expectError(
      await call("/v1/platform/tenants", {
        token: ADMIN_TOKEN,
        rawBody: "slug=a",
        headers: { "content-type": "text/plain" },
      }),
      400,
      "validation_failed",
    );
  });

  it("400 malformed_json", async () => {
    await expectError(
      await call("/v1/platform/tenants", { token: ADMIN_TOKEN, rawBody: "{" }),
      400,
      "malformed_json",
    );
  });

  it("401 and 403", async () => {
    const t = await createTenant();
    const other = await createTenant();
    await expectError(await call(`/v1/admin/${t.slug}/orders`), 401, "unauthorized");
    await expectError(
      await call(`/v1/admin/${t.slug}/orders`, { token: other.ownerKey }),
      403,
      "forbidden",
    );
  });

  it("413 from the body limit", async () => {
    await expectError(
      await call("/v1/platform/tenants", {
        token: ADMIN_TOKEN,
        body: { name: "x".repeat(70 * 1024) },
      }),
      413,
      "payload_too_large",
    );
  });

  it("429 from a rate limit, beside its Retry-After", async () => {
    const t = await createTenant();
    const key = await createKey(t, "terminal");
    const limit = Number(env.TICKETS_PER_KEY_PER_MINUTE);
    const ticket = () =>
      call(`/v1/pos/${t.slug}/terminals/ticket`, {
        token: key,
        body: {},
        headers: { "cf-connecting-ip": "10.250.0.1" },
      });
    for (let i = 0; i < limit; i++) expect((await ticket()).status).toBe(201);
    const refused = await ticket();
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    const error = await expectError(refused, 429, "rate_limited");
    expect(error.details).toEqual({ retryAfter: Number(refused.headers.get("retry-after")) });
  });

  it("500 internal: the log line has the id the answer gives, also kept in details.requestId", async () => {
    const t = await createTenant();
    // A stored value drizzle cannot read back: an unexpected failure, not an ApiError.
    await env.DB.prepare("UPDATE tenants SET allowed_origins = 'not json' WHERE slug = ?")
      .bind(t.slug)
      .run();
    let error: Awaited<ReturnType<typeof expectError>> | undefined;
    const lines = await linesOf("error", async () => {
      error = await expectError(await call(`/v1/stores/${t.slug}/menu`), 500, "internal");
    });
    expect(error?.message).toBe("internal error");
    expect(error?.details).toEqual({ requestId: error?.requestId });
    expect(lines).toEqual([
      expect.objectContaining({
        level: "error",
        msg: "unhandled error",
        path: `/v1/stores/${t.slug}/menu`,
        requestId: error?.requestId,
      }),
    ]);
  });

  it("500 from a service: the line the service logs has the answer's id", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soda", price: 300 });
    // Both attempts stripe-node makes fail, for this tenant's intents only.
    const faults = await fetch(`${env.STRIPE_API_BASE}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        [1, 2].map(() => ({
          path: "/v1/payment_intents",
          method: "POST",
          status: 503,
          form: { "metadata[tenant_id]": t.id },
        })),
      ),
    });
    expect(faults.status).toBe(204);
    let error: Awaited<ReturnType<typeof expectError>> | undefined;
    const lines = await linesOf("error", async () => {
      const res = await call(`/v1/stores/${t.slug}/orders`, {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: item.id, quantity: 1 }],
          customer: { name: "Ada", phone: "+1 555 0100" },
        },
        headers: { "idempotency-key": "request-id-processor-down" },
      });
      error = await expectError(res, 500, "internal");
    });
    expect(error?.details).toEqual({ reason: "payment_unavailable", retryable: true });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "payment processor unavailable while placing an order",
        tenantId: t.id,
        requestId: error?.requestId,
      }),
    ]);
  });
});

describe("where the id comes from", () => {
  it("Cloudflare's cf-ray header is the id", async () => {
    const error = await expectError(
      await call("/v1/nothing-here", { headers: { "cf-ray": RAY } }),
      404,
      "not_found",
    );
    expect(error.requestId).toBe(RAY);
    const ok = await call("/openapi.json", { headers: { "cf-ray": RAY } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe(RAY);
  });

  it("a cf-ray that is not a Ray ID is not used", async () => {
    for (const ray of ["a b", "x".repeat(65), "<script>"]) {
      const res = await call("/openapi.json", { headers: { "cf-ray": ray } });
      expect(res.headers.get("x-request-id")).toMatch(UUID);
    }
  });

  it("without cf-ray, each request gets a fresh random id", async () => {
    const [a, b] = await Promise.all([call("/v1/nothing-here"), call("/v1/nothing-here")]);
    const ids = [a?.headers.get("x-request-id"), b?.headers.get("x-request-id")];
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe("success answers carry the header too", () => {
  it("a JSON answer, a created object and a CORS preflight", async () => {
    const t = await createTenant();
    const menu = await call(`/v1/stores/${t.slug}/menu`, { headers: { "cf-ray": RAY } });
    expect(menu.status).toBe(200);
    expect(menu.headers.get("x-request-id")).toBe(RAY);

    const key = await call(`/v1/admin/${t.slug}/keys`, {
      token: t.ownerKey,
      body: { role: "staff", label: "till" },
    });
    expect(key.status).toBe(201);
    expect(key.headers.get("x-request-id")).toMatch(UUID);

    const preflight = await call(`/v1/stores/${t.slug}/orders`, {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example",
        "access-control-request-method": "POST",
        "cf-ray": RAY,
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("x-request-id")).toBe(RAY);
  });
});

describe("the access log line", () => {
  it("carries the request id of the answer it logs", async () => {
    // The Worker tests run with ACCESS_LOG=off; this one request turns it on.
    const ctx = createExecutionContext();
    let res: Response | undefined;
    const lines = await linesOf("log", async () => {
      res = await worker.fetch(
        new Request("http://orderlane.test/v1/nothing-here", { headers: { "cf-ray": RAY } }),
        { ...env, ACCESS_LOG: "all" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
    });
    expect(res?.status).toBe(404);
    expect(res?.headers.get("x-request-id")).toBe(RAY);
    expect(lines).toEqual([
      expect.objectContaining({ msg: "request", status: 404, requestId: RAY }),
    ]);
  });
});
