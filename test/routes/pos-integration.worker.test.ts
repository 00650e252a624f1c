import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  tableCounts,
} from "../helpers";

const toastBody = {
  provider: "toast",
  locationId: "8f3a0c8e-0000-4000-8000-000000000001",
  credentials: {
    clientId: "toast-client",
    clientSecret: "toast-very-secret-value",
    diningOptionPickup: "do-pickup",
  },
  webhookSecret: "toast-webhook-secret",
  settings: { failurePolicy: "auto_refund", maxAttempts: 4 },
};

describe("POS integration settings", () => {
  it("connects with sealed credentials and reads back without any secret", async () => {
    const t = await createTenant();
    const connected = await call(`/v1/admin/${t.slug}/pos/connect`, {
      token: t.ownerKey,
      body: toastBody,
    });
    const text = await connected.text();
    expect(connected.status).toBe(200);
    for (const secret of ["toast-very-secret-value", "toast-webhook-secret", "toast-client"])
      expect(text).not.toContain(secret);
    expect(JSON.parse(text).integration).toMatchObject({
      provider: "toast",
      locationId: toastBody.locationId,
      status: "connected",
      hasWebhookSecret: true,
      settings: {
        autoSync: true,
        syncCustomerInfo: true,
        failurePolicy: "auto_refund",
        captureMode: "immediate",
        maxAttempts: 4,
      },
      health: { state: "healthy", consecutiveFailures: 0, degradedAt: null },
    });
    const staff = await createKey(t, "staff");
    const read = await call(`/v1/admin/${t.slug}/pos/integration`, { token: staff });
    const readText = await read.text();
    expect(read.status).toBe(200);
    expect(readText).not.toContain("toast-very-secret-value");
    const stored = await env.DB.prepare("SELECT * FROM pos_integrations WHERE tenant_id = ?")
      .bind(t.id)
      .first();
    const storedText = JSON.stringify(stored);
    for (const secret of ["toast-very-secret-value", "toast-webhook-secret", "toast-client"])
      expect(storedText).not.toContain(secret);
  });

  it("reads null before any connection; disconnect keeps the row and stops syncing", async () => {
    const t = await createTenant();
    expect(
      await callJson(`/v1/admin/${t.slug}/pos/integration`, { token: t.ownerKey }, 200),
    ).toEqual({ integration: null });
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/disconnect`, { token: t.ownerKey, body: {} }),
      404,
      "not_found",
    );
    await callJson(`/v1/admin/${t.slug}/pos/connect`, { token: t.ownerKey, body: toastBody }, 200);
    const off = await callJson<{
      integration: { status: string; health: { state: string }; disconnectedAt: string | null };
    }>(`/v1/admin/${t.slug}/pos/disconnect`, { token: t.ownerKey, body: {} }, 200);
    expect(off.integration.status).toBe("disconnected");
    expect(off.integration.health.state).toBe("disconnected");
    expect(off.integration.disconnectedAt).not.toBeNull();
  });

  it.each([
    ["unknown provider", { ...toastBody, provider: "lightspeed" }, "provider"],
    [
      "missing credential",
      { ...toastBody, credentials: { clientId: "x" } },
      "credentials.clientSecret",
    ],
    [
      "credential of another provider",
      { ...toastBody, credentials: { ...toastBody.credentials, accessToken: "x" } },
      "credentials",
    ],
    [
      "webhook url not http",
      {
        provider: "webhook",
        locationId: "till-1",
        credentials: { url: "ftp://x", secret: "0123456789abcdef" },
      },
      "credentials.url",
    ],
    ["maxAttempts 0", { ...toastBody, settings: { maxAttempts: 0 } }, "settings.maxAttempts"],
    [
      "unknown policy",
      { ...toastBody, settings: { failurePolicy: "shrug" } },
      "settings.failurePolicy",
    ],
  ])("%s is 400 and writes nothing", async (_name, body, path) => {
    const t = await createTenant();
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${t.slug}/pos/connect`, { token: t.ownerKey, body }),
      400,
      "validation_failed",
    );
    const issues = (error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(issues.some((p) => p.startsWith(path))).toBe(true);
    expect(await tableCounts()).toEqual(before);
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first();
    expect(row).toEqual({ n: 0 });
  });

  it("only owners connect or disconnect; terminals cannot read", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const terminal = await createKey(t, "terminal");
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/connect`, { token: staff, body: toastBody }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/disconnect`, { token: staff, body: {} }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/integration`, { token: terminal }),
      403,
      "forbidden",
    );
  });
});

describe("a draft the tenant's POS cannot take is refused before payment", () => {
  async function toastTenant(
    settings: Record<string, unknown> = {},
    credentials: Record<string, string> = {},
  ) {
    const t = await createTenant();
    await callJson(
      `/v1/admin/${t.slug}/pos/connect`,
      {
        token: t.ownerKey,
        body: {
          ...toastBody,
          credentials: {
            ...toastBody.credentials,
            diningOptionDelivery: "do-delivery",
            ...credentials,
          },
          settings: { autoSync: true, ...settings },
        },
      },
      200,
    );
    const item = await createMenuItem(t, { name: "Burger", price: 1200 });
    return { t, itemId: item.id };
  }

  let seq = 0;
  const place = (slug: string, body: Record<string, unknown>) =>
    call(`/v1/stores/${slug}/orders`, {
      body,
      headers: { "idempotency-key": `toast-draft-${Date.now()}-${++seq}` },
    });

  it("Toast: a pickup without a last name, phone or email is 422 naming each field, and writes nothing", async () => {
    const { t, itemId } = await toastTenant();
    const before = await tableCounts();
    const error = await expectError(
      await place(t.slug, {
        orderType: "pickup",
        items: [{ menuItemId: itemId, quantity: 1 }],
        customer: { name: "Ada" },
      }),
      422,
      "validation_failed",
    );
    expect(error.details).toMatchObject({ reason: "pos_requirements", provider: "toast" });
    const fields = (error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(fields).toEqual(
      expect.arrayContaining(["customer.name", "customer.phone", "customer.email"]),
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("Toast: a delivery whose address has no two-letter state is 422 at deliveryAddress.region", async () => {
    const { t, itemId } = await toastTenant();
    const error = await expectError(
      await place(t.slug, {
        orderType: "delivery",
        items: [{ menuItemId: itemId, quantity: 1 }],
        customer: { name: "Ada Lovelace", phone: "+15550100", email: "ada@example.com" },
        deliveryAddress: {
          line1: "1 Main St",
          city: "Boston",
          postalCode: "02108",
          country: "US",
          region: "Massachusetts",
        },
      }),
      422,
      "validation_failed",
    );
    const fields = (error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(fields).toContain("deliveryAddress.region");
  });

  it("Toast: a discount code is 422 at discountCode unless the restaurant named an open amount discount", async () => {
    const order = (slug: string, itemId: string) =>
      place(slug, {
        orderType: "pickup",
        items: [{ menuItemId: itemId, quantity: 1 }],
        customer: { name: "Ada Lovelace", phone: "+15550100", email: "ada@example.com" },
        discountCode: "WELCOME10",
      });
    const withCode = async (t: { slug: string; ownerKey: string }) =>
      callJson(
        `/v1/admin/${t.slug}/discounts`,
        { token: t.ownerKey, body: { code: "WELCOME10", kind: "percent", value: 10 } },
        201,
      );
    const plain = await toastTenant();
    await withCode(plain.t);
    const error = await expectError(
      await order(plain.t.slug, plain.itemId),
      422,
      "validation_failed",
    );
    expect((error.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      "discountCode",
    ]);
    const named = await toastTenant(
      {},
      { openDiscountGuid: "d15c0000-0000-4000-8000-0000000000d1" },
    );
    await withCode(named.t);
    const taken = await order(named.t.slug, named.itemId);
    expect(taken.status, await taken.text()).toBe(201);
  });

  it("the same draft is taken when it satisfies Toast, and by a tenant whose POS asks nothing of it", async () => {
    const { t, itemId } = await toastTenant();
    const created = await place(t.slug, {
      orderType: "pickup",
      items: [{ menuItemId: itemId, quantity: 1 }],
      customer: { name: "Ada Lovelace", phone: "+15550100", email: "ada@example.com" },
    });
    expect(created.status, await created.text()).toBe(201);
    // With customer details kept from the POS, Toast gets an anonymous customer instead.
    const anonymous = await toastTenant({ syncCustomerInfo: false });
    const kept = await place(anonymous.t.slug, {
      orderType: "pickup",
      items: [{ menuItemId: anonymous.itemId, quantity: 1 }],
      customer: { name: "Ada" },
    });
    expect(kept.status, await kept.text()).toBe(201);
  });
});

describe("pos/connect asks the POS first and stores nothing it refuses", () => {
  const control = async (vendor: string, key: string, value: unknown) => {
    const res = await fetch(`${env.POS_DOUBLE_URL}/_control/state`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ vendor, key, value }),
    });
    expect(res.ok).toBe(true);
  };
  const square = (locationId: string) => ({
    provider: "square",
    locationId,
    credentials: { accessToken: "sq-access" },
  });

  async function refused(
    t: { slug: string; ownerKey: string; id: string },
    body: unknown,
    reason: string,
  ) {
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${t.slug}/pos/connect`, { token: t.ownerKey, body }),
      422,
      "validation_failed",
    );
    expect(error.details).toMatchObject({ reason });
    expect(await tableCounts()).toEqual(before);
    return error;
  }

  it("a location the seller does not have is 422 pos_location_refused, and an earlier connection stays", async () => {
    const t = await createTenant();
    await callJson(`/v1/admin/${t.slug}/pos/connect`, { token: t.ownerKey, body: toastBody }, 200);
    const error = await refused(t, square("L_NOT_THE_SELLERS"), "pos_location_refused");
    expect(error.details).toMatchObject({ provider: "square", vendorStatus: 404 });
    const { integration } = await callJson<{ integration: { provider: string } }>(
      `/v1/admin/${t.slug}/pos/integration`,
      { token: t.ownerKey },
      200,
    );
    expect(integration.provider).toBe("toast");
  });

  it("credentials the POS refuses are 422 pos_credentials_refused, naming no secret", async () => {
    const t = await createTenant();
    await control("toast", "clients", { "toast-client": "the-right-secret" });
    try {
      const error = await refused(t, toastBody, "pos_credentials_refused");
      expect(JSON.stringify(error)).not.toContain("toast-very-secret-value");
    } finally {
      await control("toast", "clients", null);
    }
  });

  it("a location selling in another currency than the tenant is 422 pos_currency_mismatch", async () => {
    const t = await createTenant({ currency: "EUR" });
    const error = await refused(t, square("L_TEST_LOCATION"), "pos_currency_mismatch");
    expect(error.message).toContain("USD");
  });

  it("a POS that does not answer is 422 pos_unreachable: nothing changed, try again", async () => {
    const t = await createTenant();
    await control("clover", "routeFaults", { "GET merchant": [{ kind: "status", status: 503 }] });
    await refused(
      t,
      {
        provider: "clover",
        locationId: "MCLOVERTEST01",
        credentials: { accessToken: "clover-access" },
      },
      "pos_unreachable",
    );
    // Once it answers, the same request connects.
    await callJson(
      `/v1/admin/${t.slug}/pos/connect`,
      {
        token: t.ownerKey,
        body: {
          provider: "clover",
          locationId: "MCLOVERTEST01",
          credentials: { accessToken: "clover-access" },
        },
      },
      200,
    );
  });
});
