import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  buildToastOrderRequest,
  mapToastOrderStatus,
  toastAdapter,
  toastDraftProblems,
  toDecimalAmount,
} from "../../src/adapters/pos/toast";
import {
  type PosCallOptions,
  type PosConnection,
  type PosDraft,
  PosError,
  type PosOrder,
  type WebhookRequest,
} from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import toastDouble, { orderUpdatedEvent, signWebhook } from "../../tools/pos-double/toast.mjs";
import errorFixture from "./fixtures/toast-error-400.json";
import loginFixture from "./fixtures/toast-login-response.json";
import postResponseFixture from "./fixtures/toast-order-post-response.json";
import requestFixture from "./fixtures/toast-order-request.json";
import webhookFixture from "./fixtures/toast-order-updated-webhook.json";
import pricesFixture from "./fixtures/toast-prices-response.json";

// ------------------------------------------------------------------ the double

const storedToastOrder = z.looseObject({
  checks: z.array(z.looseObject({ selections: z.array(z.looseObject({})) })),
});

// --------------------------------------------------------------------- fixtures

const RESTAURANT = "4622e7a9-b4be-3fef-9220-b3dad273e0b4";
const MENU_GROUP = "881472e6-dd94-48c6-b5c6-25e51a864208";
const BURGER = "9c59d4ab-8242-450f-8f36-b16e1b3ab802";
const FRIES = "0c7fa3b2-11d4-4b6e-9e2a-5d8c7b6a5f43";
const CHEESE = "a1b2c3d4-0000-4000-8000-000000000001/b2c3d4e5-0000-4000-8000-000000000002";
const SECRET = "whsec-toast-subscription";

function anOrder(overrides: Partial<PosOrder> = {}): PosOrder {
  return {
    orderId: "ord_01JTEST0000000000000000001",
    number: 42,
    orderType: "pickup",
    customer: { name: "Ana García López", email: "ana@example.com", phone: "+34600111222" },
    lines: [
      {
        menuItemId: "burger",
        name: "Burger",
        quantity: 2,
        unitPrice: 1150,
        basePrice: 1000,
        posItemId: `${MENU_GROUP}/${BURGER}`,
        modifiers: [{ name: "Cheese", price: 150, posModifierId: CHEESE }],
        specialInstructions: "No pickles",
      },
      {
        menuItemId: "fries",
        name: "Fries",
        quantity: 1,
        unitPrice: 450,
        basePrice: 450,
        posItemId: `${MENU_GROUP}/${FRIES}`,
        modifiers: [],
        specialInstructions: null,
      },
    ],
    currency: "USD",
    subtotal: 2750,
    discount: 0,
    tax: 241,
    tip: 300,
    total: 3291,
    specialInstructions: "Ring when ready",
    scheduledFor: "2025-06-01T18:30:00.000Z",
    deliveryAddress: null,
    createdAt: "2025-06-01T12:00:00.000Z",
    ...overrides,
  };
}

function aConnection(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "toast",
    locationId: RESTAURANT,
    credentials: {
      clientId: "client-1",
      clientSecret: "secret-1",
      diningOptionPickup: "18855a26-40d4-4a8f-b484-c6af211dd597",
      diningOptionDelivery: "2c4e6a8b-0000-4000-8000-00000000de11",
      diningOptionDineIn: "3d5f7b9c-0000-4000-8000-0000000d1e1e",
      otherPaymentGuid: "0dc19214-d29e-4ab9-a773-27e5812999c7",
    },
    session: null,
    baseUrl,
    syncCustomerInfo: true,
    ...overrides,
  };
}

const OPTIONS: PosCallOptions = { timeoutMs: 2000 };

async function posErrorOf(promise: Promise<unknown>): Promise<PosError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(error instanceof PosError)) throw new Error(`expected a PosError, got ${String(error)}`);
  return error;
}

function webhook(rawBody: string, headers: Record<string, string>): WebhookRequest {
  return { rawBody, headers, url: `https://orderlane.example/webhooks/pos/toast/acme` };
}

// ---------------------------------------------------------------------- mapping

