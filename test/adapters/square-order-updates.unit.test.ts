import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  fulfillmentSteps,
  SQUARE_VERSION,
  squareAdapter,
  updateKey,
} from "../../src/adapters/pos/square";
import { type PosConnection, PosError, type PosOrder } from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import squareDouble from "../../tools/pos-double/square.mjs";
import { caught } from "../caught";
import cancelPaidOrder from "./fixtures/square-error-cancel-paid-order.json";
import locationNotFound from "./fixtures/square-error-location-not-found.json";
import unauthorized from "./fixtures/square-error-unauthorized.json";
import versionMismatch from "./fixtures/square-error-version-mismatch.json";
import retrieveLocation from "./fixtures/square-retrieve-location-response.json";
import retrieveOrderReserved from "./fixtures/square-retrieve-order-reserved.json";

// checkConnection, draftProblems, cancelOrder and updateFulfillment: against Square's documented
// answers (fixtures), then against the double, which enforces Square's rules.

const OPTIONS = { timeoutMs: 2_000 };
const ORDER_ID = retrieveOrderReserved.order.id;
const FULFILLMENT_UID = retrieveOrderReserved.order.fulfillments[0]?.uid ?? "";

function connectionTo(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "square",
    locationId: "L8RYWBB6DRWEM",
    credentials: { accessToken: "EAAA-initial-token" },
    session: null,
    baseUrl,
    syncCustomerInfo: true,
    ...overrides,
  };
}

interface Answer {
  status: number;
  body: unknown;
}

interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

/** A fetch answering `METHOD /path` from a queue of canned answers (the last one repeats), recording each call. */
function scriptedFetch(script: Record<string, Answer[]>, calls: Call[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? "GET";
    calls.push({
      method,
      path: url.pathname,
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    });
    const queue = script[`${method} ${url.pathname}`];
    const answer = queue && (queue.length > 1 ? queue.shift() : queue[0]);
    if (!answer) throw new Error(`unscripted call ${method} ${url.pathname}`);
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": "application/json" },
    });
  };
}

type FixtureOrder = typeof retrieveOrderReserved.order;

/** The reserved, paid order of the fixture, with `changes` (a fulfillment state, the version, unpaid…). */
function orderAnswer(
  changes: { fulfillmentState?: string; state?: string; version?: number; unpaid?: boolean } = {},
): Answer {
  const base: FixtureOrder = structuredClone(retrieveOrderReserved.order);
  const order: Record<string, unknown> = {
    ...base,
    state: changes.state ?? base.state,
    version: changes.version ?? base.version,
    fulfillments: base.fulfillments.map((f) => ({
      ...f,
      state: changes.fulfillmentState ?? f.state,
    })),
  };
  if (changes.unpaid) {
    delete order.tenders;
    order.net_amount_due_money = { amount: 650, currency: "USD" };
  }
  return { status: 200, body: { order } };
}

const putsOf = (calls: Call[]) => calls.filter((c) => c.method === "PUT");

// ---------------------------------------------------------------- pure parts

describe("fulfillmentSteps", () => {
  it.each([
    ["PROPOSED", "RESERVED", ["RESERVED"]],
    ["PROPOSED", "COMPLETED", ["RESERVED", "PREPARED", "COMPLETED"]],
    [null, "PREPARED", ["RESERVED", "PREPARED"]],
    ["RESERVED", "COMPLETED", ["PREPARED", "COMPLETED"]],
    ["PREPARED", "PREPARED", []],
    ["COMPLETED", "RESERVED", []],
    ["PREPARED", "RESERVED", []],
    ["CANCELED", "COMPLETED", []],
    ["FAILED", "PREPARED", []],
  ])("from %s to %s: %j", (current, target, steps) => {
    expect(fulfillmentSteps(current, target)).toEqual(steps);
  });

  it("keys each update by action, order and version, within Square's 192 characters", async () => {
    expect(await updateKey("CAISENgvlJ6jLWAzERDzjyHVybY", "cancel", 4)).toBe(
      "cancel:CAISENgvlJ6jLWAzERDzjyHVybY:v4",
    );
    const long = await updateKey("x".repeat(200), "cancel", 4);
    expect(long).toMatch(/^cancel:[0-9a-f]{64}$/);
    expect(long).not.toBe(await updateKey("x".repeat(200), "cancel", 5));
  });
});

