import { createHmac } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  mapSquareStatus,
  SQUARE_VERSION,
  squareAdapter,
  squarePaymentKey,
  toSquareCreateOrderRequest,
} from "../../src/adapters/pos/square";
import { type PosConnection, PosError, type PosOrder } from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import squareDouble, { signWebhook } from "../../tools/pos-double/square.mjs";
import { caught } from "../caught";
import { until } from "../wait";
import createOrderResponse from "./fixtures/square-create-order-response.json";
import createPaymentResponse from "./fixtures/square-create-payment-response.json";
import idempotencyReused from "./fixtures/square-error-idempotency-reused.json";
import missingLocation from "./fixtures/square-error-missing-location.json";
import unauthorized from "./fixtures/square-error-unauthorized.json";
import obtainTokenResponse from "./fixtures/square-obtain-token-response.json";
import retrieveOrderReserved from "./fixtures/square-retrieve-order-reserved.json";
import fulfillmentUpdated from "./fixtures/square-webhook-order-fulfillment-updated.json";
import orderUpdated from "./fixtures/square-webhook-order-updated.json";
import paymentUpdated from "./fixtures/square-webhook-payment-updated.json";

// ---------------------------------------------------------------- helpers

let orderSeq = 0;

/**
 * Two lines (a catalog burger with a catalog modifier, an ad hoc soup),
 * 10% off, 8.75% tax, a tip: subtotal 3150 − 315 + 248 + 400 = 3483.
 */
function sampleOrder(overrides: Partial<PosOrder> = {}): PosOrder {
  orderSeq += 1;
  return {
    orderId: `ord_sq_${Date.now()}_${orderSeq}`,
    number: 42,
    orderType: "pickup",
    customer: { name: "Ada Lovelace", email: "ada@example.com", phone: "+14155550100" },
    lines: [
      {
        menuItemId: "mi_burger",
        name: "Burger",
        quantity: 2,
        unitPrice: 1250,
        basePrice: 1100,
        posItemId: "GXYGCA5LHWTKKZ3ZXLAODZLM",
        modifiers: [{ name: "Cheese", price: 150, posModifierId: "CHEESE4MODIFIER7ID2XQ" }],
        specialInstructions: "No onions",
      },
      {
        menuItemId: "mi_soup",
        name: "Seasonal soup",
        quantity: 1,
        unitPrice: 650,
        basePrice: 650,
        posItemId: null,
        modifiers: [],
        specialInstructions: null,
      },
    ],
    currency: "USD",
    subtotal: 3150,
    discount: 315,
    tax: 248,
    tip: 400,
    total: 3483,
    specialInstructions: "Ring the bell",
    scheduledFor: null,
    deliveryAddress: null,
    createdAt: "2025-11-03T18:05:00.000Z",
    ...overrides,
  };
}

function connectionTo(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "square",
    locationId: "L8RYWBB6DRWEM",
    credentials: {
      accessToken: "EAAA-initial-token",
      clientId: "sq0idp-client",
      clientSecret: "sq0csp-secret",
      refreshToken: "EQAA-refresh-token",
    },
    session: null,
    baseUrl,
    syncCustomerInfo: true,
    ...overrides,
  };
}

interface StubCall {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

/** A fetch that answers by path from canned Square answers and records each call. */
function stubFetch(
  answers: Record<string, { status: number; body: unknown; headers?: Record<string, string> }>,
  calls: StubCall[],
): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({
      url,
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : "",
    });
    const path = new URL(url).pathname;
    const answer = answers[path];
    if (!answer) return new Response(JSON.stringify(unauthorized), { status: 404 });
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": "application/json", ...answer.headers },
    });
  };
}

const OPTIONS = { timeoutMs: 2_000 };

// ---------------------------------------------------------------- mapping

