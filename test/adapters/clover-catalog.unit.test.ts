import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CLOVER_PAGE_LIMIT,
  cloverAdapter,
  cloverItemAvailable,
  mapCloverCatalog,
} from "../../src/adapters/pos/clover";
import { withRateLimitRetries } from "../../src/adapters/pos/http";
import {
  type PosCallOptions,
  type PosCatalog,
  type PosConnection,
  PosError,
  type PosOrder,
  type WebhookRequest,
} from "../../src/adapters/pos/types";
import cloverDouble, {
  addAccessToken,
  bigInventory,
  DEFAULT_INVENTORY,
} from "../../tools/pos-double/clover.mjs";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import orderWebhook from "./fixtures/clover-webhook.json";
// Shaped as Clover's webhook message ({ appId, merchants: { mId: [{ objectId, type, ts }] } }, "I:" for
// inventory items): https://docs.clover.com/docs/webhooks
import inventoryWebhook from "./fixtures/clover-webhook-inventory.json";

const MERCHANT = "ABC123DEF4567";
const TOKEN = "seed-access-token";
const OPTIONS: PosCallOptions = { timeoutMs: 5000 };

/**
 * A café's inventory in Clover's wire format: the demo's, plus an open-priced soup, an item Clover
 * marks unavailable, one with stock at zero that Clover does not manage, one in both categories,
 * and the categories listed out of their sort order.
 */
const CAFE = {
  categories: [...DEFAULT_INVENTORY.categories].reverse(),
  modifierGroups: [
    ...DEFAULT_INVENTORY.modifierGroups,
    {
      id: "MGEXTRAS00001",
      name: "Extras",
      minRequired: 0,
      modifierIds: "MODSYRUP00001,MODSHOT000001",
      // Listed in another order than `modifierIds`, which is the group's own order.
      modifiers: {
        elements: [
          { id: "MODSHOT000001", name: "Extra shot", price: 80, available: true },
          { id: "MODSYRUP00001", name: "Vanilla syrup", price: 40 },
        ],
      },
    },
  ],
  items: [
    ...DEFAULT_INVENTORY.items,
    item({
      id: "ITMSOUPOFDAY1",
      name: "Soup of the day",
      price: 0,
      priceType: "VARIABLE",
      categories: { elements: [{ id: "CATBAKERY0001" }] },
    }),
    item({ id: "ITMMUFFIN0001", name: "Muffin", price: 300, available: false }),
    item({
      id: "ITMCOOKIE0001",
      name: "Cookie",
      price: 150,
      autoManage: false,
      itemStock: { item: { id: "ITMCOOKIE0001" }, quantity: 0, stockCount: 0 },
    }),
    item({
      id: "ITMMOCHA00001",
      name: "Mocha",
      price: 500,
      categories: { elements: [{ id: "CATBAKERY0001" }, { id: "CATCOFFEE0001" }] },
      modifierGroups: { elements: [{ id: "MGMILK0000001" }, { id: "MGEXTRAS00001" }] },
    }),
  ],
};

function item(fields: Record<string, unknown>) {
  return {
    hidden: false,
    available: true,
    priceType: "FIXED",
    categories: { elements: [{ id: "CATBAKERY0001" }] },
    modifierGroups: { elements: [] },
    ...fields,
  };
}

const MILK = {
  posGroupId: "MGMILK0000001",
  name: "Milk",
  minSelections: 1,
  maxSelections: 1,
  modifiers: [
    modifier("MODWHOLE00001", "Whole milk", 0),
    modifier("MODOAT0000001", "Oat milk", 50),
    { ...modifier("MODALMOND0001", "Almond milk", 60), available: false },
  ],
};

function modifier(id: string, name: string, price: number) {
  return { posModifierId: id, posStockId: id, name, price, available: true, maxQuantity: 1 };
}

function catalogItem(
  id: string,
  name: string,
  price: number,
  fields: Partial<PosCatalog["items"][number]> = {},
) {
  return {
    posItemId: id,
    posStockId: id,
    name,
    description: null,
    price,
    posCategoryId: "CATBAKERY0001",
    available: true,
    modifierGroups: [],
    ...fields,
  };
}