describe("squareAdapter.draftProblems", () => {
  it("asks nothing of a draft: every order goes as a pickup, whose recipient is always named", () => {
    for (const orderType of ["pickup", "delivery", "dine_in"] as const) {
      for (const syncCustomerInfo of [true, false]) {
        expect(
          squareAdapter.draftProblems(
            {
              orderType,
              discounted: true,
              customer: { name: "", email: null, phone: null },
              deliveryAddress: null,
            },
            { syncCustomerInfo },
          ),
        ).toEqual([]);
      }
    }
  });
});

// ---------------------------------------------------------------- fixtures

describe("squareAdapter.checkConnection against Square's documented answers", () => {
  it("retrieves the location once and answers its name, currency and time zone", async () => {
    const calls: Call[] = [];
    const fetch = scriptedFetch(
      { "GET /v2/locations/L8RYWBB6DRWEM": [{ status: 200, body: retrieveLocation }] },
      calls,
    );
    expect(
      await squareAdapter.checkConnection(connectionTo("https://connect.squareup.com"), {
        ...OPTIONS,
        fetch,
      }),
    ).toEqual({
      id: retrieveLocation.location.id,
      name: "Mission St Kitchen",
      currency: "USD",
      timezone: "America/Los_Angeles",
      settings: {},
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.headers.get("authorization")).toBe("Bearer EAAA-initial-token");
    expect(calls[0]?.headers.get("square-version")).toBe(SQUARE_VERSION);
  });

  it("answers refused credentials as auth, an unknown location as unknown_location", async () => {
    const refused = await caught(
      squareAdapter.checkConnection(connectionTo("https://connect.squareup.com"), {
        ...OPTIONS,
        fetch: scriptedFetch(
          { "GET /v2/locations/L8RYWBB6DRWEM": [{ status: 401, body: unauthorized }] },
          [],
        ),
      }),
      PosError,
    );
    expect(refused.kind).toBe("auth");

    const missing = await caught(
      squareAdapter.checkConnection(connectionTo("https://connect.squareup.com"), {
        ...OPTIONS,
        fetch: scriptedFetch(
          { "GET /v2/locations/L8RYWBB6DRWEM": [{ status: 404, body: locationNotFound }] },
          [],
        ),
      }),
      PosError,
    );
    expect(missing.kind).toBe("permanent");
    expect(missing.code).toBe("unknown_location");
  });

  it("refuses an inactive location", async () => {
    const inactive = { location: { ...retrieveLocation.location, status: "INACTIVE" } };
    const error = await caught(
      squareAdapter.checkConnection(connectionTo("https://connect.squareup.com"), {
        ...OPTIONS,
        fetch: scriptedFetch(
          { "GET /v2/locations/L8RYWBB6DRWEM": [{ status: 200, body: inactive }] },
          [],
        ),
      }),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.code).toBe("location_inactive");
  });
});

describe("squareAdapter.cancelOrder against Square's documented answers", () => {
  const path = `/v2/orders/${ORDER_ID}`;
  const cancel = (script: Record<string, Answer[]>, calls: Call[]) =>
    squareAdapter.cancelOrder(connectionTo("https://connect.squareup.com"), ORDER_ID, {
      ...OPTIONS,
      fetch: scriptedFetch(script, calls),
    });

  it("cancels an unpaid order and its fulfillment at the version read, keyed by order and action", async () => {
    const calls: Call[] = [];
    const canceled = orderAnswer({ state: "CANCELED", fulfillmentState: "CANCELED", version: 5 });
    expect(
      await cancel(
        { [`GET ${path}`]: [orderAnswer({ unpaid: true })], [`PUT ${path}`]: [canceled] },
        calls,
      ),
    ).toBe(true);
    expect(calls.map((c) => c.method)).toEqual(["GET", "PUT"]);
    expect(calls[1]?.body).toEqual({
      idempotency_key: `cancel:${ORDER_ID}:v4`,
      order: {
        location_id: "L8RYWBB6DRWEM",
        version: 4,
        state: "CANCELED",
        fulfillments: [{ uid: FULFILLMENT_UID, state: "CANCELED" }],
      },
    });
  });

  it("cancels only the fulfillment of a paid order and answers false: Square keeps the sale", async () => {
    const calls: Call[] = [];
    expect(
      await cancel(
        {
          [`GET ${path}`]: [orderAnswer()],
          [`PUT ${path}`]: [orderAnswer({ fulfillmentState: "CANCELED", version: 5 })],
        },
        calls,
      ),
    ).toBe(false);
    expect(putsOf(calls).map((c) => c.body)).toEqual([
      {
        idempotency_key: `cancel:${ORDER_ID}:v4`,
        order: {
          location_id: "L8RYWBB6DRWEM",
          version: 4,
          fulfillments: [{ uid: FULFILLMENT_UID, state: "CANCELED" }],
        },
      },
    ]);
  });

  it("answers true for an order already canceled, false for a completed one, without an update", async () => {
    const calls: Call[] = [];
    expect(await cancel({ [`GET ${path}`]: [orderAnswer({ state: "CANCELED" })] }, calls)).toBe(
      true,
    );
    expect(
      await cancel(
        { [`GET ${path}`]: [orderAnswer({ state: "COMPLETED", fulfillmentState: "COMPLETED" })] },
        calls,
      ),
    ).toBe(false);
    expect(putsOf(calls)).toEqual([]);
  });

  it("reads again and retries once after VERSION_MISMATCH, then gives up", async () => {
    const calls: Call[] = [];
    const mismatch = { status: 409, body: versionMismatch };
    expect(
      await cancel(
        {
          [`GET ${path}`]: [
            orderAnswer({ unpaid: true }),
            orderAnswer({ unpaid: true, version: 6 }),
          ],
          [`PUT ${path}`]: [mismatch, orderAnswer({ state: "CANCELED", version: 7 })],
        },
        calls,
      ),
    ).toBe(true);
    expect(calls.map((c) => c.method)).toEqual(["GET", "PUT", "GET", "PUT"]);
    expect(
      putsOf(calls).map((c) => (c.body as { order: { version: number } }).order.version),
    ).toEqual([4, 6]);

    const again: Call[] = [];
    const error = await caught(
      cancel(
        { [`GET ${path}`]: [orderAnswer({ unpaid: true })], [`PUT ${path}`]: [mismatch] },
        again,
      ),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("VERSION_MISMATCH");
    expect(putsOf(again)).toHaveLength(2);
  });

  it("fails with Square's reason when Square refuses the cancel", async () => {
    const error = await caught(
      cancel(
        {
          [`GET ${path}`]: [orderAnswer({ unpaid: true })],
          [`PUT ${path}`]: [{ status: 400, body: cancelPaidOrder }],
        },
        [],
      ),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("Orders cannot be canceled after payments have been processed");
  });
});

describe("squareAdapter.updateFulfillment against Square's documented answers", () => {
  const path = `/v2/orders/${ORDER_ID}`;
  const update = (
    status: "preparing" | "ready" | "completed",
    script: Record<string, Answer[]>,
    calls: Call[],
  ) =>
    squareAdapter.updateFulfillment(
      connectionTo("https://connect.squareup.com"),
      ORDER_ID,
      status,
      {
        ...OPTIONS,
        fetch: scriptedFetch(script, calls),
      },
    );

  it("steps a reserved fulfillment through PREPARED to COMPLETED, completing the paid order with it", async () => {
    const calls: Call[] = [];
    expect(
      await update(
        "completed",
        {
          [`GET ${path}`]: [
            orderAnswer(),
            orderAnswer({ fulfillmentState: "PREPARED", version: 5 }),
          ],
          [`PUT ${path}`]: [
            orderAnswer({ fulfillmentState: "PREPARED", version: 5 }),
            orderAnswer({ state: "COMPLETED", fulfillmentState: "COMPLETED", version: 6 }),
          ],
        },
        calls,
      ),
    ).toBe(true);
    expect(putsOf(calls).map((c) => c.body)).toEqual([
      {
        idempotency_key: `fulfillment-prepared:${ORDER_ID}:v4`,
        order: {
          location_id: "L8RYWBB6DRWEM",
          version: 4,
          fulfillments: [{ uid: FULFILLMENT_UID, state: "PREPARED" }],
        },
      },
      {
        idempotency_key: `fulfillment-completed:${ORDER_ID}:v5`,
        order: {
          location_id: "L8RYWBB6DRWEM",
          version: 5,
          state: "COMPLETED",
          fulfillments: [{ uid: FULFILLMENT_UID, state: "COMPLETED" }],
        },
      },
    ]);
  });

  it("maps preparing to RESERVED and ready to PREPARED", async () => {
    const calls: Call[] = [];
    await update(
      "preparing",
      {
        [`GET ${path}`]: [orderAnswer({ fulfillmentState: "PROPOSED" })],
        [`PUT ${path}`]: [orderAnswer({ version: 5 })],
      },
      calls,
    );
    await update(
      "ready",
      {
        [`GET ${path}`]: [orderAnswer()],
        [`PUT ${path}`]: [orderAnswer({ fulfillmentState: "PREPARED", version: 5 })],
      },
      calls,
    );
    expect(
      putsOf(calls).map((c) => (c.body as { order: { fulfillments: unknown } }).order.fulfillments),
    ).toEqual([
      [{ uid: FULFILLMENT_UID, state: "RESERVED" }],
      [{ uid: FULFILLMENT_UID, state: "PREPARED" }],
    ]);
  });

  it("leaves the order open when completing a fulfillment of an order with money due", async () => {
    const calls: Call[] = [];
    await update(
      "completed",
      {
        [`GET ${path}`]: [orderAnswer({ fulfillmentState: "PREPARED", unpaid: true })],
        [`PUT ${path}`]: [orderAnswer({ fulfillmentState: "COMPLETED", version: 5 })],
      },
      calls,
    );
    expect(putsOf(calls).map((c) => (c.body as { order: object }).order)).toEqual([
      {
        location_id: "L8RYWBB6DRWEM",
        version: 4,
        fulfillments: [{ uid: FULFILLMENT_UID, state: "COMPLETED" }],
      },
    ]);
  });

  it.each([
    ["preparing", "RESERVED", "OPEN"],
    ["preparing", "PREPARED", "OPEN"],
    ["ready", "COMPLETED", "OPEN"],
    ["completed", "CANCELED", "OPEN"],
    ["ready", "FAILED", "OPEN"],
    ["preparing", "PROPOSED", "CANCELED"],
    ["completed", "PREPARED", "COMPLETED"],
  ] as const)(
    "to %s from %s in an %s order: nothing to do, true",
    async (status, fulfillmentState, state) => {
      const calls: Call[] = [];
      expect(
        await update(
          status,
          { [`GET ${path}`]: [orderAnswer({ fulfillmentState, state })] },
          calls,
        ),
      ).toBe(true);
      expect(calls.map((c) => c.method)).toEqual(["GET"]);
    },
  );

  it("answers false for an order without a fulfillment to move", async () => {
    const answer = orderAnswer();
    (answer.body as { order: { fulfillments: unknown[] } }).order.fulfillments = [];
    expect(await update("ready", { [`GET ${path}`]: [answer] }, [])).toBe(false);
  });
});

// ---------------------------------------------------------------- against the double

let orderSeq = 0;

function sampleOrder(overrides: Partial<PosOrder> = {}): PosOrder {
  orderSeq += 1;
  return {
    orderId: `ord_sq_upd_${Date.now()}_${orderSeq}`,
    number: 7,
    orderType: "pickup",
    customer: { name: "Ada Lovelace", email: null, phone: "+14155550100" },
    lines: [
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
    subtotal: 650,
    discount: 0,
    tax: 0,
    tip: 0,
    total: 650,
    specialInstructions: null,
    scheduledFor: null,
    deliveryAddress: null,
    createdAt: "2025-11-03T18:05:00.000Z",
    ...overrides,
  };
}

/** An order with nothing to pay, so createOrder records no payment and Square lets it be canceled. */
const freeOrder = () =>
  sampleOrder({
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
    total: 0,
  });

describe("squareAdapter against the Square double: connection, cancel, fulfillment", () => {
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

  const stored = (id: string) => double.orders("square").get(id);
  const updates = () => double.requests("square").filter((r) => r.method === "PUT");
  const created = async (order: PosOrder) =>
    (await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS)).posOrderId;

  /** A raw UpdateOrder to the double, for the rules the adapter never breaks itself. */
  async function rawUpdate(id: string, body: unknown) {
    const response = await fetch(`${baseUrl}/v2/orders/${id}`, {
      method: "PUT",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const errorCode = (answer: { body: Record<string, unknown> }) =>
    (answer.body.errors as Array<{ code: string }> | undefined)?.[0]?.code;

  it("checks the connection: the location, an unknown one, an inactive one, a revoked token", async () => {
    expect(await squareAdapter.checkConnection(connectionTo(baseUrl), OPTIONS)).toEqual({
      id: "L8RYWBB6DRWEM",
      name: "Double kitchen L8RYWBB6DRWEM",
      currency: "USD",
      timezone: "America/Los_Angeles",
      settings: {},
    });
    expect(double.requests("square").map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/locations/L8RYWBB6DRWEM",
    ]);

    const unknown = await caught(
      squareAdapter.checkConnection(
        connectionTo(baseUrl, { locationId: "LNOTOURS00000" }),
        OPTIONS,
      ),
      PosError,
    );
    expect(unknown.code).toBe("unknown_location");

    double.state("square").locations = {
      LCLOSED000001: { ...retrieveLocation.location, id: "LCLOSED000001", status: "INACTIVE" },
    };
    const inactive = await caught(
      squareAdapter.checkConnection(
        connectionTo(baseUrl, { locationId: "LCLOSED000001" }),
        OPTIONS,
      ),
      PosError,
    );
    expect(inactive.code).toBe("location_inactive");

    double.state("square").revokedTokens = new Set(["EAAA-initial-token"]);
    const revoked = await caught(
      squareAdapter.checkConnection(connectionTo(baseUrl), OPTIONS),
      PosError,
    );
    expect(revoked.kind).toBe("auth");
  });

  it("cancels an unpaid order and its fulfillment; a second cancel answers true without an update", async () => {
    const id = await created(freeOrder());
    expect(await squareAdapter.cancelOrder(connectionTo(baseUrl), id, OPTIONS)).toBe(true);
    expect(stored(id).state).toBe("CANCELED");
    expect(stored(id).fulfillments[0].state).toBe("CANCELED");
    expect(await squareAdapter.cancelOrder(connectionTo(baseUrl), id, OPTIONS)).toBe(true);
    expect(updates()).toHaveLength(1);
  });

  it("takes a paid order off the kitchen's queue but answers false: Square will not cancel it", async () => {
    const id = await created(sampleOrder());
    expect(await squareAdapter.cancelOrder(connectionTo(baseUrl), id, OPTIONS)).toBe(false);
    expect(stored(id).state).toBe("OPEN");
    expect(stored(id).fulfillments[0].state).toBe("CANCELED");

    // The double refuses what Square refuses: the order itself, paid, cannot become CANCELED.
    const refused = await rawUpdate(id, {
      idempotency_key: "raw-cancel",
      order: { version: stored(id).version, state: "CANCELED" },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain(
      "Orders cannot be canceled after payments have been processed",
    );
  });

  it("answers false for a completed order, and the double refuses to cancel it", async () => {
    const id = await created(sampleOrder());
    expect(
      await squareAdapter.updateFulfillment(connectionTo(baseUrl), id, "completed", OPTIONS),
    ).toBe(true);
    expect(stored(id).state).toBe("COMPLETED");
    const before = updates().length;
    expect(await squareAdapter.cancelOrder(connectionTo(baseUrl), id, OPTIONS)).toBe(false);
    expect(updates()).toHaveLength(before);

    const refused = await rawUpdate(id, {
      idempotency_key: "raw-cancel-completed",
      order: {
        version: stored(id).version,
        fulfillments: [{ uid: "fulfillment-0", state: "CANCELED" }],
      },
    });
    expect(refused.status).toBe(400);
    expect(stored(id).fulfillments[0].state).toBe("COMPLETED");
  });

  it("moves the fulfillment forward one state at a time and completes the order with it", async () => {
    const id = await created(sampleOrder());
    const connection = connectionTo(baseUrl);
    expect(await squareAdapter.updateFulfillment(connection, id, "preparing", OPTIONS)).toBe(true);
    expect(stored(id).fulfillments[0].state).toBe("RESERVED");
    expect(stored(id).state).toBe("OPEN");
    expect(await squareAdapter.updateFulfillment(connection, id, "ready", OPTIONS)).toBe(true);
    expect(stored(id).fulfillments[0].state).toBe("PREPARED");
    // Backwards is left alone.
    expect(await squareAdapter.updateFulfillment(connection, id, "preparing", OPTIONS)).toBe(true);
    expect(stored(id).fulfillments[0].state).toBe("PREPARED");
    expect(await squareAdapter.updateFulfillment(connection, id, "completed", OPTIONS)).toBe(true);
    expect(stored(id).fulfillments[0].state).toBe("COMPLETED");
    expect(stored(id).state).toBe("COMPLETED");
    expect(updates()).toHaveLength(3);
  });

  it("steps from PROPOSED through every state when asked straight for completed", async () => {
    const id = await created(sampleOrder());
    await squareAdapter.updateFulfillment(connectionTo(baseUrl), id, "completed", OPTIONS);
    expect(updates().map((r) => JSON.parse(r.body).order.fulfillments[0].state as string)).toEqual([
      "RESERVED",
      "PREPARED",
      "COMPLETED",
    ]);
    expect(stored(id).state).toBe("COMPLETED");
  });

  it("reads again after someone else changed the order, once", async () => {
    const id = await created(freeOrder());
    double.state("square").interleavedUpdates = 1;
    expect(await squareAdapter.cancelOrder(connectionTo(baseUrl), id, OPTIONS)).toBe(true);
    expect(stored(id).state).toBe("CANCELED");
    expect(updates()).toHaveLength(2);

    const other = await created(sampleOrder());
    double.state("square").interleavedUpdates = 2;
    const error = await caught(
      squareAdapter.updateFulfillment(connectionTo(baseUrl), other, "preparing", OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("VERSION_MISMATCH");
    expect(stored(other).fulfillments[0].state).toBe("PROPOSED");
  });

  it("the double: a stale version, a backwards move, a closed order and a reused key, as Square answers them", async () => {
    const id = await created(sampleOrder());
    const version = stored(id).version;
    const stale = await rawUpdate(id, {
      idempotency_key: "raw-1",
      order: { version: version - 1, fulfillments: [{ uid: "fulfillment-0", state: "RESERVED" }] },
    });
    expect(stale.status).toBe(409);
    expect(errorCode(stale)).toBe("VERSION_MISMATCH");
    const missing = await rawUpdate(id, { idempotency_key: "raw-2", order: {} });
    expect(missing.status).toBe(400);

    const prepared = await rawUpdate(id, {
      idempotency_key: "raw-3",
      order: { version, fulfillments: [{ uid: "fulfillment-0", state: "PREPARED" }] },
    });
    expect(prepared.status).toBe(200);
    const backwards = await rawUpdate(id, {
      idempotency_key: "raw-4",
      order: { version: version + 1, fulfillments: [{ uid: "fulfillment-0", state: "RESERVED" }] },
    });
    expect(backwards.status).toBe(400);
    expect(stored(id).fulfillments[0].state).toBe("PREPARED");

    // A used key answers the order as it is, the new change not applied.
    const reused = await rawUpdate(id, {
      idempotency_key: "raw-3",
      order: { version: version + 1, fulfillments: [{ uid: "fulfillment-0", state: "COMPLETED" }] },
    });
    expect(reused.status).toBe(200);
    expect(stored(id).fulfillments[0].state).toBe("PREPARED");

    const early = await rawUpdate(id, {
      idempotency_key: "raw-5",
      order: { version: version + 1, state: "COMPLETED" },
    });
    expect(early.status).toBe(400);
    const done = await rawUpdate(id, {
      idempotency_key: "raw-6",
      order: {
        version: version + 1,
        state: "COMPLETED",
        fulfillments: [{ uid: "fulfillment-0", state: "COMPLETED" }],
      },
    });
    expect(done.status).toBe(200);
    const closed = await rawUpdate(id, {
      idempotency_key: "raw-7",
      order: { version: version + 2, fulfillments: [{ uid: "fulfillment-0", state: "CANCELED" }] },
    });
    expect(closed.status).toBe(400);
    expect(stored(id).state).toBe("COMPLETED");

    // A completed order cannot be canceled, even with nothing paid and every fulfillment final.
    const free = await created(freeOrder());
    await squareAdapter.updateFulfillment(connectionTo(baseUrl), free, "completed", OPTIONS);
    expect(stored(free).state).toBe("COMPLETED");
    const cancelCompleted = await rawUpdate(free, {
      idempotency_key: "raw-8",
      order: { version: stored(free).version, state: "CANCELED" },
    });
    expect(cancelCompleted.status).toBe(400);
    expect(stored(free).state).toBe("COMPLETED");
  });
});
