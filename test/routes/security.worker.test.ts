import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  keyIdOf,
  tableCounts,
} from "../helpers";

interface OpenApiDoc {
  paths: Record<string, Record<string, { security?: { bearer?: string[] }[] }>>;
}

/**
 * Every authenticated tenant route, read from the generated OpenAPI document, with the least
 * role its `security` names.
 */
async function tenantRoutes(): Promise<{ method: string; path: string; role?: string }[]> {
  const doc = await callJson<OpenApiDoc>("/openapi.json", {}, 200);
  const out: { method: string; path: string; role?: string }[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.includes("{tenant}") || /^\/v1\/(stores|platform)\//.test(path)) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (op.security?.length) {
        out.push({ method: method.toUpperCase(), path, role: op.security[0]?.bearer?.[0] });
      }
    }
  }
  return out;
}

/** The roles below each role (owner ⊃ staff ⊃ terminal). */
const ROLES_BELOW: Record<string, ("staff" | "terminal")[]> = {
  owner: ["staff", "terminal"],
  staff: ["terminal"],
  terminal: [],
};

function fill(path: string, tenant: string): string {
  return path.replace("{tenant}", tenant).replace(/\{[^}]+\}/g, "some-id");
}

describe("tenant isolation", () => {
  it("covers every authenticated tenant route in the OpenAPI document", async () => {
    const routes = await tenantRoutes();
    // The admin surface of this issue; later routes join automatically.
    expect(routes.length).toBeGreaterThanOrEqual(12);
    expect(routes).toContainEqual({
      method: "POST",
      path: "/v1/admin/{tenant}/orders/{id}/status",
      role: "staff",
    });
    for (const route of routes) {
      expect(Object.keys(ROLES_BELOW), `${route.method} ${route.path}`).toContain(route.role);
    }
  });

  it("a key of a role below the one a route documents is 403 on it and writes nothing", async () => {
    const t = await createTenant();
    const keys = { staff: await createKey(t, "staff"), terminal: await createKey(t, "terminal") };
    const before = await tableCounts();
    let tried = 0;
    for (const { method, path, role } of await tenantRoutes()) {
      for (const below of ROLES_BELOW[role ?? ""] ?? []) {
        const res = await call(fill(path, t.slug), {
          method,
          token: keys[below],
          ...(["POST", "PATCH", "PUT"].includes(method) ? { body: {} } : {}),
        });
        expect(res.status, `${method} ${path} with a ${below} key`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
        tried++;
      }
    }
    // Owner-only and staff routes both exist, so the walk tried something of each.
    expect(tried).toBeGreaterThanOrEqual(20);
    expect(await tableCounts()).toEqual(before);
  });

  it("a key of tenant A on every tenant-B route is 403 and writes nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const aKeys = [a.ownerKey, await createKey(a, "staff"), await createKey(a, "terminal")];
    const before = await tableCounts();
    for (const { method, path } of await tenantRoutes()) {
      for (const key of aKeys) {
        const res = await call(fill(path, b.slug), {
          method,
          token: key,
          ...(["POST", "PATCH", "PUT"].includes(method) ? { body: {} } : {}),
        });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
      }
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("every authenticated tenant route without a key, or with a bad or revoked key, is 401", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const staffId = (
      await callJson<{ items: { id: string; role: string }[] }>(
        `/v1/admin/${t.slug}/keys`,
        { token: t.ownerKey },
        200,
      )
    ).items.find((k) => k.role === "staff")?.id;
    expect(
      (await call(`/v1/admin/${t.slug}/keys/${staffId}`, { method: "DELETE", token: t.ownerKey }))
        .status,
    ).toBe(204);
    // Each route's refusals come from an address of their own: the per-address limit on refused
    // credentials (RL_REFUSED_CREDENTIAL, tested on its own) is not what this walk is about.
    for (const [index, { method, path }] of (await tenantRoutes()).entries()) {
      const address = `198.51.100.${(index % 250) + 1}`;
      for (const token of [undefined, "olk_not-a-real-key", staff, ADMIN_TOKEN]) {
        const res = await call(fill(path, t.slug), {
          method,
          token,
          headers: { "cf-connecting-ip": address },
        });
        expect(res.status, `${method} ${path} with ${token ? "a bad key" : "no key"}`).toBe(401);
      }
    }
  });

  it("a valid key on an unknown tenant is 404", async () => {
    const t = await createTenant();
    await expectError(
      await call("/v1/admin/no-such-tenant/orders", { token: t.ownerKey }),
      404,
      "not_found",
    );
  });

  it("an order of tenant A cannot be read or changed through tenant B", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const item = await callJson<{ item: { id: string } }>(
      `/v1/admin/${a.slug}/menu/items`,
      { token: a.ownerKey, body: { name: "X", price: { amount: 100, currency: "USD" } } },
      201,
    );
    const created = await callJson<{ order: { id: string } }>(
      `/v1/stores/${a.slug}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: item.item.id, quantity: 1 }],
          customer: { name: "A" },
        },
        headers: { "idempotency-key": "isolation-0001" },
      },
      201,
    );
    await expectError(
      await call(`/v1/admin/${b.slug}/orders/${created.order.id}`, { token: b.ownerKey }),
      404,
      "not_found",
    );
    await expectError(
      await call(`/v1/admin/${b.slug}/orders/${created.order.id}/status`, {
        token: b.ownerKey,
        body: { status: "cancelled" },
      }),
      404,
      "not_found",
    );
    await expectError(
      await call(`/v1/admin/${b.slug}/menu/items/${item.item.id}`, {
        method: "DELETE",
        token: b.ownerKey,
      }),
      404,
      "not_found",
    );
  });
});

describe("a key this isolate remembers (mark-paid checks it in its own read)", () => {
  async function unpaidOrder(t: Awaited<ReturnType<typeof createTenant>>) {
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    const placed = await callJson<{ order: { id: string } }>(
      `/v1/stores/${t.slug}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: item.id, quantity: 1 }],
          customer: { name: "A" },
        },
        headers: { "idempotency-key": `remembered-${crypto.randomUUID()}` },
      },
      201,
    );
    return placed.order.id;
  }
  const markPaid = (slug: string, id: string, token: string) =>
    call(`/v1/admin/${slug}/orders/${id}/mark-paid`, { token, body: {} });

  it("once revoked, is 401 and the order stays unpaid", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const [warmUp, target] = [await unpaidOrder(t), await unpaidOrder(t)];
    expect((await markPaid(t.slug, warmUp, staff)).status).toBe(200);
    const staffId = await keyIdOf(t, staff);
    expect(
      (await call(`/v1/admin/${t.slug}/keys/${staffId}`, { method: "DELETE", token: t.ownerKey }))
        .status,
    ).toBe(204);
    await expectError(await markPaid(t.slug, target, staff), 401, "unauthorized");
    expect(
      (
        await callJson<{ order: { paymentStatus: string } }>(
          `/v1/admin/${t.slug}/orders/${target}`,
          { token: t.ownerKey },
          200,
        )
      ).order.paymentStatus,
    ).toBe("unpaid");
  });

  it("is 403 under another tenant, and for a role below staff", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const staffA = await createKey(a, "staff");
    const terminalB = await createKey(b, "terminal");
    expect((await markPaid(a.slug, await unpaidOrder(a), staffA)).status).toBe(200);
    // B's terminal key is remembered too: it opened a ticket (any role may).
    expect(
      (await call(`/v1/pos/${b.slug}/terminals/ticket`, { token: terminalB, body: {} })).status,
    ).toBe(201);
    const orderB = await unpaidOrder(b);
    await expectError(await markPaid(b.slug, orderB, staffA), 403, "forbidden");
    await expectError(await markPaid(b.slug, orderB, terminalB), 403, "forbidden");
  });

  it("once its tenant is deleted, is refused as the plain key check refuses it", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const [warmUp, target] = [await unpaidOrder(t), await unpaidOrder(t)];
    expect((await markPaid(t.slug, warmUp, staff)).status).toBe(200);
    expect(
      (await call(`/v1/platform/tenants/${t.slug}`, { method: "DELETE", token: ADMIN_TOKEN }))
        .status,
    ).toBeLessThan(300);
    // Deleting a tenant revokes its keys: 401 on every route, this one included.
    await expectError(
      await call(`/v1/admin/${t.slug}/orders/${target}`, { token: staff }),
      401,
      "unauthorized",
    );
    await expectError(await markPaid(t.slug, target, staff), 401, "unauthorized");
  });

  it("an unknown order is 404", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    expect((await markPaid(t.slug, await unpaidOrder(t), staff)).status).toBe(200);
    await expectError(await markPaid(t.slug, "ord_nope", staff), 404, "not_found");
  });
});

