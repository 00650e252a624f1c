import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  buildCloverOrderRequest,
  buildCloverPaymentRequest,
  CLOVER_TENDER_LABEL_KEY,
  cloverAdapter,
  cloverMessagesByMerchant,
  cloverVerificationCode,
  mapCloverOrderStatus,
  mapCloverWebhookType,
} from "../../src/adapters/pos/clover";
import {
  type PosCallOptions,
  type PosConnection,
  PosError,
  type PosOrder,
  type WebhookRequest,
} from "../../src/adapters/pos/types";
import cloverDouble, {
  addAccessToken,
  orderEvent,
  signWebhook,
} from "../../tools/pos-double/clover.mjs";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import requestFixture from "./fixtures/clover-atomic-order-request.json";
import responseFixture from "./fixtures/clover-order-response.json";
import listFixture from "./fixtures/clover-orders-list.json";
import paymentFixture from "./fixtures/clover-payment-response.json";
import refreshFixture from "./fixtures/clover-refresh-response.json";
import webhookFixture from "./fixtures/clover-webhook.json";

// ------------------------------------------------------------------ the double

// --------------------------------------------------------------------- fixtures

const MERCHANT = "ABC123DEF4567";
const LATTE = "9M4B2Q8XKZ1WE";
const OAT_MILK = "7QJ3C1N0VTY2A";
const BAGEL = "2H8D6F4S1A0PL";
const AUTH_CODE = "0307e264-b33a-4913-88aa-37b10014a0b8";
const ORDER_ID = "ord_01JTEST0000000000000000002";
const TENDER = "TENDERORDLN01";

function anOrder(overrides: Partial<PosOrder> = {}): PosOrder {
  return {
    orderId: ORDER_ID,
    number: 7,
    orderType: "pickup",
    customer: { name: "Ana García López", email: "ana@example.com", phone: "+34600111222" },
    lines: [
      {
        menuItemId: "latte",
        name: "Latte",
        quantity: 2,
        unitPrice: 475,
        basePrice: 425,
        posItemId: LATTE,
        modifiers: [{ name: "Oat milk", price: 50, posModifierId: OAT_MILK }],
        specialInstructions: "Extra hot",
      },
      {
        menuItemId: "croissant",
        name: "Croissant",
        quantity: 1,
        unitPrice: 350,
        basePrice: 350,
        posItemId: null,
        modifiers: [],
        specialInstructions: null,
      },
      {
        menuItemId: "bagel",
        name: "Bagel",
        quantity: 1,
        unitPrice: 425,
        basePrice: 325,
        posItemId: BAGEL,
        modifiers: [{ name: "Cream cheese", price: 100, posModifierId: null }],
        specialInstructions: null,
      },
    ],
    currency: "USD",
    subtotal: 1725,
    discount: 200,
    tax: 130,
    tip: 100,
    total: 1755,
    specialInstructions: "Leave at the counter",
    scheduledFor: null,
    deliveryAddress: null,
    createdAt: "2024-06-01T12:00:00.000Z",
    ...overrides,
  };
}

function aConnection(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "clover",
    locationId: MERCHANT,
    credentials: {
      clientId: "JD8KQZ3V1N2PA",
      clientSecret: "app-secret",
      accessToken: "seed-access-token",
      refreshToken: "seed-refresh-token",
      orderTypePickup: "ORDERTYPEPKUP1",
    },
    session: null,
    baseUrl,
    syncCustomerInfo: true,
    settings: { tenderId: TENDER },
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
  return { rawBody, headers, url: "https://orderlane.example/webhooks/pos/clover/acme" };
}

// ---------------------------------------------------------------------- mapping

