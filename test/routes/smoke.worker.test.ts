import { describe, expect, it } from "vitest";
import { callJson, createTenant } from "../helpers";

describe("smoke", () => {
  it("creates a tenant and reads it", async () => {
    const t = await createTenant();
    const body = await callJson<{ tenant: { slug: string } }>(
      `/v1/platform/tenants/${t.slug}`,
      { token: "test-admin-token-0123456789" },
      200,
    );
    expect(body.tenant.slug).toBe(t.slug);
  });
});