describe("api keys", () => {
  it("owner creates keys shown once, lists them without secrets, and revokes them", async () => {
    const t = await createTenant();
    const created = await callJson<{
      key: string;
      apiKey: { id: string; role: string; label: string; prefix: string };
    }>(
      `/v1/admin/${t.slug}/keys`,
      { token: t.ownerKey, body: { role: "terminal", label: "Kitchen screen" } },
      201,
    );
    expect(created.key).toMatch(/^olk_/);
    expect(created.apiKey).toMatchObject({
      role: "terminal",
      label: "Kitchen screen",
      prefix: created.key.slice(0, 10),
    });
    const list = await call(`/v1/admin/${t.slug}/keys`, { token: t.ownerKey });
    const text = await list.text();
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(t.ownerKey);
    expect((JSON.parse(text) as { items: { id: string }[] }).items.map((k) => k.id)).toContain(
      created.apiKey.id,
    );

    expect(
      (
        await call(`/v1/admin/${t.slug}/keys/${created.apiKey.id}`, {
          method: "DELETE",
          token: t.ownerKey,
        })
      ).status,
    ).toBe(204);
    const revoked = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE id = ?")
      .bind(created.apiKey.id)
      .first<{ revoked_at: string | null }>();
    expect(revoked?.revoked_at).not.toBeNull();
    await expectError(
      await call(`/v1/admin/${t.slug}/keys/${created.apiKey.id}`, {
        method: "DELETE",
        token: t.ownerKey,
      }),
      404,
      "not_found",
    );
  });

  it("the last owner key cannot be revoked", async () => {
    const t = await createTenant();
    const keys = await callJson<{ items: { id: string }[] }>(
      `/v1/admin/${t.slug}/keys`,
      { token: t.ownerKey },
      200,
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/keys/${keys.items[0]?.id}`, {
        method: "DELETE",
        token: t.ownerKey,
      }),
      409,
      "conflict",
    );
  });

  it("staff cannot manage keys", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    await expectError(await call(`/v1/admin/${t.slug}/keys`, { token: staff }), 403, "forbidden");
    await expectError(
      await call(`/v1/admin/${t.slug}/keys`, {
        token: staff,
        body: { role: "owner", label: "escalate" },
      }),
      403,
      "forbidden",
    );
  });

  it("an unknown role is 400", async () => {
    const t = await createTenant();
    await expectError(
      await call(`/v1/admin/${t.slug}/keys`, {
        token: t.ownerKey,
        body: { role: "admin", label: "x" },
      }),
      400,
      "validation_failed",
    );
  });
});