describe("clover mapping", () => {
  it("builds the atomic order cart: inventory lines by id, the rest by name and price", () => {
    expect(buildCloverOrderRequest(aConnection("http://unused"), anOrder())).toEqual(
      requestFixture,
    );
  });

  it("leaves the customer out of the note when customer sync is off", () => {
    const { orderCart } = buildCloverOrderRequest(
      aConnection("http://unused", { syncCustomerInfo: false }),
      anOrder(),
    );
    expect(orderCart.note).toBe("Orderlane #7 (pickup)\nNote: Leave at the counter");
  });

  it("writes delivery and schedule details into the note, with the delivery order type", () => {
    const { orderCart } = buildCloverOrderRequest(
      aConnection("http://unused", {
        syncCustomerInfo: false,
        settings: { tenderId: TENDER, orderTypeDelivery: "ORDERTYPEDLVR1" },
      }),
      anOrder({
        orderType: "delivery",
        specialInstructions: null,
        scheduledFor: "2024-06-01T18:30:00.000Z",
        discount: 0,
        deliveryAddress: {
          line1: "401 Park Drive",
          city: "Boston",
          postalCode: "02215",
          region: "MA",
          country: "US",
        },
      }),
    );
    expect(orderCart.note).toBe(
      "Orderlane #7 (delivery)\nScheduled for 2024-06-01T18:30:00.000Z\nDeliver to: 401 Park Drive, 02215, Boston, MA, US",
    );
    expect(orderCart.orderType).toEqual({ id: "ORDERTYPEDLVR1" });
    expect(orderCart.discounts).toBeUndefined();
  });

  it("takes the order type connecting found over one in the credentials", () => {
    const { orderCart } = buildCloverOrderRequest(
      aConnection("http://unused", {
        settings: { tenderId: TENDER, orderTypePickup: "FOUND0PICKUP1" },
      }),
      anOrder(),
    );
    expect(orderCart.orderType).toEqual({ id: "FOUND0PICKUP1" });
  });

  it("refuses an order whose type has no Clover order type", () => {
    expect(() =>
      buildCloverOrderRequest(aConnection("http://unused"), anOrder({ orderType: "dine_in" })),
    ).toThrow(expect.objectContaining({ kind: "permanent", code: "missing_order_type" }));
  });

  it("records the total with tax and without the tip as the amount, the tip beside it", () => {
    expect(buildCloverPaymentRequest(anOrder(), TENDER)).toEqual({
      tender: { id: TENDER },
      amount: 1655,
      taxAmount: 130,
      tipAmount: 100,
      externalPaymentId: ORDER_ID,
      note: "Paid online, Orderlane #7",
    });
    expect(buildCloverPaymentRequest(anOrder({ total: 0, tip: 0, tax: 0 }), TENDER)).toBeNull();
  });

  it("refuses a price that is not whole cents", () => {
    const order = anOrder();
    const [latte] = order.lines;
    if (!latte) throw new Error("fixture order has a latte");
    expect(() =>
      buildCloverOrderRequest(aConnection("http://unused"), {
        ...order,
        lines: [{ ...latte, unitPrice: 4.75 }],
      }),
    ).toThrow("price of Latte 4.75 is not a whole number of cents");
  });

  it("reads the documented order list, create, order and payment answers", async () => {
    const seen: string[] = [];
    const fetchFixture: typeof fetch = async (input, init) => {
      const call = `${init?.method ?? "GET"} ${String(input)}`;
      seen.push(call);
      if (call.endsWith("/atomic_order/orders")) return Response.json(responseFixture);
      if (call.endsWith("/payments")) return Response.json(paymentFixture);
      if (call.includes("?expand=payments")) {
        return Response.json({ ...responseFixture, payments: { elements: [] } });
      }
      return Response.json({ elements: [] });
    };
    const created = await cloverAdapter.createOrder(
      aConnection("https://apisandbox.dev.clover.com"),
      anOrder(),
      { ...OPTIONS, fetch: fetchFixture },
    );
    expect(created).toEqual({ posOrderId: "GHIVJT2ABCRSC", alreadyExisted: false });
    const merchant = `https://apisandbox.dev.clover.com/v3/merchants/${MERCHANT}`;
    expect(seen).toEqual([
      `GET ${merchant}/orders?filter=title%3D${ORDER_ID}&limit=2`,
      `POST ${merchant}/atomic_order/orders`,
      `GET ${merchant}/orders/GHIVJT2ABCRSC?expand=payments`,
      `POST ${merchant}/orders/GHIVJT2ABCRSC/payments`,
    ]);
  });

  it("finds an existing order in the documented list answer and sees it already paid", async () => {
    const seen: string[] = [];
    const created = await cloverAdapter.createOrder(
      aConnection("https://apisandbox.dev.clover.com"),
      anOrder(),
      {
        ...OPTIONS,
        fetch: async (input, init) => {
          seen.push(`${init?.method ?? "GET"} ${String(input)}`);
          if (String(input).includes("?expand=payments")) {
            return Response.json({ ...responseFixture, payments: { elements: [paymentFixture] } });
          }
          return Response.json(listFixture);
        },
      },
    );
    expect(created).toEqual({ posOrderId: "GHIVJT2ABCRSC", alreadyExisted: true });
    expect(seen.filter((call) => call.startsWith("POST"))).toEqual([]);
  });

  it("reads the documented refresh answer into a rotated session", async () => {
    const session = await cloverAdapter.refreshSession(
      aConnection("https://apisandbox.dev.clover.com"),
      { ...OPTIONS, fetch: async () => Response.json(refreshFixture) },
    );
    expect(session).toEqual({
      accessToken: refreshFixture.access_token,
      expiresAt: "2024-06-01T12:30:00.000Z",
      refreshToken: "clvroar-7f0c2b9a1e3d4c5b6a7988f0e1d2c3b4",
    });
  });

  it("treats an answer it cannot read as retryable", async () => {
    const error = await posErrorOf(
      cloverAdapter.createOrder(aConnection("https://apisandbox.dev.clover.com"), anOrder(), {
        ...OPTIONS,
        fetch: async () => Response.json({ orders: "?" }),
      }),
    );
    expect(error).toMatchObject({ kind: "retryable", code: "bad_response" });
  });
});

