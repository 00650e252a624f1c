import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createTenant,
  expectError,
  tableCounts,
  uniqueSlug,
} from "../helpers";

const validTenant = (slug: string) => ({
  slug,
  name: "Casa Test",
  currency: "EUR",
  timezone: "Europe/Madrid",
  taxRateBps: 1000,
});

describe("platform tenants: happy path", () => {
  it("creates a tenant, returns its owner key once and stores only its hash", async () => {
    const slug = uniqueSlug("casa");
    const body = await callJson<{
      tenant: Record<string, unknown>;
      ownerKey: string;
    }>("/v1/platform/tenants", { token: ADMIN_TOKEN, body: validTenant(slug) }, 201);
    expect(body.tenant).toMatchObject({
      slug,
      name: "Casa Test",
      currency: "EUR",
      timezone: "Europe/Madrid",
      taxRateBps: 1000,
    });
    expect(body.ownerKey).toMatch(/^olk_[0-9A-Za-z]{40}$/);

    const stored = await env.DB.prepare(
      "SELECT key_hash, role, prefix FROM api_keys WHERE tenant_id = ?",
    )
      .bind(body.tenant.id)
      .all<{ key_hash: string; role: string; prefix: string }>();
    expect(stored.results).toHaveLength(1);
    const [row] = stored.results;
    expect(row?.role).toBe("owner");
    expect(row?.key_hash).not.toContain(body.ownerKey);
    expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.prefix).toBe(body.ownerKey.slice(0, 10));

    const read = await callJson<{ tenant: Record<string, unknown> }>(
      `/v1/platform/tenants/${slug}`,
      { token: ADMIN_TOKEN },
      200,
    );
    expect(read.tenant).toEqual(body.tenant);
    expect(JSON.stringify(read)).not.toContain(body.ownerKey);
  });

  it("the owner key works on the tenant's own routes", async () => {
    const t = await createTenant();
    const keys = await callJson<{ items: { role: string }[] }>(
      `/v1/admin/${t.slug}/keys`,
      { token: t.ownerKey },
      200,
    );
    expect(keys.items.map((k) => k.role)).toEqual(["owner"]);
  });
});

describe("platform tenants: errors", () => {
  it("a taken slug is 409 and writes nothing", async () => {
    const t = await createTenant();
    const before = await tableCounts();
    const res = await call("/v1/platform/tenants", {
      token: ADMIN_TOKEN,
      body: validTenant(t.slug),
    });
    await expectError(res, 409, "conflict");
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ["slug with upper case", { slug: "Bad-Slug" }, "slug"],
    ["unknown currency", { currency: "XYZ" }, "currency"],
    ["lower-case currency", { currency: "eur" }, "currency"],
    ["unknown time zone", { timezone: "Mars/Olympus" }, "timezone"],
    ["negative tax", { taxRateBps: -1 }, "taxRateBps"],
    ["fractional tax", { taxRateBps: 8.5 }, "taxRateBps"],
    ["tax as string", { taxRateBps: "875" }, "taxRateBps"],
    ["unknown field", { plan: "gold" }, ""],
  ])("%s is 400 validation_failed naming the field", async (_name, patch, field) => {
    const before = await tableCounts();
    const res = await call("/v1/platform/tenants", {
      token: ADMIN_TOKEN,
      body: { ...validTenant(uniqueSlug()), ...patch },
    });
    const error = await expectError(res, 400, "validation_failed");
    const details = error.details as { issues: { path: string; message: string }[] };
    if (field) expect(details.issues.map((i) => i.path)).toContain(field);
    else expect(error.message).toMatch(/plan/);
    expect(await tableCounts()).toEqual(before);
  });

  it("an unknown tenant is 404", async () => {
    await expectError(
      await call("/v1/platform/tenants/no-such-tenant", { token: ADMIN_TOKEN }),
      404,
      "not_found",
    );
  });
});

describe("platform tenants: security", () => {
  it("without a token is 401", async () => {
    await expectError(
      await call("/v1/platform/tenants", { body: validTenant(uniqueSlug()) }),
      401,
      "unauthorized",
    );
  });

  it("with a wrong admin token is 401", async () => {
    await expectError(
      await call("/v1/platform/tenants/x", { token: `${ADMIN_TOKEN}x` }),
      401,
      "unauthorized",
    );
  });

  it("a tenant owner key is not the admin token", async () => {
    const t = await createTenant();
    await expectError(
      await call(`/v1/platform/tenants/${t.slug}`, { token: t.ownerKey }),
      401,
      "unauthorized",
    );
  });

  it("the admin token never appears in an answer", async () => {
    const res = await call("/v1/platform/tenants", {
      token: ADMIN_TOKEN,
      body: validTenant(uniqueSlug()),
    });
    expect(await res.text()).not.toContain(env.ADMIN_TOKEN);
  });
});