describe("toSquareCreateOrderRequest", () => {
  it("builds Square's CreateOrder body with our order id as idempotency key and reference", () => {
    const order = sampleOrder({ orderId: "ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4" });
    expect(toSquareCreateOrderRequest(order, "L8RYWBB6DRWEM", true)).toEqual({
      idempotency_key: "ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4",
      order: {
        location_id: "L8RYWBB6DRWEM",
        reference_id: "ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4",
        source: { name: "Orderlane" },
        ticket_name: "Orderlane #42",
        pricing_options: { auto_apply_taxes: false, auto_apply_discounts: false },
        line_items: [
          {
            quantity: "2",
            catalog_object_id: "GXYGCA5LHWTKKZ3ZXLAODZLM",
            base_price_money: { amount: 1100, currency: "USD" },
            modifiers: [
              {
                catalog_object_id: "CHEESE4MODIFIER7ID2XQ",
                base_price_money: { amount: 150, currency: "USD" },
              },
            ],
            note: "No onions",
          },
          {
            quantity: "1",
            name: "Seasonal soup",
            base_price_money: { amount: 650, currency: "USD" },
          },
        ],
        discounts: [
          {
            uid: "orderlane-discount",
            name: "Discount",
            type: "FIXED_AMOUNT",
            amount_money: { amount: 315, currency: "USD" },
            scope: "ORDER",
          },
        ],
        service_charges: [
          {
            uid: "orderlane-tax",
            name: "Tax",
            amount_money: { amount: 248, currency: "USD" },
            calculation_phase: "TOTAL_PHASE",
            taxable: false,
          },
        ],
        fulfillments: [
          {
            type: "PICKUP",
            state: "PROPOSED",
            pickup_details: {
              recipient: {
                display_name: "Ada Lovelace",
                email_address: "ada@example.com",
                phone_number: "+14155550100",
              },
              schedule_type: "ASAP",
              note: "Ring the bell",
            },
          },
        ],
      },
    });
  });

  it("sends items and modifiers without a POS id by name, at our prices", () => {
    const order = sampleOrder({
      lines: [
        {
          menuItemId: "mi_x",
          name: "Off-menu special",
          quantity: 3,
          unitPrice: 900,
          basePrice: 800,
          posItemId: null,
          modifiers: [{ name: "Extra sauce", price: 100, posModifierId: null }],
          specialInstructions: null,
        },
      ],
      discount: 0,
      tax: 0,
    });
    const request = toSquareCreateOrderRequest(order, "L1", true);
    expect(request.order.line_items).toEqual([
      {
        quantity: "3",
        name: "Off-menu special",
        base_price_money: { amount: 800, currency: "USD" },
        modifiers: [{ name: "Extra sauce", base_price_money: { amount: 100, currency: "USD" } }],
      },
    ]);
    expect(request.order.discounts).toBeUndefined();
    expect(request.order.service_charges).toBeUndefined();
  });

  it("derives the base price from the unit price so Square's line total is ours", () => {
    const order = sampleOrder();
    const [first] = order.lines;
    if (!first) throw new Error("sample has lines");
    // A stale basePrice must not change what Square charges.
    const lines = [{ ...first, basePrice: 999 }];
    const request = toSquareCreateOrderRequest({ ...order, lines }, "L1", true);
    expect(request.order.line_items[0]?.base_price_money).toEqual({
      amount: 1100,
      currency: "USD",
    });
  });

  it("schedules a pickup at scheduledFor", () => {
    const request = toSquareCreateOrderRequest(
      sampleOrder({ scheduledFor: "2025-11-03T19:30:00.000Z", specialInstructions: null }),
      "L1",
      true,
    );
    expect(request.order.fulfillments[0]?.pickup_details).toEqual({
      recipient: {
        display_name: "Ada Lovelace",
        email_address: "ada@example.com",
        phone_number: "+14155550100",
      },
      schedule_type: "SCHEDULED",
      pickup_at: "2025-11-03T19:30:00.000Z",
    });
  });

  it("sends a delivery as a pickup for the driver, the address in the note", () => {
    const request = toSquareCreateOrderRequest(
      sampleOrder({
        orderType: "delivery",
        deliveryAddress: {
          line1: "1 Market St",
          line2: "Floor 3",
          city: "San Francisco",
          region: "CA",
          postalCode: "94105",
          country: "US",
        },
      }),
      "L1",
      true,
    );
    expect(request.order.fulfillments).toHaveLength(1);
    expect(request.order.fulfillments[0]?.type).toBe("PICKUP");
    expect(request.order.fulfillments[0]?.pickup_details.note).toBe(
      "Delivery to 1 Market St, Floor 3, San Francisco, CA, 94105, US. Ring the bell",
    );
  });

  it("gives dine-in orders a pickup fulfillment too, marked in the note", () => {
    const request = toSquareCreateOrderRequest(
      sampleOrder({ orderType: "dine_in", specialInstructions: null }),
      "L1",
      true,
    );
    expect(request.order.fulfillments[0]?.pickup_details.note).toBe("Dine in");
    expect(request.order.fulfillments[0]?.pickup_details.schedule_type).toBe("ASAP");
  });

  it("keeps name, phone and email out when syncCustomerInfo is off or there is no customer", () => {
    for (const [order, sync] of [
      [sampleOrder(), false],
      [sampleOrder({ customer: null }), true],
    ] as const) {
      const request = toSquareCreateOrderRequest(order, "L1", sync);
      expect(request.order.fulfillments[0]?.pickup_details.recipient).toEqual({
        display_name: "Order #42",
      });
      const text = JSON.stringify(request);
      expect(text).not.toContain("Ada");
      expect(text).not.toContain("ada@example.com");
      expect(text).not.toContain("4155550100");
    }
  });

  it("cuts notes to Square's limits instead of having the order refused", () => {
    const request = toSquareCreateOrderRequest(
      sampleOrder({ specialInstructions: "x".repeat(800) }),
      "L1",
      true,
    );
    expect(request.order.fulfillments[0]?.pickup_details.note).toHaveLength(500);
  });

  it("keys the payment by our order id within Square's 45 characters", async () => {
    expect(await squarePaymentKey("ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4")).toBe(
      "pay:ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4",
    );
    const long = await squarePaymentKey("o".repeat(60));
    expect(long).toMatch(/^pay:[0-9a-f]{40}$/);
    expect(long).toBe(await squarePaymentKey("o".repeat(60)));
  });
});

