import { describe, expect, it } from "vitest";
import { call, callJson, createKey, createTenant, expectError, tableCounts } from "../helpers";

describe("discounts", () => {
  it("owner creates percent and fixed codes; the storefront checks them case-insensitively", async () => {
    const t = await createTenant();
    const percent = await callJson<{ discount: Record<string, unknown> }>(
      `/v1/admin/${t.slug}/discounts`,
      {
        token: t.ownerKey,
        body: { code: "welcome10", kind: "percent", value: 10, minSubtotal: 1500, maxUses: 100 },
      },
      201,
    );
    expect(percent.discount).toMatchObject({
      code: "WELCOME10",
      kind: "percent",
      value: 10,
      minSubtotal: { amount: 1500, currency: "USD" },
      maxUses: 100,
      usedCount: 0,
      expiresAt: null,
    });
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      { token: t.ownerKey, body: { code: "FIVEOFF", kind: "fixed", value: 500 } },
      201,
    );

    const checked = await callJson(`/v1/stores/${t.slug}/discounts/Welcome10`, {}, 200);
    expect(checked).toEqual({
      code: "WELCOME10",
      kind: "percent",
      value: 10,
      minSubtotal: { amount: 1500, currency: "USD" },
      expiresAt: null,
    });
    const fixed = await callJson(`/v1/stores/${t.slug}/discounts/fiveoff`, {}, 200);
    expect(fixed).toMatchObject({ code: "FIVEOFF", kind: "fixed", value: 500 });

    const staff = await createKey(t, "staff");
    const list = await callJson<{ items: { code: string }[] }>(
      `/v1/admin/${t.slug}/discounts`,
      { token: staff },
      200,
    );
    expect(list.items.map((d) => d.code).sort()).toEqual(["FIVEOFF", "WELCOME10"]);
  });

  it("an unknown or expired code is 404 at the storefront", async () => {
    const t = await createTenant();
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      {
        token: t.ownerKey,
        body: { code: "OLD", kind: "fixed", value: 100, expiresAt: "2020-01-01T00:00:00Z" },
      },
      201,
    );
    await expectError(await call(`/v1/stores/${t.slug}/discounts/NOPE`), 404, "not_found");
    const expired = await expectError(
      await call(`/v1/stores/${t.slug}/discounts/old`),
      404,
      "not_found",
    );
    expect(expired.details).toEqual({ reason: "discount_expired" });
  });

  it.each([
    ["percent over 100", { code: "BIG", kind: "percent", value: 150 }],
    ["zero value", { code: "ZERO", kind: "fixed", value: 0 }],
    ["unknown kind", { code: "BOGO", kind: "bogo", value: 1 }],
    ["bad code characters", { code: "no spaces!", kind: "fixed", value: 1 }],
    ["bad expiry", { code: "EXP", kind: "fixed", value: 1, expiresAt: "tomorrow" }],
    ["unknown field", { code: "X12", kind: "fixed", value: 1, stackable: true }],
  ])("%s is 400 and writes nothing", async (_name, body) => {
    const t = await createTenant();
    const before = await tableCounts();
    await expectError(
      await call(`/v1/admin/${t.slug}/discounts`, { token: t.ownerKey, body }),
      400,
      "validation_failed",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("a duplicate code (in any case) is 409", async () => {
    const t = await createTenant();
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      { token: t.ownerKey, body: { code: "SAME", kind: "fixed", value: 1 } },
      201,
    );
    const before = await tableCounts();
    await expectError(
      await call(`/v1/admin/${t.slug}/discounts`, {
        token: t.ownerKey,
        body: { code: "same", kind: "percent", value: 5 },
      }),
      409,
      "conflict",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("staff cannot create codes", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    await expectError(
      await call(`/v1/admin/${t.slug}/discounts`, {
        token: staff,
        body: { code: "STAFF", kind: "fixed", value: 1 },
      }),
      403,
      "forbidden",
    );
  });
});