function webhook(body: unknown): WebhookRequest {
  return {
    rawBody: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "x-clover-auth": "0307e264-b33a-4913-88aa-37b10014a0b8" },
    url: "https://orderlane.example/webhooks/pos/clover/acme",
  };
}

async function posErrorOf(promise: Promise<unknown>): Promise<PosError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(error instanceof PosError)) throw new Error(`expected a PosError, got ${String(error)}`);
  return error;
}

// ---------------------------------------------------------------------- pure

describe("clover item availability", () => {
  it.each([
    [{ available: true }, true],
    [{ available: false }, false],
    [{ available: true, autoManage: true, itemStock: { quantity: 0 } }, false],
    [{ available: true, autoManage: true, itemStock: { quantity: -2 } }, false],
    [{ available: true, autoManage: true, itemStock: { quantity: 0.5 } }, true],
    [{ available: true, autoManage: true, stockCount: 0 }, false],
    [{ available: true, autoManage: true }, true],
    [{ available: true, autoManage: false, itemStock: { quantity: 0 } }, true],
    [{}, true],
  ])("%j is available: %s", (wire, expected) => {
    expect(cloverItemAvailable(wire)).toBe(expected);
  });
});

describe("withRateLimitRetries", () => {
  const rateLimited = (retryAfterSeconds?: number) =>
    new PosError("retryable", "rate_limited", "POS answered 429", {
      status: 429,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  const policy = (waits: number[]) => ({
    retries: 3,
    maxWaitSeconds: 10,
    defaultWaitSeconds: 1,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  });

  it("waits out each 429 by its Retry-After, one second without it", async () => {
    const waits: number[] = [];
    const answers = [rateLimited(2), rateLimited(), "ok"];
    const result = await withRateLimitRetries(async () => {
      const next = answers.shift();
      if (next instanceof PosError) throw next;
      return next;
    }, policy(waits));
    expect(result).toBe("ok");
    expect(waits).toEqual([2000, 1000]);
  });

  it("throws the fourth 429 after three waits", async () => {
    const waits: number[] = [];
    let calls = 0;
    const error = await posErrorOf(
      withRateLimitRetries(async () => {
        calls += 1;
        throw rateLimited(0);
      }, policy(waits)),
    );
    expect([error.code, calls, waits]).toEqual(["rate_limited", 4, [0, 0, 0]]);
  });

  it("throws at once a 429 that asks for more than the longest wait, and any other failure", async () => {
    const waits: number[] = [];
    const long = await posErrorOf(
      withRateLimitRetries(async () => {
        throw rateLimited(21);
      }, policy(waits)),
    );
    const serverError = await posErrorOf(
      withRateLimitRetries(async () => {
        throw new PosError("retryable", "server_error", "POS answered 503", { status: 503 });
      }, policy(waits)),
    );
    expect([long.details.retryAfterSeconds, serverError.code, waits]).toEqual([
      21,
      "server_error",
      [],
    ]);
  });
});

describe("clover catalog mapping", () => {
  it("takes the first of an item's categories by sort order, and drops one Clover did not list", () => {
    const catalog = mapCloverCatalog(
      {
        categories: [
          { id: "CATB", name: "B", sortOrder: 5 },
          { id: "CATA", name: "A", sortOrder: 1 },
        ],
        modifierGroups: [],
        items: [
          {
            id: "I1",
            name: "One",
            price: 100,
            categories: { elements: [{ id: "CATGONE" }, { id: "CATB" }, { id: "CATA" }] },
          },
          { id: "I2", name: "Two", price: 100, categories: { elements: [{ id: "CATGONE" }] } },
        ],
      },
      null,
    );
    expect(catalog.items.map((i) => i.posCategoryId)).toEqual(["CATA", null]);
  });

  it("reads a group without maxAllowed, or with 0, as unbounded", () => {
    const catalog = mapCloverCatalog(
      {
        categories: [],
        modifierGroups: [
          { id: "G1", name: "No max", minRequired: 2 },
          { id: "G2", name: "Zero max", maxAllowed: 0 },
          { id: "G3", name: "Three", maxAllowed: 3 },
        ],
        items: [
          {
            id: "I1",
            name: "One",
            price: 100,
            modifierGroups: { elements: [{ id: "G1" }, { id: "G2" }, { id: "G3" }] },
          },
        ],
      },
      null,
    );
    expect(catalog.items[0]?.modifierGroups.map((g) => [g.minSelections, g.maxSelections])).toEqual(
      [
        [2, null],
        [0, null],
        [0, 3],
      ],
    );
  });
});

// --------------------------------------------------------- against the double

describe("clover readCatalog against the double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let connection: PosConnection;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [cloverDouble] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
    addAccessToken(double.state("clover"), TOKEN);
    connection = {
      provider: "clover",
      locationId: MERCHANT,
      credentials: { accessToken: TOKEN },
      session: null,
      baseUrl: double.baseUrl("clover"),
      syncCustomerInfo: true,
      settings: {},
    };
  });

  const state = () => double.state("clover");
  const inventoryCalls = (resource: string) =>
    double.requests("clover", `/v3/merchants/${MERCHANT}/${resource}?`);
  const queryOf = (path: string) => new URL(path, "http://double.local").searchParams;

  it("maps the merchant's inventory: names, prices, ids, groups, categories, stock", async () => {
    state().inventory = CAFE;
    const catalog = await cloverAdapter.readCatalog?.(connection, OPTIONS);
    expect(catalog).toEqual({
      categories: [
        { posCategoryId: "CATCOFFEE0001", name: "Coffee", sortOrder: 1 },
        { posCategoryId: "CATBAKERY0001", name: "Bakery", sortOrder: 2 },
      ],
      currency: null,
      items: [
        catalogItem("ITMLATTE00001", "Latte", 425, {
          posCategoryId: "CATCOFFEE0001",
          modifierGroups: [MILK],
        }),
        catalogItem("ITMFLATWHITE1", "Flat white", 450, {
          posCategoryId: "CATCOFFEE0001",
          modifierGroups: [MILK],
        }),
        catalogItem("ITMCROISSANT1", "Croissant", 350),
        // Stock tracked by Clover and none left.
        catalogItem("ITMBANANABRD1", "Banana bread", 375, { available: false }),
        // The hidden staff meal is not on the menu.
        catalogItem("ITMSOUPOFDAY1", "Soup of the day", 0),
        catalogItem("ITMMUFFIN0001", "Muffin", 300, { available: false }),
        // Stock at zero that Clover does not manage does not make the item unavailable.
        catalogItem("ITMCOOKIE0001", "Cookie", 150),
        catalogItem("ITMMOCHA00001", "Mocha", 500, {
          posCategoryId: "CATCOFFEE0001",
          modifierGroups: [
            MILK,
            {
              posGroupId: "MGEXTRAS00001",
              name: "Extras",
              minSelections: 0,
              maxSelections: null,
              modifiers: [
                modifier("MODSYRUP00001", "Vanilla syrup", 40),
                modifier("MODSHOT000001", "Extra shot", 80),
              ],
            },
          ],
        }),
      ],
    });
  });

  it("asks for the nested lists it maps and authenticates as the connection's other calls do", async () => {
    await cloverAdapter.readCatalog?.(connection, OPTIONS);
    const [items] = inventoryCalls("items");
    const [groups] = inventoryCalls("modifier_groups");
    expect(queryOf(items?.path ?? "").get("expand")).toBe("categories,modifierGroups,itemStock");
    expect(queryOf(groups?.path ?? "").get("expand")).toBe("modifiers");
    expect(items?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("answers the currency connecting stored, upper case", async () => {
    const withCurrency = await cloverAdapter.readCatalog?.(
      { ...connection, settings: { currency: "usd" } },
      OPTIONS,
    );
    expect(withCurrency?.currency).toBe("USD");
  });

  it("reads a 2 000-item inventory across pages of Clover's maximum 1 000", async () => {
    state().inventory = bigInventory(2000);
    const catalog = await cloverAdapter.readCatalog?.(connection, OPTIONS);
    const items = catalog?.items ?? [];
    const pages = inventoryCalls("items").map((r) => queryOf(r.path));
    expect(CLOVER_PAGE_LIMIT).toBe(1000);
    expect(pages.map((q) => [q.get("limit"), q.get("offset")])).toEqual([
      ["1000", "0"],
      ["1000", "1000"],
      ["1000", "2000"],
    ]);
    expect(items.length).toBe(2000);
    expect(new Set(items.map((i) => i.posItemId)).size).toBe(2000);
    expect([items[0]?.posItemId, items[0]?.price, items[0]?.posCategoryId]).toEqual([
      "B000000000000",
      100,
      "CATBIGFOOD001",
    ]);
    expect([items[1999]?.posItemId, items[1999]?.price, items[1999]?.posCategoryId]).toEqual([
      "B000000001999",
      2099,
      "CATBIGDRINK01",
    ]);
    expect(items[1999]?.modifierGroups.map((g) => g.modifiers.map((m) => m.name))).toEqual([
      ["Small", "Large"],
    ]);
  });

  it("waits out a 429 with Retry-After: 1 in the middle of the paging, once", async () => {
    state().inventory = bigInventory(1500);
    // Categories, modifier groups and the first items page go through; the second answers 429.
    const through = { kind: "delay", ms: 0 };
    state().catalogFaults = [
      through,
      through,
      through,
      { kind: "status", status: 429, retryAfter: 1 },
    ];
    const catalog = await cloverAdapter.readCatalog?.(connection, OPTIONS);
    expect(inventoryCalls("items").map((r) => queryOf(r.path).get("offset"))).toEqual([
      "0",
      "1000",
      "1000",
    ]);
    expect(catalog?.items.length).toBe(1500);
  });

  it("gives up with a retryable PosError after three waits on a 429 that persists", async () => {
    state().catalogFaults = Array.from({ length: 5 }, () => ({
      kind: "status",
      status: 429,
      retryAfter: 0,
    }));
    const error = await posErrorOf(
      cloverAdapter.readCatalog?.(connection, OPTIONS) ?? Promise.resolve(),
    );
    expect([error.kind, error.code, error.details.status]).toEqual([
      "retryable",
      "rate_limited",
      429,
    ]);
    expect(inventoryCalls("categories").length).toBe(4);
  });

  it("does not call again before a long Retry-After, and hands the wait to the caller", async () => {
    state().catalogFaults = [{ kind: "status", status: 429, retryAfter: 21 }];
    const error = await posErrorOf(
      cloverAdapter.readCatalog?.(connection, OPTIONS) ?? Promise.resolve(),
    );
    expect([error.kind, error.details.retryAfterSeconds]).toEqual(["retryable", 21]);
    expect(inventoryCalls("categories").length).toBe(1);
  });

  it("answers a refused token with auth", async () => {
    const error = await posErrorOf(
      cloverAdapter.readCatalog?.(
        { ...connection, credentials: { accessToken: "revoked-token" } },
        OPTIONS,
      ) ?? Promise.resolve(),
    );
    expect([error.kind, error.code, error.details.status]).toEqual(["auth", "unauthorized", 401]);
  });

  it("orders an imported item with its modifier by the ids Clover knows", async () => {
    state().inventory = CAFE;
    const connected = {
      ...connection,
      settings: (await cloverAdapter.checkConnection(connection, OPTIONS)).settings,
    };
    const catalog = await cloverAdapter.readCatalog?.(connected, OPTIONS);
    const latte = catalog?.items.find((i) => i.name === "Latte");
    const oat = latte?.modifierGroups[0]?.modifiers.find((m) => m.name === "Oat milk");
    if (!latte || !oat) throw new Error("the import has no latte with oat milk");
    const order: PosOrder = {
      orderId: "ord_01JCATALOG000000000000001",
      number: 12,
      orderType: "pickup",
      customer: null,
      lines: [
        {
          menuItemId: "latte",
          name: latte.name,
          quantity: 1,
          unitPrice: latte.price + oat.price,
          basePrice: latte.price,
          posItemId: latte.posItemId,
          modifiers: [{ name: oat.name, price: oat.price, posModifierId: oat.posModifierId }],
          specialInstructions: null,
        },
      ],
      currency: "USD",
      subtotal: 475,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 475,
      specialInstructions: null,
      scheduledFor: null,
      deliveryAddress: null,
      createdAt: "2024-06-01T12:00:00.000Z",
    };
    const created = await cloverAdapter.createOrder(connected, order, OPTIONS);
    const stored = double.orders("clover").get(created.posOrderId);
    const [line] = stored?.lineItems.elements ?? [];
    expect(line?.item).toEqual({ id: "ITMLATTE00001" });
    expect(line?.modifications.elements.map((m: { modifier: unknown }) => m.modifier)).toEqual([
      { id: "MODOAT0000001" },
    ]);
    // Clover priced the line from its inventory as the menu did, so our payment settles it.
    expect([stored?.total, stored?.paymentState]).toEqual([475, "PAID"]);
  });

  it("is refused by the double for an item id the inventory does not have", async () => {
    state().inventory = CAFE;
    const connected = {
      ...connection,
      settings: (await cloverAdapter.checkConnection(connection, OPTIONS)).settings,
    };
    const error = await posErrorOf(
      cloverAdapter.createOrder(
        connected,
        {
          orderId: "ord_01JCATALOG000000000000002",
          number: 13,
          orderType: "pickup",
          customer: null,
          lines: [
            {
              menuItemId: "gone",
              name: "Gone",
              quantity: 1,
              unitPrice: 100,
              basePrice: 100,
              posItemId: "ITMNOTTHERE01",
              modifiers: [],
              specialInstructions: null,
            },
          ],
          currency: "USD",
          subtotal: 100,
          discount: 0,
          tax: 0,
          tip: 0,
          total: 100,
          specialInstructions: null,
          scheduledFor: null,
          deliveryAddress: null,
          createdAt: "2024-06-01T12:00:00.000Z",
        },
        OPTIONS,
      ),
    );
    expect([error.kind, error.details.status]).toEqual(["permanent", 400]);
  });
});

// ------------------------------------------------------------------ webhooks

describe("clover menu signals", () => {
  const parse = (body: unknown) => cloverAdapter.parseMenuSignals?.(webhook(body));

  it("turns a message with several inventory updates into one catalog_changed", () => {
    const signals = parse(inventoryWebhook);
    expect(signals).toHaveLength(1);
    expect(signals?.[0]?.kind).toBe("catalog_changed");
    expect(signals?.[0]?.eventId).toMatch(/^clover-inventory:[0-9a-f]{16}$/);
  });

  it("derives the same event id from the same updates in any order, another from other updates", () => {
    const updates = inventoryWebhook.merchants[MERCHANT];
    const reordered = {
      ...inventoryWebhook,
      merchants: { [MERCHANT]: [...updates].reverse() },
    };
    const later = {
      ...inventoryWebhook,
      merchants: {
        [MERCHANT]: updates.map((u) => (u.objectId.startsWith("I:") ? { ...u, ts: u.ts + 1 } : u)),
      },
    };
    const id = (body: unknown) => parse(body)?.[0]?.eventId;
    expect(id(reordered)).toBe(id(inventoryWebhook));
    expect(id(later)).not.toBe(id(inventoryWebhook));
  });

  it("reads the item stock and availability event types Clover splits off as a change too", () => {
    const body = (objectId: string) => ({
      appId: "DRKVJT2ZRRRSC",
      merchants: { [MERCHANT]: [{ objectId, type: "UPDATE", ts: 1717243500000 }] },
    });
    expect(parse(body("IS:ITMLATTE00001"))?.map((s) => s.kind)).toEqual(["catalog_changed"]);
    expect(parse(body("IA:ITMLATTE00001"))?.map((s) => s.kind)).toEqual(["catalog_changed"]);
  });

  it("answers [] for a message without inventory updates", () => {
    expect(parse(orderWebhook)).toEqual([]);
  });

  it("answers [] for a body that is not a Clover message", () => {
    expect(parse("not json")).toEqual([]);
    expect(parse({})).toEqual([]);
    expect(parse({ appId: "X", merchants: { [MERCHANT]: "I:ITMLATTE00001" } })).toEqual([]);
    expect(parse(["I:ITMLATTE00001"])).toEqual([]);
  });
});