describe("toast mapping", () => {
  it("builds the documented Order body from our order", () => {
    const body = buildToastOrderRequest(aConnection("http://unused"), anOrder());
    expect(body).toEqual(requestFixture);
  });

  it("sends delivery orders with their dining option and delivery info", () => {
    const body = buildToastOrderRequest(
      aConnection("http://unused"),
      anOrder({
        orderType: "delivery",
        scheduledFor: null,
        deliveryAddress: {
          line1: "401 Park Drive",
          line2: "Suite 801",
          city: "Boston",
          postalCode: "02215",
          region: "MA",
          country: "US",
        },
      }),
    );
    expect(body.diningOption).toEqual({ guid: "2c4e6a8b-0000-4000-8000-00000000de11" });
    expect(body.deliveryInfo).toEqual({
      address1: "401 Park Drive",
      address2: "Suite 801",
      city: "Boston",
      state: "MA",
      zipCode: "02215",
      country: "US",
    });
    expect(body.promisedDate).toBeUndefined();
  });

  it("refuses an item without a Toast id, naming the item", () => {
    const order = anOrder();
    const [burger, fries] = order.lines;
    if (!burger || !fries) throw new Error("fixture order has two lines");
    const error = (() => {
      try {
        buildToastOrderRequest(aConnection("http://unused"), {
          ...order,
          lines: [burger, { ...fries, posItemId: null }],
        });
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(PosError);
    expect(error).toMatchObject({
      kind: "permanent",
      code: "unmapped_item",
      message: "Fries has no Toast item id",
    });
  });

  it("refuses a modifier without a Toast id, naming it and its item", () => {
    const order = anOrder();
    const [burger] = order.lines;
    if (!burger) throw new Error("fixture order has a burger");
    expect(() =>
      buildToastOrderRequest(aConnection("http://unused"), {
        ...order,
        lines: [{ ...burger, modifiers: [{ name: "Bacon", price: 200, posModifierId: null }] }],
      }),
    ).toThrow("Bacon (on Burger) has no Toast modifier id");
  });

  it("refuses an item id that lacks its menu group", () => {
    const order = anOrder();
    const [burger] = order.lines;
    if (!burger) throw new Error("fixture order has a burger");
    expect(() =>
      buildToastOrderRequest(aConnection("http://unused"), {
        ...order,
        lines: [{ ...burger, posItemId: BURGER }],
      }),
    ).toThrow('Burger has a Toast item id that is not "<menu group GUID>/<menu item GUID>"');
  });

  it("refuses an order type without a configured dining option", () => {
    const connection = aConnection("http://unused", {
      credentials: { clientId: "c", clientSecret: "s" },
    });
    expect(() => buildToastOrderRequest(connection, anOrder())).toThrow(
      "no dining option GUID for pickup orders (setting diningOptionPickup)",
    );
  });

  it.each([
    [1250, "USD", 12.5],
    [1999, "USD", 19.99],
    [5, "USD", 0.05],
    [30, "USD", 0.3],
    [0, "USD", 0],
    [100000, "GBP", 1000],
    [-250, "USD", -2.5],
    [1250, "JPY", 1250],
    [1250, "KWD", 1.25],
    [900719925474099, "USD", 9007199254740.99],
  ])("converts %i minor units of %s to %d", (minor, currency, decimal) => {
    expect(toDecimalAmount(minor, currency)).toBe(decimal);
  });

  it("refuses a fractional amount of minor units", () => {
    expect(() => toDecimalAmount(12.5, "USD")).toThrow("amount 12.5 is not an integer");
  });

  it("reads the documented prices and POST /orders answers, with the estimated ready time", async () => {
    const seen: string[] = [];
    const fetchFixture: typeof fetch = async (input, init) => {
      seen.push(`${init?.method ?? "GET"} ${String(input)}`);
      if (String(input).endsWith("/prices")) return Response.json(pricesFixture);
      if (init?.method === "POST") return Response.json(postResponseFixture);
      return Response.json({ ...errorFixture, status: 404, message: "not found" }, { status: 404 });
    };
    const connection = aConnection("https://ws-api.toasttab.com", {
      session: { accessToken: "t", expiresAt: null, refreshToken: null },
    });
    const created = await toastAdapter.createOrder(connection, anOrder(), {
      ...OPTIONS,
      fetch: fetchFixture,
    });
    expect(created).toEqual({
      posOrderId: "89488287-f259-435b-a654-0bc391596af0",
      alreadyExisted: false,
      estimatedReadyAt: "2021-07-30T12:12:46.235Z",
    });
    expect(seen).toEqual([
      "GET https://ws-api.toasttab.com/orders/v2/orders/orderlane%3Aord_01JTEST0000000000000000001",
      "POST https://ws-api.toasttab.com/orders/v2/prices",
      "POST https://ws-api.toasttab.com/orders/v2/orders",
    ]);
  });

  it("reads the documented login answer into a session", async () => {
    const session = await toastAdapter.refreshSession(aConnection("https://ws-api.toasttab.com"), {
      ...OPTIONS,
      fetch: async () => Response.json(loginFixture),
      now: () => new Date("2025-06-01T12:00:00.000Z"),
    });
    expect(session).toEqual({
      accessToken: loginFixture.token.accessToken,
      expiresAt: "2025-06-02T12:00:00.000Z",
      refreshToken: null,
    });
  });
});

// ---------------------------------------------------------------- status mapping

describe("toast status mapping", () => {
  const selection = (fulfillmentStatus: string, voided = false) => ({
    fulfillmentStatus,
    voided,
  });
  const order = (fields: Record<string, unknown>) => ({ guid: "g", ...fields });

  it.each([
    ["voided", order({ voided: true, approvalStatus: "APPROVED" }), "VOIDED", "cancelled"],
    ["deleted (combined)", order({ deleted: true }), "DELETED", null],
    ["awaiting approval", order({ approvalStatus: "NEEDS_APPROVAL" }), "NEEDS_APPROVAL", null],
    ["scheduled", order({ approvalStatus: "FUTURE" }), "FUTURE", null],
    ["never approved", order({ approvalStatus: "NOT_APPROVED" }), "NOT_APPROVED", "cancelled"],
    [
      "approved, nothing fired",
      order({ approvalStatus: "APPROVED", checks: [{ selections: [selection("NEW")] }] }),
      "APPROVED:NEW",
      "confirmed",
    ],
    [
      "approved, on hold",
      order({ approvalStatus: "APPROVED", checks: [{ selections: [selection("HOLD")] }] }),
      "APPROVED:NEW",
      "confirmed",
    ],
    [
      "some items in the kitchen",
      order({
        approvalStatus: "APPROVED",
        checks: [{ selections: [selection("SENT"), selection("NEW")] }],
      }),
      "APPROVED:SENT",
      "preparing",
    ],
    [
      "some items ready",
      order({
        approvalStatus: "APPROVED",
        checks: [{ selections: [selection("READY"), selection("NEW")] }],
      }),
      "APPROVED:SENT",
      "preparing",
    ],
    [
      "every live item ready",
      order({
        approvalStatus: "APPROVED",
        checks: [{ selections: [selection("READY"), selection("NEW", true)] }],
      }),
      "APPROVED:READY",
      "ready",
    ],
    [
      "guest status in preparation",
      order({ guestOrderStatus: "IN_PREPARATION" }),
      "IN_PREPARATION",
      "preparing",
    ],
    [
      "guest status ready",
      order({ guestOrderStatus: "READY_FOR_PICKUP" }),
      "READY_FOR_PICKUP",
      "ready",
    ],
    ["guest status closed", order({ guestOrderStatus: "CLOSED" }), "CLOSED", "completed"],
    ["guest status voided", order({ guestOrderStatus: "VOIDED" }), "VOIDED", "cancelled"],
    ["guest status received", order({ guestOrderStatus: "RECEIVED" }), "RECEIVED", "confirmed"],
    [
      "driver picked up",
      order({ approvalStatus: "APPROVED", deliveryInfo: { deliveryState: "PICKED_UP" } }),
      "PICKED_UP",
      "out_for_delivery",
    ],
    [
      "delivered",
      order({ approvalStatus: "APPROVED", deliveryInfo: { deliveryState: "DELIVERED" } }),
      "DELIVERED",
      "completed",
    ],
  ])("%s → %s / %s", (_name, toastOrder, vendorStatus, status) => {
    expect(mapToastOrderStatus(toastOrder)).toEqual({ vendorStatus, status });
  });
});

// --------------------------------------------------------------------- webhooks

describe("toast webhooks", () => {
  const raw = JSON.stringify(webhookFixture);

  it("accepts a message signed with the subscription secret", async () => {
    expect(await toastAdapter.verifyWebhook(webhook(raw, signWebhook(raw, SECRET)), SECRET)).toBe(
      true,
    );
  });

  it("rejects a tampered body", async () => {
    const headers = signWebhook(raw, SECRET);
    const tampered = raw.replace('"fulfillmentStatus":"SENT"', '"fulfillmentStatus":"READY"');
    expect(tampered).not.toBe(raw);
    expect(await toastAdapter.verifyWebhook(webhook(tampered, headers), SECRET)).toBe(false);
  });

  it("rejects a message signed with another secret", async () => {
    const headers = signWebhook(raw, "someone-else");
    expect(await toastAdapter.verifyWebhook(webhook(raw, headers), SECRET)).toBe(false);
  });

  it("rejects a message without a signature, or with one that is not Base64", async () => {
    expect(await toastAdapter.verifyWebhook(webhook(raw, {}), SECRET)).toBe(false);
    expect(
      await toastAdapter.verifyWebhook(webhook(raw, { "toast-signature": "%%%" }), SECRET),
    ).toBe(false);
  });

  it("rejects a signature over the body alone: Toast signs body + timestamp", async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(raw)),
    );
    const bodyOnly = btoa(String.fromCharCode(...mac));
    expect(
      await toastAdapter.verifyWebhook(webhook(raw, { "toast-signature": bodyOnly }), SECRET),
    ).toBe(false);
  });

  it("parses the documented order_updated message", () => {
    expect(toastAdapter.parseWebhook(webhook(raw, {}))).toEqual([
      {
        eventId: "3b1e2f4a-6d7c-4e8f-9a0b-1c2d3e4f5a6b",
        posOrderId: "89488287-f259-435b-a654-0bc391596af0",
        orderId: "ord_01JTEST0000000000000000001",
        vendorStatus: "APPROVED:SENT",
        status: "preparing",
        occurredAt: "2021-07-30T12:03:11.402Z",
      },
    ]);
  });

  it("ignores other event types and refuses a body that is not a Toast message", async () => {
    const other = JSON.stringify({ ...webhookFixture, eventType: "partner_added" });
    expect(toastAdapter.parseWebhook(webhook(other, {}))).toEqual([]);
    const error = await posErrorOf(
      Promise.resolve().then(() => toastAdapter.parseWebhook(webhook("{}", {}))),
    );
    expect(error).toMatchObject({ kind: "permanent", code: "invalid_webhook" });
  });
});