// ---------------------------------------------------------------- status mapping

describe("clover status mapping", () => {
  it.each([
    [{ state: "open", paymentState: null }, "OPEN", null],
    [{ state: "open", paymentState: "OPEN" }, "OPEN", null],
    [{ state: null, paymentState: null }, "OPEN", null],
    [{ state: "locked", paymentState: "PARTIALLY_PAID" }, "PARTIALLY_PAID", null],
    // Our own payment record makes every order PAID: no news.
    [{ state: "locked", paymentState: "PAID" }, "PAID", null],
    [{ state: "locked", paymentState: "PARTIALLY_REFUNDED" }, "PARTIALLY_REFUNDED", null],
    [{ state: "locked", paymentState: "REFUNDED" }, "REFUNDED", "cancelled"],
    [{ state: "locked", paymentState: "CREDITED" }, "CREDITED", "cancelled"],
    [{ state: "open", paymentState: "OPEN", deletedTime: 1717243600000 }, "DELETED", "cancelled"],
  ])("%o → %s / %s", (order, vendorStatus, status) => {
    expect(mapCloverOrderStatus(order)).toEqual({ vendorStatus, status });
  });

  it.each([
    ["CREATE", null],
    ["UPDATE", null],
    ["DELETE", "cancelled"],
  ])("webhook type %s → %s", (type, status) => {
    expect(mapCloverWebhookType(type)).toBe(status);
  });
});

// --------------------------------------------------------------------- webhooks

describe("clover webhooks", () => {
  const raw = JSON.stringify(webhookFixture);

  it("accepts a message carrying the app's auth code", async () => {
    expect(
      await cloverAdapter.verifyWebhook(webhook(raw, signWebhook(raw, AUTH_CODE)), AUTH_CODE),
    ).toBe(true);
  });

  it("rejects a message with another auth code, a longer one, or none", async () => {
    expect(
      await cloverAdapter.verifyWebhook(webhook(raw, signWebhook(raw, "someone-else")), AUTH_CODE),
    ).toBe(false);
    expect(
      await cloverAdapter.verifyWebhook(
        webhook(raw, { "x-clover-auth": `${AUTH_CODE}0` }),
        AUTH_CODE,
      ),
    ).toBe(false);
    expect(await cloverAdapter.verifyWebhook(webhook(raw, {}), AUTH_CODE)).toBe(false);
  });

  it("cannot see a changed body: Clover sends an auth code, not a body signature", async () => {
    const headers = signWebhook(raw, AUTH_CODE);
    const tampered = raw.replace('"UPDATE"', '"DELETE"');
    expect(tampered).not.toBe(raw);
    expect(await cloverAdapter.verifyWebhook(webhook(tampered, headers), AUTH_CODE)).toBe(true);
  });

  it("parses the order events of the documented message and skips the rest", () => {
    expect(cloverAdapter.parseWebhook(webhook(raw, {}))).toEqual([
      {
        eventId: `${MERCHANT}:O:GHIVJT2ABCRSC:UPDATE:1717243500000`,
        posOrderId: "GHIVJT2ABCRSC",
        orderId: null,
        vendorStatus: "UPDATE",
        status: null,
        occurredAt: "2024-06-01T12:05:00.000Z",
      },
      {
        eventId: `${MERCHANT}:O:ZXCVBN0987654:DELETE:1717243600000`,
        posOrderId: "ZXCVBN0987654",
        orderId: null,
        vendorStatus: "DELETE",
        status: "cancelled",
        occurredAt: "2024-06-01T12:06:40.000Z",
      },
    ]);
  });

  it("refuses a body that is not a Clover message", async () => {
    const error = await posErrorOf(
      Promise.resolve().then(() =>
        cloverAdapter.parseWebhook(webhook('{"verificationCode":"x"}', {})),
      ),
    );
    expect(error).toMatchObject({ kind: "permanent", code: "invalid_webhook" });
  });
});