describe("mapSquareStatus", () => {
  it.each([
    ["OPEN", null, "confirmed"],
    ["OPEN", "PROPOSED", "confirmed"],
    ["OPEN", "RESERVED", "preparing"],
    ["OPEN", "PREPARED", "ready"],
    ["OPEN", "COMPLETED", "completed"],
    ["OPEN", "CANCELED", "cancelled"],
    ["OPEN", "FAILED", null],
    ["OPEN", "SOME_NEW_STATE", null],
    ["COMPLETED", null, "completed"],
    ["COMPLETED", "PREPARED", "completed"],
    ["CANCELED", "PROPOSED", "cancelled"],
    ["CANCELED", null, "cancelled"],
    ["DRAFT", "PROPOSED", null],
    ["SOME_NEW_STATE", null, null],
    [null, "RESERVED", null],
  ])("order %s, fulfillment %s → %s", (orderState, fulfillmentState, expected) => {
    expect(mapSquareStatus(orderState, fulfillmentState)).toBe(expected);
  });
});

// ---------------------------------------------------------------- fixtures (Square's documented shapes)

describe("squareAdapter against Square's documented answers", () => {
  it("creates the order, then records the EXTERNAL payment with the tip", async () => {
    const calls: StubCall[] = [];
    const fetch = stubFetch(
      {
        "/v2/orders": { status: 200, body: createOrderResponse },
        "/v2/payments": { status: 200, body: createPaymentResponse },
      },
      calls,
    );
    const order = sampleOrder({ orderId: "ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4" });
    const created = await squareAdapter.createOrder(
      connectionTo("https://connect.squareup.com/"),
      order,
      { ...OPTIONS, fetch },
    );
    // The ASAP pickup's pickup_at, which Square set to now plus the prep time.
    expect(created).toEqual({
      posOrderId: "CAISENgvlJ6jLWAzERDzjyHVybY",
      alreadyExisted: false,
      estimatedReadyAt: "2025-11-03T18:20:00.000Z",
    });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "POST https://connect.squareup.com/v2/orders",
      "POST https://connect.squareup.com/v2/payments",
    ]);
    for (const call of calls) {
      expect(call.headers.get("authorization")).toBe("Bearer EAAA-initial-token");
      expect(call.headers.get("square-version")).toBe(SQUARE_VERSION);
      expect(call.headers.get("content-type")).toBe("application/json");
    }
    expect(JSON.parse(calls[1]?.body ?? "")).toEqual({
      idempotency_key: "pay:ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4",
      source_id: "EXTERNAL",
      amount_money: { amount: 3083, currency: "USD" },
      tip_money: { amount: 400, currency: "USD" },
      order_id: "CAISENgvlJ6jLWAzERDzjyHVybY",
      location_id: "L8RYWBB6DRWEM",
      reference_id: "ord_01JD7K3M5XQ8Z2V4N6B8C0D2F4",
      autocomplete: true,
      external_details: { type: "OTHER", source: "Orderlane online payment" },
    });
  });

  it("does not pay an order whose Square total differs from ours", async () => {
    const calls: StubCall[] = [];
    const fetch = stubFetch(
      {
        "/v2/orders": { status: 200, body: createOrderResponse },
        "/v2/payments": { status: 200, body: createPaymentResponse },
      },
      calls,
    );
    const error = await caught(
      squareAdapter.createOrder(
        connectionTo("https://connect.squareup.com"),
        sampleOrder({ total: 3484 }),
        { ...OPTIONS, fetch },
      ),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("total_mismatch");
    expect(error.message).toContain("Square computed 3083");
    expect(calls).toHaveLength(1);
  });

  it("turns Square's error envelope into the failure message", async () => {
    const fetch = stubFetch({ "/v2/orders": { status: 400, body: missingLocation } }, []);
    const error = await caught(
      squareAdapter.createOrder(connectionTo("https://connect.squareup.com"), sampleOrder(), {
        ...OPTIONS,
        fetch,
      }),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("rejected");
    expect(error.details.status).toBe(400);
    expect(error.message).toBe(
      "POS answered 400: INVALID_REQUEST_ERROR/MISSING_REQUIRED_PARAMETER at order.location_id: Field must be set",
    );
  });

  it("treats IDEMPOTENCY_KEY_REUSED as permanent: the order changed between attempts", async () => {
    const fetch = stubFetch({ "/v2/orders": { status: 400, body: idempotencyReused } }, []);
    const error = await caught(
      squareAdapter.createOrder(connectionTo("https://connect.squareup.com"), sampleOrder(), {
        ...OPTIONS,
        fetch,
      }),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("idempotency_key_reused");
  });

  it("classifies 401 as auth, for the caller's one refresh", async () => {
    const fetch = stubFetch({ "/v2/orders": { status: 401, body: unauthorized } }, []);
    const error = await caught(
      squareAdapter.createOrder(connectionTo("https://connect.squareup.com"), sampleOrder(), {
        ...OPTIONS,
        fetch,
      }),
      PosError,
    );
    expect(error.kind).toBe("auth");
    expect(error.message).toContain("AUTHENTICATION_ERROR/UNAUTHORIZED");
  });

  it("asks for a refresh when there is no access token at all", async () => {
    const connection = connectionTo("https://connect.squareup.com", {
      credentials: { clientId: "c", clientSecret: "s", refreshToken: "r" },
    });
    const error = await caught(
      squareAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("auth");
    expect(error.code).toBe("no_access_token");
  });

  it("reads RetrieveOrder's order and fulfillment state", async () => {
    const calls: StubCall[] = [];
    const fetch = stubFetch(
      { "/v2/orders/CAISENgvlJ6jLWAzERDzjyHVybY": { status: 200, body: retrieveOrderReserved } },
      calls,
    );
    const status = await squareAdapter.getOrderStatus(
      connectionTo("https://connect.squareup.com"),
      "CAISENgvlJ6jLWAzERDzjyHVybY",
      { ...OPTIONS, fetch },
    );
    expect(status).toEqual({ vendorStatus: "OPEN:RESERVED", status: "preparing" });
    expect(calls[0]?.method).toBe("GET");
  });

  it("refreshes with ObtainToken's answer, keeping the refresh token Square returns", async () => {
    const calls: StubCall[] = [];
    const fetch = stubFetch({ "/oauth2/token": { status: 200, body: obtainTokenResponse } }, calls);
    const session = await squareAdapter.refreshSession(
      connectionTo("https://connect.squareup.com"),
      { ...OPTIONS, fetch },
    );
    expect(session).toEqual({
      accessToken: "EAAAEPFexampleRefreshedAccessToken0123456789",
      expiresAt: "2025-12-03T18:05:12.000Z",
      refreshToken: "EQAAEPhFexampleRefreshToken0123456789",
    });
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      client_id: "sq0idp-client",
      client_secret: "sq0csp-secret",
      grant_type: "refresh_token",
      refresh_token: "EQAA-refresh-token",
    });
    expect(calls[0]?.headers.get("authorization")).toBeNull();
  });

  it("parses order.fulfillment.updated into a status report", () => {
    const reports = squareAdapter.parseWebhook({
      headers: {},
      rawBody: JSON.stringify(fulfillmentUpdated),
      url: "https://orderlane.example/webhooks/pos/square/acme",
    });
    expect(reports).toEqual([
      {
        eventId: "b3adf364-4937-436e-a833-49c72b4baee8",
        posOrderId: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY",
        orderId: null,
        vendorStatus: "OPEN:RESERVED",
        status: "preparing",
        occurredAt: "2020-04-16T23:16:30.789Z",
      },
    ]);
  });

  it("parses order.updated by the order's own state", () => {
    const reports = squareAdapter.parseWebhook({
      headers: {},
      rawBody: JSON.stringify(orderUpdated),
      url: "https://orderlane.example/webhooks/pos/square/acme",
    });
    expect(reports).toEqual([
      {
        eventId: "4b8e5c91-9f17-4cf1-900a-4a0629f81add",
        posOrderId: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY",
        orderId: null,
        vendorStatus: "COMPLETED",
        status: "completed",
        occurredAt: "2020-04-16T23:14:26.359Z",
      },
    ]);
  });

  it("ignores events that are not about orders, and refuses bodies that are not Square events", () => {
    const request = (rawBody: string) => ({ headers: {}, rawBody, url: "https://x.example/" });
    expect(squareAdapter.parseWebhook(request(JSON.stringify(paymentUpdated)))).toEqual([]);
    expect(() => squareAdapter.parseWebhook(request("not json"))).toThrow(PosError);
    expect(() =>
      squareAdapter.parseWebhook(
        request(JSON.stringify({ ...orderUpdated, data: { type: "order", object: {} } })),
      ),
    ).toThrow("Square order.updated without its order");
  });
});

