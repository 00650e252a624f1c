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

// ------------------------------------------------------------------ draft problems

describe("toast draft problems", () => {
  const address = {
    line1: "401 Park Drive",
    city: "Boston",
    postalCode: "02215",
    region: "MA",
    country: "US",
  };
  const draft = (overrides: Partial<PosDraft> = {}): PosDraft => ({
    orderType: "pickup",
    discounted: false,
    customer: { name: "Ana García", email: "ana@example.com", phone: "+16175550100" },
    deliveryAddress: null,
    ...overrides,
  });
  const customer = (fields: Partial<PosDraft["customer"]>) => ({
    customer: { ...draft().customer, ...fields },
  });

  it.each<[string, PosDraft, boolean, string[]]>([
    ["a complete pickup", draft(), true, []],
    ["one name only", draft(customer({ name: "Ana" })), true, ["customer.name"]],
    ["no phone", draft(customer({ phone: null })), true, ["customer.phone"]],
    ["a blank email", draft(customer({ email: "  " })), true, ["customer.email"]],
    [
      "an email over 53 characters",
      draft(customer({ email: `${"a".repeat(50)}@example.com` })),
      true,
      ["customer.email"],
    ],
    [
      "an email with international characters",
      draft(customer({ email: "añа@example.com" })),
      true,
      ["customer.email"],
    ],
    [
      "nothing but a first name",
      draft(customer({ name: "Ana", phone: null, email: null })),
      true,
      ["customer.name", "customer.phone", "customer.email"],
    ],
    [
      "nothing shared when customer sync is off",
      draft(customer({ name: "", phone: null, email: null })),
      false,
      [],
    ],
    [
      "a dine-in guest with one name",
      draft({ orderType: "dine_in", ...customer({ name: "Ana", phone: null }) }),
      true,
      [],
    ],
    ["a complete delivery", draft({ orderType: "delivery", deliveryAddress: address }), true, []],
    ["a delivery without an address", draft({ orderType: "delivery" }), true, ["deliveryAddress"]],
    [
      "a delivery to a state spelled out",
      draft({ orderType: "delivery", deliveryAddress: { ...address, region: "Massachusetts" } }),
      true,
      ["deliveryAddress.region"],
    ],
    [
      "a delivery without a state, customer sync off",
      draft({
        orderType: "delivery",
        deliveryAddress: { ...address, region: undefined },
        ...customer({ phone: null }),
      }),
      false,
      ["deliveryAddress.region"],
    ],
    [
      "a delivery without street, city and postal code",
      draft({
        orderType: "delivery",
        deliveryAddress: { ...address, line1: " ", city: "", postalCode: "" },
      }),
      true,
      ["deliveryAddress.line1", "deliveryAddress.city", "deliveryAddress.postalCode"],
    ],
  ])("%s", (_name, input, syncCustomerInfo, fields) => {
    const problems = toastDraftProblems(input, { syncCustomerInfo });
    expect(problems.map((p) => p.field)).toEqual(fields);
    for (const problem of problems) expect(problem.message).toMatch(/^Toast (needs|takes) /);
    expect(toastAdapter.draftProblems(input, { syncCustomerInfo })).toEqual(problems);
  });

  it("a discounted draft needs the restaurant's open amount discount, named at connect", () => {
    const discounted = draft({ discounted: true });
    const problems = toastDraftProblems(discounted, { syncCustomerInfo: true });
    expect(problems.map((p) => p.field)).toEqual(["discountCode"]);
    expect(problems[0]?.message).toMatch(/^Toast takes /);
    expect(
      toastDraftProblems(discounted, {
        syncCustomerInfo: true,
        settings: { openDiscountGuid: "d1d1d1d1-0000-4000-8000-000000000001" },
      }),
    ).toEqual([]);
    expect(toastDraftProblems(draft(), { syncCustomerInfo: true })).toEqual([]);
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

  describe("checkConnection", () => {
    const fresh = (overrides: Partial<PosConnection> = {}) =>
      aConnection(double.baseUrl("toast"), overrides);

    it("logs in and reads the restaurant's name, currency and time zone, for any GUID by default", async () => {
      const guid = "6f3c2a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";
      const info = await toastAdapter.checkConnection(fresh({ locationId: guid }), OPTIONS);
      expect(info).toEqual({
        name: "Double Bistro",
        currency: "USD",
        timezone: "America/New_York",
        // The GUIDs the owner typed, not the client secret: drafts are checked against them.
        settings: {
          diningOptionPickup: "18855a26-40d4-4a8f-b484-c6af211dd597",
          diningOptionDelivery: "2c4e6a8b-0000-4000-8000-00000000de11",
          diningOptionDineIn: "3d5f7b9c-0000-4000-8000-0000000d1e1e",
          otherPaymentGuid: "0dc19214-d29e-4ab9-a773-27e5812999c7",
        },
      });
      const calls = double.received.map((r) => `${r.method} ${r.path}`);
      expect(calls.slice(-2)).toEqual([
        "POST /authentication/v1/authentication/login",
        `GET /restaurants/v1/restaurants/${guid}`,
      ]);
      const restaurantCall = double.requests("toast", "/restaurants").at(-1);
      expect(restaurantCall?.headers["toast-restaurant-external-id"]).toBe(guid);
      expect(restaurantCall?.headers.authorization).toMatch(/^Bearer toast-token-/);
    });

    it("answers what Toast says of a configured restaurant, upper-casing the currency", async () => {
      double.state("toast").restaurants = {
        [RESTAURANT]: { name: "Tommy's Burgers", currencyCode: "cad", timeZone: "America/Toronto" },
      };
      expect(await toastAdapter.checkConnection(fresh(), OPTIONS)).toEqual({
        name: "Tommy's Burgers",
        currency: "CAD",
        timezone: "America/Toronto",
        settings: expect.not.objectContaining({
          clientId: expect.anything(),
          clientSecret: expect.anything(),
        }),
      });
    });

    it("answers null for a time zone that is not an IANA name", async () => {
      double.state("toast").restaurants = { [RESTAURANT]: { timeZone: "Eastern Time" } };
      expect((await toastAdapter.checkConnection(fresh(), OPTIONS)).timezone).toBeNull();
    });

    it("refuses a restaurant Toast does not know as a permanent unknown_location", async () => {
      double.state("toast").restaurants = { [RESTAURANT]: {} };
      const other = "8f3a0c8e-0000-4000-8000-000000000001";
      const error = await posErrorOf(
        toastAdapter.checkConnection(fresh({ locationId: other }), OPTIONS),
      );
      expect(error).toMatchObject({ kind: "permanent", code: "unknown_location" });
      expect(error.message).toContain(other);
      expect(error.details.status).toBe(404);
    });

    it("answers refused client credentials with auth, and never names the secret", async () => {
      double.state("toast").clients = { "client-1": "secret-1" };
      const refused = fresh({
        credentials: { ...aConnection("x").credentials, clientSecret: "not-the-secret" },
      });
      const error = await posErrorOf(toastAdapter.checkConnection(refused, OPTIONS));
      expect(error).toMatchObject({ kind: "auth", code: "unauthorized" });
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain("not-the-secret");
      expect(double.requests("toast", "/restaurants")).toHaveLength(0);
    });

    it("keeps a 5xx retryable and reads a 403 as a restaurant these credentials cannot reach", async () => {
      const answering =
        (status: number): typeof fetch =>
        async (input, init) =>
          String(input).includes("/restaurants/")
            ? Response.json({ ...errorFixture, status }, { status })
            : fetch(input, init);
      const unavailable = await posErrorOf(
        toastAdapter.checkConnection(fresh(), { ...OPTIONS, fetch: answering(503) }),
      );
      expect(unavailable).toMatchObject({ kind: "retryable", code: "server_error" });
      const forbidden = await posErrorOf(
        toastAdapter.checkConnection(fresh(), { ...OPTIONS, fetch: answering(403) }),
      );
      expect(forbidden).toMatchObject({ kind: "permanent", code: "unknown_location" });
    });
  });

  describe("prices", () => {
    const MENU = {
      [BURGER]: 10,
      "b2c3d4e5-0000-4000-8000-000000000002": 1.5,
      [FRIES]: 4.5,
    };

    it("asks Toast for the prices of the same body before posting it", async () => {
      await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      const calls = double.received
        .filter((r) => r.path.startsWith("/orders"))
        .map((r) => `${r.method} ${r.path}`);
      expect(calls).toEqual([
        "GET /orders/v2/orders/orderlane%3Aord_01JTEST0000000000000000001",
        "POST /orders/v2/prices",
        "POST /orders/v2/orders",
      ]);
      const [priced] = pricesCalls();
      expect(priced?.headers["toast-restaurant-external-id"]).toBe(RESTAURANT);
      expect(JSON.parse(priced?.body ?? "null")).toEqual(requestFixture);
    });

    it("refuses, without posting it, an order Toast prices above ours, naming both amounts", async () => {
      double.state("toast").menu = { ...MENU, [FRIES]: 5.5 };
      const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
      expect(error).toMatchObject({ kind: "permanent", code: "price_mismatch" });
      // 27.50 + 1.00 more for the fries, taxed per line: 2.01 + 0.48.
      expect(error.message).toContain(
        "Toast prices order #42 at 30.99 USD, Orderlane at 29.91 USD",
      );
      expect(postedOrders()).toHaveLength(0);
      expect(double.orders("toast").size).toBe(0);
    });

    it("compares totals with tax: a restaurant that charges no tax in Toast is a mismatch", async () => {
      double.state("toast").menu = MENU;
      double.state("toast").taxRate = 0;
      const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
      expect(error.code).toBe("price_mismatch");
      expect(error.message).toContain("at 27.5 USD, Orderlane at 29.91 USD");
    });

    it("accepts one minor unit per line of rounding, and pays what Toast computed", async () => {
      double.state("toast").menu = MENU;
      double.state("toast").taxRate = 0.0882; // 23.00 → 2.03, 4.50 → 0.40: 29.93, two cents over
      await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      const [post] = postedOrders();
      expect(JSON.parse(post?.body ?? "null").checks[0].payments).toEqual([
        {
          type: "OTHER",
          otherPayment: { guid: "0dc19214-d29e-4ab9-a773-27e5812999c7" },
          amount: 29.93,
          tipAmount: 3,
        },
      ]);
    });

    it("refuses a difference of three cents on a two-line order", async () => {
      double.state("toast").menu = MENU;
      double.state("toast").taxRate = 0.0887; // 2.04 + 0.40: 29.94, three cents over
      const error = await posErrorOf(toastAdapter.createOrder(connection, anOrder(), OPTIONS));
      expect(error.code).toBe("price_mismatch");
    });

    it("prefers the Other payment GUID connect stored in settings over the credentials", async () => {
      const settings = { otherPaymentGuid: "7e1f0000-0000-4000-8000-0000000000aa" };
      await toastAdapter.createOrder({ ...connection, settings }, anOrder(), OPTIONS);
      const [post] = postedOrders();
      expect(JSON.parse(post?.body ?? "null").checks[0].payments[0].otherPayment).toEqual({
        guid: "7e1f0000-0000-4000-8000-0000000000aa",
      });
    });

    it("carries a discount on the restaurant's open amount discount, taxed after it, and pays Toast's total", async () => {
      double.state("toast").menu = MENU;
      const settings = { openDiscountGuid: "d15c0000-0000-4000-8000-0000000000d1" };
      // 27.50 less 2.50, taxed at 8.75 %: 2.19 (Toast spreads it over the lines: 1.83 + 0.36).
      const discounted = anOrder({ discount: 250, tax: 219, total: 2500 + 219 + 300 });
      await toastAdapter.createOrder({ ...connection, settings }, discounted, OPTIONS);
      const [post] = postedOrders();
      const check = JSON.parse(post?.body ?? "null").checks[0];
      expect(check.appliedDiscounts).toEqual([
        {
          discount: { guid: "d15c0000-0000-4000-8000-0000000000d1", entityType: "Discount" },
          discountAmount: 2.5,
        },
      ]);
      expect(check.payments[0].amount).toBe(27.19);
    });

    it("refuses, before any call, a discounted order without an open amount discount to carry it", async () => {
      const error = await posErrorOf(
        toastAdapter.createOrder(
          connection,
          anOrder({ discount: 250, tax: 219, total: 3019 }),
          OPTIONS,
        ),
      );
      expect(error).toMatchObject({ kind: "permanent", code: "missing_discount" });
      expect(double.received.filter((r) => r.path.startsWith("/orders"))).toHaveLength(0);
    });

    it("the double refuses an open percent discount and one above the check, as Toast does", async () => {
      double.state("toast").menu = MENU;
      double.state("toast").discounts = { "d15c0000-0000-4000-8000-0000000000d2": "OPEN_PERCENT" };
      const percent = await posErrorOf(
        toastAdapter.createOrder(
          { ...connection, settings: { openDiscountGuid: "d15c0000-0000-4000-8000-0000000000d2" } },
          anOrder({ discount: 250, tax: 219, total: 3019 }),
          OPTIONS,
        ),
      );
      expect(percent.details.status).toBe(400);
      double.state("toast").discounts = { "d15c0000-0000-4000-8000-0000000000d3": "OPEN_FIXED" };
      const above = await posErrorOf(
        toastAdapter.createOrder(
          { ...connection, settings: { openDiscountGuid: "d15c0000-0000-4000-8000-0000000000d3" } },
          anOrder({ discount: 2800, tax: 0, total: 300 }),
          OPTIONS,
        ),
      );
      expect(above.details.status).toBe(400);
      expect(postedOrders()).toHaveLength(0);
    });

    it("sends no payment when the restaurant has no Other payment type", async () => {
      const { otherPaymentGuid: _, ...credentials } = connection.credentials;
      await toastAdapter.createOrder({ ...connection, credentials }, anOrder(), OPTIONS);
      const [post] = postedOrders();
      expect(JSON.parse(post?.body ?? "null").checks[0].payments).toBeUndefined();
    });
  });

  it("sends a delivery order with its delivery info, and Toast takes it", async () => {
    const delivery = anOrder({
      orderType: "delivery",
      scheduledFor: null,
      deliveryAddress: {
        line1: "401 Park Drive",
        city: "Boston",
        postalCode: "02215",
        region: "ma",
        country: "US",
      },
    });
    const { posOrderId } = await toastAdapter.createOrder(connection, delivery, OPTIONS);
    expect(double.orders("toast").get(posOrderId)?.deliveryInfo).toEqual({
      address1: "401 Park Drive",
      city: "Boston",
      state: "MA",
      zipCode: "02215",
      country: "US",
    });
  });

  describe("estimated ready time", () => {
    it("is Toast's estimatedFulfillmentDate: the double's prep time after an ASAP order", async () => {
      double.state("toast").prepMinutes = 20;
      const before = Date.now();
      const created = await toastAdapter.createOrder(
        connection,
        anOrder({ scheduledFor: null }),
        OPTIONS,
      );
      const readyAt = Date.parse(created.estimatedReadyAt ?? "");
      expect(readyAt).toBeGreaterThanOrEqual(before + 20 * 60_000 - 1000);
      expect(readyAt).toBeLessThanOrEqual(Date.now() + 20 * 60_000 + 1000);
    });

    it("is the promised time of a scheduled order", async () => {
      const created = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      expect(created.estimatedReadyAt).toBe("2025-06-01T18:30:00.000Z");
    });
  });

  describe("cancelOrder", () => {
    const voidCalls = () =>
      double.requests("toast", "/orders/v2/orders").filter((r) => r.path.endsWith("/void"));

    it("voids an order paid with the Other payment, its items and its payment", async () => {
      const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      expect(await toastAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(true);
      const [call] = voidCalls();
      expect(call?.method).toBe("POST");
      expect(call?.path).toBe(`/orders/v2/orders/${posOrderId}/void`);
      expect(JSON.parse(call?.body ?? "null")).toEqual({
        selections: { voidAll: true },
        payments: { voidAll: true },
      });
      expect(await toastAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
        vendorStatus: "VOIDED",
        status: "cancelled",
      });
    });

    it("answers true for an order already voided, without voiding it again", async () => {
      const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      await toastAdapter.cancelOrder(connection, posOrderId, OPTIONS);
      expect(await toastAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(true);
      expect(voidCalls()).toHaveLength(1);
    });

    it("answers false, leaving it to staff, for an order without an Other payment", async () => {
      const { otherPaymentGuid: _, ...credentials } = connection.credentials;
      const unpaid = { ...connection, credentials };
      const { posOrderId } = await toastAdapter.createOrder(unpaid, anOrder(), OPTIONS);
      expect(await toastAdapter.cancelOrder(unpaid, posOrderId, OPTIONS)).toBe(false);
      expect(voidCalls()).toHaveLength(0);
      expect(double.orders("toast").get(posOrderId)?.voided).toBe(false);
    });

    it("answers false when Toast refuses the void to a client that did not create the order", async () => {
      const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
      const otherClient = aConnection(double.baseUrl("toast"), {
        credentials: { ...connection.credentials, clientId: "client-2" },
      });
      const session = await toastAdapter.refreshSession(otherClient, OPTIONS);
      expect(await toastAdapter.cancelOrder({ ...otherClient, session }, posOrderId, OPTIONS)).toBe(
        false,
      );
      expect(voidCalls()).toHaveLength(1);
      expect(double.orders("toast").get(posOrderId)?.voided).toBe(false);
    });
  });

  it("has no fulfillment state to set in Toast", async () => {
    const { posOrderId } = await toastAdapter.createOrder(connection, anOrder(), OPTIONS);
    const before = double.received.length;
    expect(await toastAdapter.updateFulfillment(connection, posOrderId, "ready", OPTIONS)).toBe(
      false,
    );
    expect(double.received.length).toBe(before);
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
