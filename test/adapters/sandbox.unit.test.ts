import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  resetSandbox,
  sandboxAdapter,
  sandboxOrderId,
  setSandboxHooks,
} from "../../src/adapters/pos/sandbox";
import { type PosConnection, PosError, type PosOrder } from "../../src/adapters/pos/types";
import { caught } from "../caught";

function connection(credentials: Record<string, string> = {}): PosConnection {
  return {
    provider: "sandbox",
    locationId: "demo",
    credentials,
    session: null,
    baseUrl: "",
    syncCustomerInfo: true,
  };
}

function order(orderId: string): PosOrder {
  return {
    orderId,
    number: 1,
    orderType: "pickup",
    customer: null,
    lines: [],
    currency: "USD",
    subtotal: 0,
    discount: 0,
    tax: 0,
    tip: 0,
    total: 0,
    specialInstructions: null,
    scheduledFor: null,
    deliveryAddress: null,
    createdAt: "2025-11-03T18:05:00.000Z",
  };
}

const OPTIONS = { timeoutMs: 5_000 };

describe("sandboxAdapter", () => {
  let slept: number[];
  const restores: Array<() => void> = [];
  /** Overrides the sandbox's hooks until the end of the test. */
  const hook = (overrides: Parameters<typeof setSandboxHooks>[0]) => {
    restores.push(setSandboxHooks(overrides));
  };
  const restoreAll = () => {
    for (const restore of restores.reverse()) restore();
    restores.length = 0;
  };

  beforeEach(() => {
    resetSandbox();
    slept = [];
    hook({
      sleep: async (ms) => {
        slept.push(ms);
      },
      random: () => 0.5,
    });
  });
  afterEach(restoreAll);

  it("waits 300 ms by default, or the configured latency", async () => {
    await sandboxAdapter.createOrder(connection(), order("ord_a"), OPTIONS);
    await sandboxAdapter.createOrder(connection({ latencyMs: "40" }), order("ord_b"), OPTIONS);
    await sandboxAdapter.createOrder(connection({ latencyMs: "0" }), order("ord_c"), OPTIONS);
    expect(slept).toEqual([300, 40, 0]);
  });

  it("really waits with the default hooks", async () => {
    restoreAll();
    const started = performance.now();
    await sandboxAdapter.createOrder(connection({ latencyMs: "30" }), order("ord_real"), OPTIONS);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("times out like a real POS when the latency outlasts the call's timeout", async () => {
    const error = await caught(
      sandboxAdapter.createOrder(connection({ latencyMs: "2000" }), order("ord_slow"), {
        timeoutMs: 100,
      }),
      PosError,
    );
    expect([error.kind, error.code]).toEqual(["retryable", "timeout"]);
    expect(slept).toEqual([100]);
  });

  it("always fails, retryably, at failure rate 1", async () => {
    hook({ random: () => 0 });
    const error = await caught(
      sandboxAdapter.createOrder(connection({ failureRate: "1" }), order("ord_f"), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("retryable");
    expect(error.code).toBe("server_error");
    expect(error.details.status).toBe(503);
  });

  it("fails when the draw is under the rate, and never at rate 0", async () => {
    hook({ random: () => 0.2 });
    await expect(
      sandboxAdapter.createOrder(connection({ failureRate: "0.25" }), order("ord_1"), OPTIONS),
    ).rejects.toThrow(PosError);
    hook({ random: () => 0.3 });
    await expect(
      sandboxAdapter.createOrder(connection({ failureRate: "0.25" }), order("ord_1"), OPTIONS),
    ).resolves.toMatchObject({ alreadyExisted: false });
    hook({ random: () => 0 });
    await expect(
      sandboxAdapter.createOrder(connection({ failureRate: "0" }), order("ord_2"), OPTIONS),
    ).resolves.toMatchObject({ alreadyExisted: false });
  });

  it("gives the same id to the same order, and knows a repeat", async () => {
    const first = await sandboxAdapter.createOrder(connection(), order("ord_same"), OPTIONS);
    const second = await sandboxAdapter.createOrder(connection(), order("ord_same"), OPTIONS);
    const other = await sandboxAdapter.createOrder(connection(), order("ord_other"), OPTIONS);
    expect(first.posOrderId).toMatch(/^sbx_[0-9a-f]{24}$/);
    expect(first).toEqual({ posOrderId: await sandboxOrderId("ord_same"), alreadyExisted: false });
    expect(second).toEqual({ posOrderId: first.posOrderId, alreadyExisted: true });
    expect(other.posOrderId).not.toBe(first.posOrderId);
  });

  it("does not remember an order whose creation failed", async () => {
    hook({ random: () => 0 });
    await expect(
      sandboxAdapter.createOrder(connection({ failureRate: "1" }), order("ord_x"), OPTIONS),
    ).rejects.toThrow(PosError);
    const created = await sandboxAdapter.createOrder(connection(), order("ord_x"), OPTIONS);
    expect(created.alreadyExisted).toBe(false);
  });

  it("refuses settings that are not numbers in range", async () => {
    const invalid: Array<Record<string, string>> = [
      { latencyMs: "soon" },
      { failureRate: "2" },
      { latencyMs: "-1" },
    ];
    for (const credentials of invalid) {
      const error = await caught(
        sandboxAdapter.createOrder(connection(credentials), order("ord_bad"), OPTIONS),
        PosError,
      );
      expect([error.kind, error.code]).toEqual(["permanent", "invalid_credentials"]);
    }
  });

  it("reports orders as confirmed, has no session to refresh and takes no webhooks", async () => {
    expect(await sandboxAdapter.getOrderStatus(connection(), "sbx_1", OPTIONS)).toEqual({
      vendorStatus: "accepted",
      status: "confirmed",
    });
    expect(await sandboxAdapter.refreshSession(connection(), OPTIONS)).toEqual({
      accessToken: "",
      expiresAt: null,
      refreshToken: null,
    });
    const request = { headers: {}, rawBody: "{}", url: "https://x.example/" };
    expect(await sandboxAdapter.verifyWebhook(request, "secret")).toBe(false);
    expect(sandboxAdapter.parseWebhook(request)).toEqual([]);
  });
});