// ---------------------------------------------------------------- webhook signatures

describe("squareAdapter.verifyWebhook", () => {
  const key = "sq-signature-key-0123456789";
  const url = "https://orderlane.example/webhooks/pos/square/acme";
  const rawBody = JSON.stringify(fulfillmentUpdated);

  it("accepts Square's signature over the notification URL and the raw body", async () => {
    const headers = signWebhook(rawBody, key, url);
    // Recomputed here independently of both the double and the adapter.
    expect(headers["x-square-hmacsha256-signature"]).toBe(
      createHmac("sha256", key)
        .update(url + rawBody)
        .digest("base64"),
    );
    expect(await squareAdapter.verifyWebhook({ headers, rawBody, url }, key)).toBe(true);
  });

  it("refuses a tampered body, a wrong key, another URL or no signature", async () => {
    const headers = signWebhook(rawBody, key, url);
    const tampered = rawBody.replace("RESERVED", "PREPARED");
    expect(await squareAdapter.verifyWebhook({ headers, rawBody: tampered, url }, key)).toBe(false);
    expect(await squareAdapter.verifyWebhook({ headers, rawBody, url }, "another-key")).toBe(false);
    expect(await squareAdapter.verifyWebhook({ headers, rawBody, url: `${url}?x=1` }, key)).toBe(
      false,
    );
    expect(await squareAdapter.verifyWebhook({ headers: {}, rawBody, url }, key)).toBe(false);
    expect(
      await squareAdapter.verifyWebhook(
        { headers: { "x-square-hmacsha256-signature": "%%%not base64%%%" }, rawBody, url },
        key,
      ),
    ).toBe(false);
    expect(await squareAdapter.verifyWebhook({ headers, rawBody, url }, "")).toBe(false);
  });

  it("lets a replayed notification through the signature and relies on its event id", async () => {
    // Square signs no timestamp, so a replay verifies; it carries the same
    // event_id, which the webhook route records to ignore the second copy.
    const headers = signWebhook(rawBody, key, url);
    const first = { headers, rawBody, url };
    const replay = { headers: { ...headers }, rawBody: `${rawBody}`, url };
    expect(await squareAdapter.verifyWebhook(replay, key)).toBe(true);
    expect(squareAdapter.parseWebhook(replay)[0]?.eventId).toBe(
      squareAdapter.parseWebhook(first)[0]?.eventId,
    );
  });
});