// --------------------------------------------------------- against the double

describe("clover adapter against the double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let connection: PosConnection;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [cloverDouble] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(async () => {
    double.reset();
    // The merchant's current token, as the connection was stored at install time.
    addAccessToken(double.state("clover"), "seed-access-token");
    // Connected as the connect route does: what checkConnection found goes into `settings`.
    const fresh = aConnection(double.baseUrl("clover"), { settings: {} });
    connection = {
      ...fresh,
      settings: (await cloverAdapter.checkConnection(fresh, OPTIONS)).settings,
    };
  });

  const posted = () =>
    double
      .requests("clover", `/v3/merchants/${MERCHANT}/atomic_order`)
      .filter((r) => r.method === "POST");

  it("creates the order and returns Clover's id", async () => {
    const created = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const stored = double.orders("clover").get(created.posOrderId);
    expect(created.alreadyExisted).toBe(false);
    expect(created.posOrderId).toMatch(/^[0-9A-F]{13}$/);
    expect(stored?.title).toBe(ORDER_ID);
    const [post] = posted();
    expect(post?.headers.authorization).toBe("Bearer seed-access-token");
    expect(JSON.parse(post?.body ?? "null")).toEqual(requestFixture);
    const [lookup] = double.requests("clover", `/v3/merchants/${MERCHANT}/orders?`);
    expect(lookup?.path).toBe(
      `/v3/merchants/${MERCHANT}/orders?filter=title%3D${ORDER_ID}&limit=2`,
    );
  });

  it("sends an item without a Clover id as a custom line by name and price", async () => {
    await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const [stored] = [...double.orders("clover").values()];
    const lines = z
      .object({
        lineItems: z.object({
          elements: z.array(z.looseObject({ name: z.string().optional(), price: z.number() })),
        }),
      })
      .parse(stored).lineItems.elements;
    expect(lines.filter((line) => line.name).map((line) => [line.name, line.price])).toEqual([
      ["Croissant", 350],
      ["Bagel (Cream cheese)", 425],
    ]);
    expect(lines).toHaveLength(4);
  });

  it("returns the same order, already existing, when created again", async () => {
    const first = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const second = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(second).toEqual({ posOrderId: first.posOrderId, alreadyExisted: true });
    expect(double.orders("clover").size).toBe(1);
    expect(posted()).toHaveLength(1);
  });

  it("keeps orders of other references and merchants apart", async () => {
    const first = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const second = await cloverAdapter.createOrder(
      connection,
      anOrder({ orderId: "ord_01JTEST0000000000000000003" }),
      OPTIONS,
    );
    expect(second.alreadyExisted).toBe(false);
    expect(second.posOrderId).not.toBe(first.posOrderId);
    const other = { ...connection, locationId: "ZZZ999YYY8887", settings: {} };
    const otherSettings = (await cloverAdapter.checkConnection(other, OPTIONS)).settings;
    const elsewhere = await cloverAdapter.createOrder(
      { ...other, settings: otherSettings },
      anOrder(),
      OPTIONS,
    );
    expect(elsewhere.alreadyExisted).toBe(false);
    expect(double.orders("clover").size).toBe(3);
  });

  it("finds an order whose create answer was lost instead of creating it twice", async () => {
    double.inject("clover", [{ kind: "accept_then_fail" }]);
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });

    const retried = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const [stored] = [...double.orders("clover").values()];
    expect(retried).toEqual({ posOrderId: stored?.id, alreadyExisted: true });
    expect(double.orders("clover").size).toBe(1);
  });

  it("classifies a 500 as retryable", async () => {
    double.inject("clover", [{ kind: "status", status: 500 }]);
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });
    expect(error.details.status).toBe(500);
    expect(double.orders("clover").size).toBe(0);
  });

  it("classifies a 429 as retryable with its Retry-After", async () => {
    double.inject("clover", [{ kind: "status", status: 429, retryAfter: 7 }]);
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "rate_limited" });
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 7 });
  });

  it("classifies a slow answer as a retryable timeout, and the retry finds the order", async () => {
    double.inject("clover", [{ kind: "delay", ms: 400 }]);
    const error = await posErrorOf(
      cloverAdapter.createOrder(connection, anOrder(), { timeoutMs: 100 }),
    );
    expect(error).toMatchObject({ kind: "retryable", code: "timeout" });
    await vi.waitFor(() => expect(double.orders("clover").size).toBe(1), { timeout: 2000 });
    const retried = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(retried.alreadyExisted).toBe(true);
    expect(double.orders("clover").size).toBe(1);
  });

  it("classifies a 400 as permanent and keeps Clover's message", async () => {
    double.inject("clover", [
      { kind: "status", status: 400, body: { message: "Invalid order type" } },
    ]);
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "rejected" });
    expect(error.details.vendorMessage).toBe('{"message":"Invalid order type"}');
  });

  it("answers a cart Clover rejects with a permanent error", async () => {
    const error = await posErrorOf(
      cloverAdapter.createOrder(connection, anOrder({ lines: [] }), OPTIONS),
    );
    expect(error).toMatchObject({ kind: "permanent", code: "rejected" });
    expect(error.details.vendorMessage).toContain("orderCart.lineItems must not be empty");
  });

  it("answers 401 with auth; after refreshSession the create succeeds", async () => {
    double.inject("clover", [{ kind: "unauthorized_once" }]);
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "auth", code: "unauthorized" });

    const session = await cloverAdapter.refreshSession(connection, OPTIONS);
    expect(session.accessToken).not.toBe("seed-access-token");
    expect(session.refreshToken).not.toBe("seed-refresh-token");
    const created = await cloverAdapter.createOrder({ ...connection, session }, anOrder(), OPTIONS);
    expect(created.alreadyExisted).toBe(false);
    expect(double.orders("clover").size).toBe(1);
  });

  it("refreshes with the rotated refresh token, and a used one is refused for good", async () => {
    const first = await cloverAdapter.refreshSession(connection, OPTIONS);
    const second = await cloverAdapter.refreshSession({ ...connection, session: first }, OPTIONS);
    expect(second.accessToken).not.toBe(first.accessToken);
    const [, secondCall] = double.requests("clover", "/oauth/v2/refresh");
    expect(JSON.parse(secondCall?.body ?? "null")).toEqual({
      client_id: "JD8KQZ3V1N2PA",
      refresh_token: first.refreshToken,
    });

    // The connection's original refresh token was spent by the first refresh.
    const error = await posErrorOf(cloverAdapter.refreshSession(connection, OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "refresh_failed" });
    expect(error.details.status).toBe(401);
  });

  it("answers an unknown token with auth", async () => {
    const error = await posErrorOf(
      cloverAdapter.createOrder(
        { ...connection, session: { accessToken: "forged", expiresAt: null, refreshToken: null } },
        anOrder(),
        OPTIONS,
      ),
    );
    expect(error).toMatchObject({ kind: "auth", code: "unauthorized" });
    expect(double.orders("clover").size).toBe(0);
  });

  it("sends no customer name, phone or email when customer sync is off", async () => {
    await cloverAdapter.createOrder({ ...connection, syncCustomerInfo: false }, anOrder(), OPTIONS);
    const body = posted()[0]?.body ?? "";
    for (const secret of ["Ana", "García", "ana@example.com", "+34600111222", "600111222"]) {
      expect(body).not.toContain(secret);
    }
    expect(body).toContain("Orderlane #7");
  });

  it("reads the order's status from Clover", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(await cloverAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
      vendorStatus: "PAID",
      status: null,
    });
    const stored = double.orders("clover").get(posOrderId);
    double.orders("clover").set(posOrderId, { ...stored, paymentState: "REFUNDED" });
    expect(await cloverAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
      vendorStatus: "REFUNDED",
      status: "cancelled",
    });
    double.orders("clover").delete(posOrderId);
    expect(await cloverAdapter.getOrderStatus(connection, posOrderId, OPTIONS)).toEqual({
      vendorStatus: "DELETED",
      status: "cancelled",
    });
  });

  it("parses the double's webhook for a created order", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const raw = JSON.stringify(
      orderEvent({
        appId: "DRKVJT2ZRRRSC",
        merchantId: MERCHANT,
        orderId: posOrderId,
        type: "DELETE",
        ts: 1717243600000,
      }),
    );
    const request = webhook(raw, signWebhook(raw, AUTH_CODE));
    expect(await cloverAdapter.verifyWebhook(request, AUTH_CODE)).toBe(true);
    expect(cloverAdapter.parseWebhook(request)).toEqual([
      {
        eventId: `${MERCHANT}:O:${posOrderId}:DELETE:1717243600000`,
        posOrderId,
        orderId: null,
        vendorStatus: "DELETE",
        status: "cancelled",
        occurredAt: "2024-06-01T12:06:40.000Z",
      },
    ]);
  });
});