// --------------------------------------------------------- against the double

describe("toast adapter against the double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let connection: PosConnection;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [toastDouble] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(async () => {
    double.reset();
    const session = await toastAdapter.refreshSession(
      aConnection(double.baseUrl("toast")),
      OPTIONS,
    );
    connection = aConnection(double.baseUrl("toast"), { session });
  });

  const postedOrders = () =>
    double.requests("toast", "/orders/v2/orders").filter((r) => r.method === "POST");
  const pricesCalls = () => double.requests("toast", "/orders/v2/prices");

  it("creates the order and returns Toast's GUID", async () => {
    const created = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    const stored = double.orders("toast").get(created.posOrderId);
    expect(created.alreadyExisted).toBe(false);
    expect(stored?.guid).toBe(created.posOrderId);
    expect(stored?.externalId).toBe("orderlane:ord_01JTEST0000000000000000001");
    const [post] = postedOrders();
    expect(post?.headers.authorization).toBe(`Bearer ${connection.session?.accessToken}`);
    expect(post?.headers["toast-restaurant-external-id"]).toBe(RESTAURANT);
    expect(post?.headers["content-type"]).toBe("application/json");
    // Toast taxes each line (8.75% in the double, rounded per selection): 2.01 + 0.39 = 2.40, one
    // cent under our 2.41, so the payment carries Toast's 29.90 and our tip.
    const [check] = requestFixture.checks;
    expect(JSON.parse(post?.body ?? "null")).toEqual({
      ...requestFixture,
      checks: [
        {
          ...check,
          payments: [
            {
              type: "OTHER",
              otherPayment: { guid: "0dc19214-d29e-4ab9-a773-27e5812999c7" },
              amount: 29.9,
              tipAmount: 3,
            },
          ],
        },
      ],
    });
  });

  it("returns the same order, already existing, when created again", async () => {
    const first = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    const second = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(second).toEqual({
      posOrderId: first.posOrderId,
      alreadyExisted: true,
      estimatedReadyAt: first.estimatedReadyAt,
    });
    expect(double.orders("toast").size).toBe(1);
    expect(postedOrders()).toHaveLength(1);
  });

  it("finds an order whose create answer was lost instead of creating it twice", async () => {
    double.inject("toast", [{ kind: "accept_then_fail" }]);
    const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });
    expect(error.details.status).toBe(500);

    const retried = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    const [stored] = [...double.orders("toast").values()];
    expect(retried).toEqual({
      posOrderId: stored?.guid,
      alreadyExisted: true,
      estimatedReadyAt: "2025-06-01T18:30:00.000Z",
    });
    expect(double.orders("toast").size).toBe(1);
  });

  it("classifies a 500 as retryable", async () => {
    double.inject("toast", [{ kind: "status", status: 500 }]);
    const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });
    expect(double.orders("toast").size).toBe(0);
  });

  it("classifies a 429 as retryable with its Retry-After", async () => {
    double.inject("toast", [{ kind: "status", status: 429, retryAfter: 7 }]);
    const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "rate_limited" });
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 7 });
  });

  it("classifies a slow answer as a retryable timeout, and the retry finds the order", async () => {
    double.inject("toast", [{ kind: "delay", ms: 400 }]);
    const error = await posErrorOf(
      toastAdapter.createOrder(connection, anOrder(), { timeoutMs: 100 }),
    );
    expect(error).toMatchObject({ kind: "retryable", code: "timeout" });
    // The double still creates the order once the delay is over, as Toast would.
    await vi.waitFor(() => expect(double.orders("toast").size).toBe(1), { timeout: 2000 });
    const retried = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(retried.alreadyExisted).toBe(true);
    expect(double.orders("toast").size).toBe(1);
  });

  it("classifies a 400 as permanent and keeps Toast's message", async () => {
    double.inject("toast", [{ kind: "status", status: 400, body: errorFixture }]);
    const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "rejected" });
    expect(error.details.status).toBe(400);
    expect(error.details.vendorMessage).toContain("Payment amount cannot be empty");
  });

  it("answers a body Toast rejects with a permanent error", async () => {
    const error = await posErrorOf(
      toastAdapter.createOrder(connection, anOrder({ lines: [] }), OPTIONS),
    );
    expect(error).toMatchObject({ kind: "permanent", code: "rejected" });
    expect(error.details.vendorMessage).toContain("checks[0].selections must not be empty");
  });

  it("answers 401 with auth; after refreshSession the create succeeds", async () => {
    double.inject("toast", [{ kind: "unauthorized_once" }]);
    const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "auth", code: "unauthorized" });

    // The old token stays refused until a new one is obtained.
    const again = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(again.kind).toBe("auth");

    const session = await toastAdapter.refreshSession(connection, OPTIONS);
    expect(session.accessToken).not.toBe(connection.session?.accessToken);
    const created = await toastAdapter.createOrder({ ...connection, session }, anOrder(), OPTIONS);
    expect(created.alreadyExisted).toBe(false);
    expect(double.orders("toast").size).toBe(1);
  });

  it("asks for a session before calling Toast without one", async () => {
    const error = await posErrorOf(
      toastAdapter.createOrder({ ...connection, session: null }, anOrder(), OPTIONS),
    );
    expect(error).toMatchObject({ kind: "auth", code: "no_session" });
    expect(double.requests("toast", "/orders")).toHaveLength(0);
  });

  it("turns refused client credentials into a permanent refresh_failed", async () => {
    double.state("toast").clients = { "client-1": "secret-1" };
    const refused = aConnection(double.baseUrl("toast"), {
      credentials: { ...connection.credentials, clientSecret: "not-the-secret" },
    });
    const error = await posErrorOf(toastAdapter.refreshSession(refused, OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "refresh_failed" });
    expect(error.details.status).toBe(401);
  });

  it("refuses an unmapped item before calling Toast", async () => {
    const order = anOrder();
    const error = await posErrorOf(
      toastAdapter.createOrder(
        connection,
        { ...order, lines: order.lines.map((line) => ({ ...line, posItemId: null })) },
        OPTIONS,
      ),
    );
    expect(error).toMatchObject({
      kind: "permanent",
      code: "unmapped_item",
      message: "Burger has no Toast item id",
    });
    expect(double.requests("toast", "/orders")).toHaveLength(0);
  });

  const ANONYMOUS = {
    firstName: "Orderlane",
    lastName: "Order 42",
    phone: "0000000000",
    email: "ord_01JTEST0000000000000000001@orderlane.invalid",
  };

  it("sends an anonymous customer, none of the guest's details, when customer sync is off", async () => {
    await toastAdapter.createOrder({ ...connection, syncCustomerInfo: false }, anOrder(), OPTIONS);
    const [post] = postedOrders();
    const body = post?.body ?? "";
    for (const secret of ["Ana", "García", "ana@example.com", "+34600111222", "600111222"]) {
      expect(body).not.toContain(secret);
    }
    expect(JSON.parse(body).checks[0].customer).toEqual(ANONYMOUS);
    expect(JSON.parse(pricesCalls()[0]?.body ?? "null").checks[0].customer).toEqual(ANONYMOUS);
  });

  it("sends the anonymous customer on a pickup order that has none, and none on dine-in", async () => {
    await toastAdapter.createOrder(connection, anOrder({ customer: null }), OPTIONS);
    const dineIn = anOrder({ orderId: "ord_dine_in", orderType: "dine_in", customer: null });
    await toastAdapter.createOrder(connection, dineIn, OPTIONS);
    const [pickup, table] = postedOrders().map((r) => JSON.parse(r.body));
    expect(pickup.checks[0].customer).toEqual(ANONYMOUS);
    expect(table.checks[0].customer).toBeUndefined();
  });

  it("reads the order's status from Toast as it moves through the kitchen", async () => {
    const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(await toastAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
      vendorStatus: "NEEDS_APPROVAL",
      status: null,
    });
    // The kitchen fires everything and marks it ready on the KDS.
    const stored = storedToastOrder.parse(double.orders("toast").get(posOrderId));
    double.orders("toast").set(posOrderId, {
      ...stored,
      approvalStatus: "APPROVED",
      checks: stored.checks.map((check) => ({
        ...check,
        selections: check.selections.map((s) => ({ ...s, fulfillmentStatus: "READY" })),
      })),
    });
    expect(await toastAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
      vendorStatus: "APPROVED:READY",
      status: "ready",
    });
  });

  it("parses the double's signed order_updated webhook for a created order", async () => {
    const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    const order = double.orders("toast").get(posOrderId);
    const raw = JSON.stringify(
      orderUpdatedEvent({ ...order, voided: true }, { timestamp: "2025-06-01T12:10:00.000Z" }),
    );
    const request = webhook(raw, signWebhook(raw, SECRET));
    expect(await toastAdapter.verifyWebhook(request, SECRET)).toBe(true);
    expect(toastAdapter.parseWebhook(request)).toMatchObject([
      {
        posOrderId,
        orderId: "ord_01JTEST0000000000000000001",
        vendorStatus: "VOIDED",
        status: "cancelled",
        occurredAt: "2025-06-01T12:10:00.000Z",
      },
    ]);
  });
});