// ---------------------------------------------------------------- against the double

describe("squareAdapter against the Square double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let baseUrl: string;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [squareDouble] });
    baseUrl = double.baseUrl("square");
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
  });

  const ordersAtDouble = () => [...double.orders("square").values()];
  const paymentsAtDouble = (): unknown[] => {
    const payments = double.state("square").payments;
    return payments instanceof Map ? [...payments.values()] : [];
  };

  it("creates the order and pays it, at exactly our totals", async () => {
    const order = sampleOrder();
    const created = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    const stored = ordersAtDouble();
    expect(stored).toHaveLength(1);
    const squareOrder = stored[0];
    expect(created).toEqual({
      posOrderId: squareOrder.id,
      alreadyExisted: false,
      estimatedReadyAt: squareOrder.fulfillments[0].pickup_details.pickup_at,
    });
    expect(Date.parse(created.estimatedReadyAt ?? "")).toBeGreaterThan(Date.now());
    expect(squareOrder.reference_id).toBe(order.orderId);
    // Square's own arithmetic: lines − discount + tax charge = our total less the tip...
    expect(squareOrder.total_money).toEqual({ amount: order.total - order.tip, currency: "USD" });
    expect(squareOrder.total_discount_money).toEqual({ amount: order.discount, currency: "USD" });
    expect(squareOrder.total_service_charge_money).toEqual({ amount: order.tax, currency: "USD" });
    // ...and the tip rides on the payment, so order total + tip = our total.
    expect(squareOrder.total_tip_money).toEqual({ amount: order.tip, currency: "USD" });
    expect(squareOrder.total_money.amount + squareOrder.total_tip_money.amount).toBe(order.total);
    expect(paymentsAtDouble()).toEqual([
      expect.objectContaining({
        source_type: "EXTERNAL",
        order_id: squareOrder.id,
        total_money: { amount: order.total, currency: "USD" },
      }),
    ]);
    const [request] = double.requests("square", "/v2/orders");
    expect(request?.headers.authorization).toBe("Bearer EAAA-initial-token");
    expect(request?.headers["square-version"]).toBe(SQUARE_VERSION);
    expect(JSON.parse(request?.body ?? "").idempotency_key).toBe(order.orderId);
  });

  it("returns the same order for a repeated create, and Square holds one order and one payment", async () => {
    const order = sampleOrder();
    const first = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    const second = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    expect(second.posOrderId).toBe(first.posOrderId);
    expect(ordersAtDouble()).toHaveLength(1);
    expect(paymentsAtDouble()).toHaveLength(1);
    expect(double.requests("square", "/v2/orders")).toHaveLength(2);
  });

  it("retries after accept_then_fail without a second order", async () => {
    const order = sampleOrder();
    double.inject("square", [{ kind: "accept_then_fail", status: 502 }]);
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("retryable");
    expect(error.details.status).toBe(502);
    expect(ordersAtDouble()).toHaveLength(1);
    expect(paymentsAtDouble()).toHaveLength(0);

    const created = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    expect(ordersAtDouble()).toHaveLength(1);
    expect(created.posOrderId).toBe(ordersAtDouble()[0].id);
    expect(paymentsAtDouble()).toHaveLength(1);
  });

  it("makes a 500 retryable", async () => {
    double.inject("square", [{ kind: "status", status: 500 }]);
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), sampleOrder(), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("retryable");
    expect(error.code).toBe("server_error");
    expect(error.message).toContain("API_ERROR/INTERNAL_SERVER_ERROR");
    expect(ordersAtDouble()).toHaveLength(0);
  });

  it("makes a 429 retryable after its Retry-After", async () => {
    double.inject("square", [{ kind: "status", status: 429, retryAfter: 7 }]);
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), sampleOrder(), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("retryable");
    expect(error.code).toBe("rate_limited");
    expect(error.details.retryAfterSeconds).toBe(7);
  });

  it("gives up on a slow answer as a retryable timeout, and the retry finds the same order", async () => {
    const order = sampleOrder();
    double.inject("square", [{ kind: "delay", ms: 400 }]);
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), order, { timeoutMs: 100 }),
      PosError,
    );
    expect(error.kind).toBe("retryable");
    expect(error.code).toBe("timeout");
    // The slow call still lands at Square; the retry must not duplicate it.
    await until(ordersAtDouble, (orders) => orders.length === 1, 3_000, "the delayed order");
    const created = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    expect(created.posOrderId).toBe(ordersAtDouble()[0].id);
    expect(ordersAtDouble()).toHaveLength(1);
  });

  it("makes a 400 permanent, with Square's field in the message", async () => {
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl, { locationId: "" }), sampleOrder(), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.details.status).toBe(400);
    expect(error.message).toContain("MISSING_REQUIRED_PARAMETER at order.location_id");

    double.inject("square", [{ kind: "status", status: 400 }]);
    const injected = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), sampleOrder(), OPTIONS),
      PosError,
    );
    expect(injected.kind).toBe("permanent");
  });

  it("refuses the same order id with a changed order as IDEMPOTENCY_KEY_REUSED", async () => {
    const order = sampleOrder();
    await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    const changed = { ...order, specialInstructions: "Changed", total: order.total };
    const error = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), changed, OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("idempotency_key_reused");
    expect(ordersAtDouble()).toHaveLength(1);
  });

  it("answers 401 as auth; after refreshSession the create succeeds with the new token", async () => {
    const order = sampleOrder();
    double.inject("square", [{ kind: "unauthorized_once" }]);
    const connection = connectionTo(baseUrl);
    const error = await caught(squareAdapter.createOrder(connection, order, OPTIONS), PosError);
    expect(error.kind).toBe("auth");
    expect(ordersAtDouble()).toHaveLength(0);

    // The old token stays refused until refreshed.
    const again = await caught(squareAdapter.createOrder(connection, order, OPTIONS), PosError);
    expect(again.kind).toBe("auth");

    const session = await squareAdapter.refreshSession(connection, OPTIONS);
    const issued = double.state("square").issuedTokens;
    expect(Array.isArray(issued) ? issued : []).toEqual([session.accessToken]);
    expect(session.refreshToken).toBe("EQAA-refresh-token");
    expect(Date.parse(session.expiresAt ?? "")).toBeGreaterThan(Date.now());

    const created = await squareAdapter.createOrder({ ...connection, session }, order, OPTIONS);
    expect(created.posOrderId).toBe(ordersAtDouble()[0].id);
    const last = double.requests("square", "/v2/orders").at(-1);
    expect(last?.headers.authorization).toBe(`Bearer ${session.accessToken}`);
  });

  it("fails permanently when Square refuses the refresh token", async () => {
    double.state("square").refreshRefused = true;
    const error = await caught(
      squareAdapter.refreshSession(connectionTo(baseUrl), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("refresh_failed");
    const missing = await caught(
      squareAdapter.refreshSession(
        connectionTo(baseUrl, { credentials: { accessToken: "x" } }),
        OPTIONS,
      ),
      PosError,
    );
    expect(missing.code).toBe("refresh_unavailable");
  });

  it("sends no customer name, phone or email when syncCustomerInfo is off", async () => {
    const order = sampleOrder();
    await squareAdapter.createOrder(
      connectionTo(baseUrl, { syncCustomerInfo: false }),
      order,
      OPTIONS,
    );
    for (const request of double.requests("square")) {
      expect(request.body).not.toContain("Ada");
      expect(request.body).not.toContain("ada@example.com");
      expect(request.body).not.toContain("4155550100");
      expect(request.body).not.toContain("email_address");
      expect(request.body).not.toContain("phone_number");
    }
    const recipient = ordersAtDouble()[0].fulfillments[0].pickup_details.recipient;
    expect(recipient).toEqual({ display_name: "Order #42" });
  });

  it("skips the payment for an order with nothing to pay", async () => {
    const order = sampleOrder({
      lines: [
        {
          menuItemId: "mi_water",
          name: "Tap water",
          quantity: 1,
          unitPrice: 0,
          basePrice: 0,
          posItemId: null,
          modifiers: [],
          specialInstructions: null,
        },
      ],
      subtotal: 0,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 0,
    });
    await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    expect(ordersAtDouble()).toHaveLength(1);
    expect(paymentsAtDouble()).toHaveLength(0);
  });

  it("reads the status the kitchen set", async () => {
    const created = await squareAdapter.createOrder(connectionTo(baseUrl), sampleOrder(), OPTIONS);
    expect(
      await squareAdapter.getOrderStatus(connectionTo(baseUrl), created.posOrderId, OPTIONS),
    ).toEqual({
      vendorStatus: "OPEN:PROPOSED",
      status: "confirmed",
    });
    double.orders("square").get(created.posOrderId).fulfillments[0].state = "PREPARED";
    expect(
      await squareAdapter.getOrderStatus(connectionTo(baseUrl), created.posOrderId, OPTIONS),
    ).toEqual({
      vendorStatus: "OPEN:PREPARED",
      status: "ready",
    });
    const missing = await caught(
      squareAdapter.getOrderStatus(connectionTo(baseUrl), "NOPE", OPTIONS),
      PosError,
    );
    expect(missing.kind).toBe("permanent");
    expect(missing.message).toContain("NOT_FOUND");
  });
});