// ------------------------------------------------------------- connect, pay, cancel

describe("clover connection check against the double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [cloverDouble] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
    addAccessToken(double.state("clover"), "seed-access-token");
  });

  /** A connection as the owner types it: a token, no order types, nothing found yet. */
  const fresh = (overrides: Partial<PosConnection> = {}): PosConnection =>
    aConnection(double.baseUrl("clover"), {
      credentials: { accessToken: "seed-access-token" },
      settings: {},
      ...overrides,
    });
  const orderTypes = () =>
    (double.state("clover").orderTypes as Map<string, { id: string; label: string }[]>).get(
      MERCHANT,
    ) ?? [];
  const ourTenders = () =>
    (
      (
        double.state("clover").tenders as Map<string, { id: string; labelKey: string | null }[]>
      ).get(MERCHANT) ?? []
    ).filter((tender) => tender.labelKey === CLOVER_TENDER_LABEL_KEY);

  it("reads the merchant's name, currency and time zone, and creates its order types and tender", async () => {
    const info = await cloverAdapter.checkConnection(fresh(), OPTIONS);
    expect(info).toMatchObject({
      name: `Test merchant ${MERCHANT}`,
      currency: "USD",
      timezone: "America/Los_Angeles",
    });
    expect(orderTypes().map((type) => [type.label, type.id])).toEqual([
      ["Online pickup", info.settings.orderTypePickup],
      ["Online delivery", info.settings.orderTypeDelivery],
      ["Online dine-in", info.settings.orderTypeDineIn],
    ]);
    expect(ourTenders().map((tender) => tender.id)).toEqual([info.settings.tenderId]);
    const [tenderPost] = double
      .requests("clover", `/v3/merchants/${MERCHANT}/tenders`)
      .filter((r) => r.method === "POST");
    expect(JSON.parse(tenderPost?.body ?? "null")).toMatchObject({
      labelKey: CLOVER_TENDER_LABEL_KEY,
      label: "Orderlane (paid online)",
      opensCashDrawer: false,
      enabled: true,
    });
  });

  it("finds what it created when connecting again, and creates nothing twice", async () => {
    const first = await cloverAdapter.checkConnection(fresh(), OPTIONS);
    const second = await cloverAdapter.checkConnection(fresh(), OPTIONS);
    expect(second.settings).toEqual(first.settings);
    expect(orderTypes()).toHaveLength(3);
    expect(ourTenders()).toHaveLength(1);
  });

  it("keeps the order types the credentials name and creates only the missing ones", async () => {
    const info = await cloverAdapter.checkConnection(
      fresh({
        credentials: { accessToken: "seed-access-token", orderTypePickup: "MERCHANTPKUP1" },
      }),
      OPTIONS,
    );
    expect(info.settings.orderTypePickup).toBeUndefined();
    expect(orderTypes().map((type) => type.label)).toEqual(["Online delivery", "Online dine-in"]);
  });

  it("upper-cases the currency and drops a time zone that is not IANA", async () => {
    double.state("clover").merchants = {
      [MERCHANT]: { name: "Bar Pinxo", currency: "eur", timezone: "Pacific Standard Time" },
    };
    const info = await cloverAdapter.checkConnection(fresh(), OPTIONS);
    expect(info).toMatchObject({ name: "Bar Pinxo", currency: "EUR", timezone: null });
  });

  it("answers a merchant Clover does not know with unknown_location", async () => {
    double.state("clover").merchants = { OTHERMERCHANT: { name: "Elsewhere" } };
    const error = await posErrorOf(cloverAdapter.checkConnection(fresh(), OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "unknown_location" });
    expect(error.details.status).toBe(404);
  });

  it("answers a refused token with auth, and creates nothing", async () => {
    const error = await posErrorOf(
      cloverAdapter.checkConnection(
        fresh({ credentials: { accessToken: "revoked-token" } }),
        OPTIONS,
      ),
    );
    expect(error).toMatchObject({ kind: "auth", code: "unauthorized" });
    expect(double.requests("clover").filter((r) => r.method === "POST")).toEqual([]);
  });

  it("keeps a 503 from the merchant endpoint retryable", async () => {
    double.state("clover").routeFaults = { "GET merchant": [{ kind: "status", status: 503 }] };
    const error = await posErrorOf(cloverAdapter.checkConnection(fresh(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });
  });
});

describe("clover payments and cancels against the double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let connection: PosConnection;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [cloverDouble] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(async () => {
    double.reset();
    addAccessToken(double.state("clover"), "seed-access-token");
    const base = aConnection(double.baseUrl("clover"), {
      credentials: { accessToken: "seed-access-token" },
      settings: {},
    });
    connection = {
      ...base,
      settings: (await cloverAdapter.checkConnection(base, OPTIONS)).settings,
    };
  });

  const paymentsOf = (posOrderId: string) =>
    (
      (double.state("clover").payments as Map<string, Record<string, unknown>[]> | undefined)?.get(
        posOrderId,
      ) ?? []
    ).map(({ tender, amount, taxAmount, tipAmount }) => ({ tender, amount, taxAmount, tipAmount }));

  it("records the customer's payment with our tender, so the register shows the order paid", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(paymentsOf(posOrderId)).toEqual([
      {
        tender: { id: connection.settings?.tenderId },
        amount: 1655,
        taxAmount: 130,
        tipAmount: 100,
      },
    ]);
    expect(double.orders("clover").get(posOrderId)?.paymentState).toBe("PAID");
  });

  it("records one payment when the answer to the first was lost", async () => {
    double.state("clover").routeFaults = { "POST payments": [{ kind: "accept_then_fail" }] };
    const error = await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    expect(error).toMatchObject({ kind: "retryable", code: "server_error" });

    const retried = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(retried.alreadyExisted).toBe(true);
    expect(paymentsOf(retried.posOrderId)).toHaveLength(1);
  });

  it("pays an order whose payment failed on the retry, once", async () => {
    double.state("clover").routeFaults = { "POST payments": [{ kind: "status", status: 502 }] };
    await posErrorOf(cloverAdapter.createOrder(connection, anOrder(), OPTIONS));
    const [stored] = [...double.orders("clover").values()];
    expect(paymentsOf(stored?.id)).toEqual([]);

    const retried = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(retried).toEqual({ posOrderId: stored?.id, alreadyExisted: true });
    expect(paymentsOf(retried.posOrderId)).toHaveLength(1);
  });

  it("refuses, before any call, an order for a connection without our tender or order type", async () => {
    double.received.length = 0;
    const noTender = await posErrorOf(
      cloverAdapter.createOrder(
        { ...connection, settings: { ...connection.settings, tenderId: "" } },
        anOrder(),
        OPTIONS,
      ),
    );
    expect(noTender).toMatchObject({ kind: "permanent", code: "missing_tender" });
    const noType = await posErrorOf(
      cloverAdapter.createOrder(
        { ...connection, settings: { tenderId: connection.settings?.tenderId ?? "" } },
        anOrder(),
        OPTIONS,
      ),
    );
    expect(noType).toMatchObject({ kind: "permanent", code: "missing_order_type" });
    expect(double.requests("clover")).toEqual([]);
  });

  it("sends the order type connecting created for each kind of order", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(
      connection,
      anOrder({ orderType: "dine_in" }),
      OPTIONS,
    );
    expect(double.orders("clover").get(posOrderId)?.orderType).toEqual({
      id: connection.settings?.orderTypeDineIn,
    });
  });

  it("does not cancel a paid order (staff refund it at the register)", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    expect(await cloverAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(false);
    expect(double.orders("clover").has(posOrderId)).toBe(true);
    expect(double.requests("clover").filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it("deletes an order with nothing paid, and answers true again once it is gone", async () => {
    const free = anOrder({ total: 0, tip: 0, tax: 0, discount: 1725 });
    const { posOrderId } = await cloverAdapter.createOrder(connection, free, OPTIONS);
    expect(paymentsOf(posOrderId)).toEqual([]);
    expect(await cloverAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(true);
    expect(double.orders("clover").has(posOrderId)).toBe(false);
    expect(await cloverAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(true);
    expect(double.requests("clover").filter((r) => r.method === "DELETE")).toHaveLength(1);
  });

  it("deletes an order whose payment staff voided", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    const payments = (double.state("clover").payments as Map<string, { result: string }[]>).get(
      posOrderId,
    );
    for (const payment of payments ?? []) payment.result = "VOIDED";
    expect(await cloverAdapter.cancelOrder(connection, posOrderId, OPTIONS)).toBe(true);
    expect(double.orders("clover").has(posOrderId)).toBe(false);
  });

  it("has no fulfillment state to move in Clover", async () => {
    const { posOrderId } = await cloverAdapter.createOrder(connection, anOrder(), OPTIONS);
    double.received.length = 0;
    expect(await cloverAdapter.updateFulfillment(connection, posOrderId, "ready", OPTIONS)).toBe(
      false,
    );
    expect(double.requests("clover")).toEqual([]);
  });
});

describe("clover webhook verification and merchants", () => {
  it("answers the code of Clover's URL verification request", () => {
    expect(cloverVerificationCode('{"verificationCode":"3f1a7c2e-5d4b"}')).toBe("3f1a7c2e-5d4b");
  });

  it("answers null for a message, an empty code or a body that is not JSON", () => {
    expect(cloverVerificationCode(JSON.stringify(webhookFixture))).toBeNull();
    expect(cloverVerificationCode('{"verificationCode":""}')).toBeNull();
    expect(cloverVerificationCode("verificationCode=1")).toBeNull();
  });

  it("splits a message by merchant, each part a message its tenant can verify and parse", () => {
    const parts = cloverMessagesByMerchant(JSON.stringify(webhookFixture));
    expect(parts.map((p) => p.merchantId)).toEqual([MERCHANT]);
    const request = (rawBody: string) => ({
      headers: {},
      rawBody,
      url: "https://x/webhooks/pos/clover",
    });
    expect(cloverAdapter.parseWebhook(request(parts[0]?.rawBody ?? ""))).toEqual(
      cloverAdapter.parseWebhook(request(JSON.stringify(webhookFixture))),
    );
    const two = cloverMessagesByMerchant(
      JSON.stringify({
        appId: "DRKVJT2ZRRRSC",
        merchants: {
          M1: [{ objectId: "O:A1", type: "UPDATE", ts: 1 }],
          M2: [{ objectId: "O:B2", type: "DELETE", ts: 2 }],
        },
      }),
    );
    expect(two.map((p) => p.merchantId)).toEqual(["M1", "M2"]);
    const second = cloverAdapter.parseWebhook(request(two[1]?.rawBody ?? ""));
    expect(second.map((r) => r.posOrderId)).toEqual(["B2"]);
    expect(cloverMessagesByMerchant('{"verificationCode":"x"}')).toEqual([]);
    expect(cloverMessagesByMerchant("not json")).toEqual([]);
  });
});
