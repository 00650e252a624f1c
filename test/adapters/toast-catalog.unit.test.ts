import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { withRateLimitRetries } from "../../src/adapters/pos/http";
import { toastAdapter } from "../../src/adapters/pos/toast";
import {
  type PosCallOptions,
  type PosCatalog,
  type PosCatalogItem,
  type PosConnection,
  PosError,
  type PosOrder,
  type WebhookRequest,
} from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import toastDouble, { bigMenu } from "../../tools/pos-double/toast.mjs";
import orderUpdatedFixture from "./fixtures/toast-order-updated-webhook.json";
import menusUpdatedFixture from "./fixtures/toast-webhook-menus-updated.json";
import inStockFixture from "./fixtures/toast-webhook-stock-in-stock.json";
import lowQuantityFixture from "./fixtures/toast-webhook-stock-low-quantity.json";
import outOfStockFixture from "./fixtures/toast-webhook-stock-out-of-stock.json";

const RESTAURANT = "4622e7a9-b4be-3fef-9220-b3dad273e0b4";
const OPTIONS: PosCallOptions = { timeoutMs: 5000 };

// ---------------------------------------------------------------- the menu

const LUNCH = "a0000001-0000-4000-8000-000000000001";
const DINNER = "a0000001-0000-4000-8000-000000000002";
const SANDWICHES = "a0000002-0000-4000-8000-000000000001";
const WRAPS = "a0000002-0000-4000-8000-000000000002";
const SOUPS = "a0000002-0000-4000-8000-000000000003";
const SECRET = "a0000002-0000-4000-8000-000000000004";
const DINNER_SANDWICHES = "a0000002-0000-4000-8000-000000000005";
const TURKEY_CLUB = "a0000003-0000-4000-8000-000000000001";
const CHICKEN_WRAP = "a0000003-0000-4000-8000-000000000002";
const TOMATO_SOUP = "a0000003-0000-4000-8000-000000000003";
const SOUP_OF_THE_DAY = "a0000003-0000-4000-8000-000000000004";
const EMPLOYEE_SANDWICH = "a0000003-0000-4000-8000-000000000005";
const SECRET_ITEM = "a0000003-0000-4000-8000-000000000006";
const BREAD = "a0000004-0000-4000-8000-000000000001";
const ADD_ONS = "a0000004-0000-4000-8000-000000000002";
const SOURDOUGH = "a0000005-0000-4000-8000-000000000001";
const RYE = "a0000005-0000-4000-8000-000000000002";
const AVOCADO = "a0000005-0000-4000-8000-000000000003";
const BACON = "a0000005-0000-4000-8000-000000000004";
const TRUFFLE = "a0000005-0000-4000-8000-000000000005";

const item = (
  guid: string,
  name: string,
  price: number | null,
  modifierGroupReferences: number[],
  extra: Record<string, unknown> = {},
) => ({
  guid,
  name,
  kitchenName: "",
  description: "",
  price,
  pricingStrategy: price === null ? "OPEN_PRICE" : "BASE_PRICE",
  pricingRules: null,
  modifierGroupReferences,
  ...extra,
});

const option = (
  referenceId: number,
  guid: string,
  name: string,
  price: number,
  extra: Record<string, unknown> = {},
) => ({
  referenceId,
  guid,
  name,
  price,
  pricingStrategy: "BASE_PRICE",
  isDefault: false,
  allowsDuplicates: false,
  modifierGroupReferences: [],
  ...extra,
});

/**
 * A restaurant's menu as the double holds it: menus API V3 entities (Menu, MenuGroup, MenuItem,
 * ModifierGroup, ModifierOption: https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/Restaurant)
 * with V2's `visibility` where the restaurant hid something from ordering partners, which the
 * double's V3 endpoint leaves out as Toast does.
 */
const RESTAURANT_MENU = {
  menus: [
    {
      guid: LUNCH,
      name: "Lunch",
      menuGroups: [
        {
          guid: SANDWICHES,
          name: "Sandwiches",
          menuItems: [
            item(TURKEY_CLUB, "Turkey Club", 11.25, [1, 2], {
              description: "Roast turkey, bacon, lettuce, tomato",
            }),
            item(EMPLOYEE_SANDWICH, "Employee Sandwich", 4, [], { visibility: ["POS"] }),
          ],
          menuGroups: [
            {
              guid: WRAPS,
              name: "Wraps",
              menuItems: [item(CHICKEN_WRAP, "Chicken Wrap", 9.75, [2])],
              menuGroups: [],
            },
          ],
        },
        {
          guid: SOUPS,
          name: "Soups",
          menuItems: [
            item(TOMATO_SOUP, "Tomato Soup", 5.5, []),
            item(SOUP_OF_THE_DAY, "Soup of the Day", null, []),
          ],
          menuGroups: [],
        },
        {
          guid: SECRET,
          name: "Secret Menu",
          visibility: ["POS", "KIOSK"],
          menuItems: [item(SECRET_ITEM, "Secret Burger", 15, [])],
          menuGroups: [],
        },
      ],
    },
    {
      guid: DINNER,
      name: "Dinner",
      menuGroups: [
        {
          guid: DINNER_SANDWICHES,
          name: "Dinner Sandwiches",
          // The same item on another menu, at that menu's price (menu-specific pricing).
          menuItems: [item(TURKEY_CLUB, "Turkey Club", 13, [1, 2], { description: "" })],
          menuGroups: [],
        },
      ],
    },
  ],
  modifierGroupReferences: {
    1: {
      referenceId: 1,
      guid: BREAD,
      name: "Bread",
      minSelections: 1,
      maxSelections: 1,
      requiredMode: "REQUIRED",
      isMultiSelect: false,
      modifierOptionReferences: [11, 12],
    },
    2: {
      referenceId: 2,
      guid: ADD_ONS,
      name: "Add-ons",
      minSelections: 0,
      maxSelections: null,
      requiredMode: "OPTIONAL_FORCE_SHOW",
      isMultiSelect: true,
      modifierOptionReferences: [21, 22, 23],
    },
  },
  modifierOptionReferences: {
    11: option(11, SOURDOUGH, "Sourdough", 0),
    12: option(12, RYE, "Rye", 0.5),
    21: option(21, AVOCADO, "Avocado", 1.75, { allowsDuplicates: true }),
    22: option(22, BACON, "Bacon", 2),
    23: option(23, TRUFFLE, "Truffle Mayo", 3, { visibility: ["POS"] }),
  },
};

// --------------------------------------------------------------------- helpers

function aConnection(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "toast",
    locationId: RESTAURANT,
    credentials: {
      clientId: "client-1",
      clientSecret: "secret-1",
      diningOptionPickup: "18855a26-40d4-4a8f-b484-c6af211dd597",
    },
    session: null,
    baseUrl,
    syncCustomerInfo: true,
    ...overrides,
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

function webhook(body: unknown): WebhookRequest {
  return {
    rawBody: typeof body === "string" ? body : JSON.stringify(body),
    headers: {},
    url: "https://orderlane.example/webhooks/pos/toast/acme",
  };
}

function itemOf(catalog: PosCatalog, posItemId: string): PosCatalogItem {
  const found = catalog.items.find((i) => i.posItemId === posItemId);
  if (!found) throw new Error(`no catalog item ${posItemId}`);
  return found;
}

// ---------------------------------------------------------- against the double

describe("toast readCatalog against the double", () => {
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

  const readCatalog = (c: PosConnection = connection) => {
    if (!toastAdapter.readCatalog) throw new Error("the Toast adapter reads catalogs");
    return toastAdapter.readCatalog(c, OPTIONS);
  };
  const menusCalls = () => double.requests("toast", "/menus/v3/menus");

  it("maps a realistic menu: names, prices, composite ids, modifier groups, nested groups, categories", async () => {
    double.state("toast").menu = RESTAURANT_MENU;
    const catalog = await readCatalog();

    expect(catalog.currency).toBe("USD");
    // Top-level groups of every menu, in Toast's order; the hidden group is not one.
    expect(catalog.categories).toEqual([
      { posCategoryId: SANDWICHES, name: "Sandwiches", sortOrder: 0 },
      { posCategoryId: SOUPS, name: "Soups", sortOrder: 1 },
      { posCategoryId: DINNER_SANDWICHES, name: "Dinner Sandwiches", sortOrder: 2 },
    ]);
    // One catalog item per placement; the Wraps group nests in Sandwiches; hidden items are gone.
    expect(catalog.items.map((i) => [i.posItemId, i.name, i.price, i.posCategoryId])).toEqual([
      [`${SANDWICHES}/${TURKEY_CLUB}`, "Turkey Club", 1125, SANDWICHES],
      [`${WRAPS}/${CHICKEN_WRAP}`, "Chicken Wrap", 975, SANDWICHES],
      [`${SOUPS}/${TOMATO_SOUP}`, "Tomato Soup", 550, SOUPS],
      [`${SOUPS}/${SOUP_OF_THE_DAY}`, "Soup of the Day", 0, SOUPS],
      [`${DINNER_SANDWICHES}/${TURKEY_CLUB}`, "Turkey Club", 1300, DINNER_SANDWICHES],
    ]);

    expect(itemOf(catalog, `${SANDWICHES}/${TURKEY_CLUB}`)).toEqual({
      posItemId: `${SANDWICHES}/${TURKEY_CLUB}`,
      posStockId: TURKEY_CLUB,
      name: "Turkey Club",
      description: "Roast turkey, bacon, lettuce, tomato",
      price: 1125,
      posCategoryId: SANDWICHES,
      available: true,
      modifierGroups: [
        {
          posGroupId: BREAD,
          name: "Bread",
          minSelections: 1,
          maxSelections: 1,
          modifiers: [
            {
              posModifierId: `${BREAD}/${SOURDOUGH}`,
              posStockId: SOURDOUGH,
              name: "Sourdough",
              price: 0,
              available: true,
              maxQuantity: 1,
            },
            {
              posModifierId: `${BREAD}/${RYE}`,
              posStockId: RYE,
              name: "Rye",
              price: 50,
              available: true,
              maxQuantity: 1,
            },
          ],
        },
        {
          posGroupId: ADD_ONS,
          name: "Add-ons",
          minSelections: 0,
          // Toast's null: no maximum.
          maxSelections: null,
          modifiers: [
            {
              posModifierId: `${ADD_ONS}/${AVOCADO}`,
              posStockId: AVOCADO,
              name: "Avocado",
              price: 175,
              available: true,
              // allowsDuplicates in a group without a maximum.
              maxQuantity: 99,
            },
            {
              posModifierId: `${ADD_ONS}/${BACON}`,
              posStockId: BACON,
              name: "Bacon",
              price: 200,
              available: true,
              maxQuantity: 1,
            },
          ],
        },
      ],
    });
    expect(itemOf(catalog, `${DINNER_SANDWICHES}/${TURKEY_CLUB}`).description).toBeNull();

    const [call] = menusCalls();
    expect(menusCalls()).toHaveLength(1);
    expect(call?.method).toBe("GET");
    expect(call?.headers.authorization).toBe(`Bearer ${connection.session?.accessToken}`);
    expect(call?.headers["toast-restaurant-external-id"]).toBe(RESTAURANT);
  });

  it("marks what the stock API lists as out of stock, or at quantity 0, unavailable", async () => {
    double.state("toast").menu = RESTAURANT_MENU;
    double.state("toast").stock = {
      [TOMATO_SOUP]: { status: "OUT_OF_STOCK" },
      [CHICKEN_WRAP]: { status: "QUANTITY", quantity: 3 },
      [BACON]: { status: "QUANTITY", quantity: 0 },
      [SOURDOUGH]: { status: "IN_STOCK" },
    };
    const catalog = await readCatalog();
    const availability = catalog.items.map((i) => [i.name, i.available]);
    expect(availability).toEqual([
      ["Turkey Club", true],
      ["Chicken Wrap", true],
      ["Tomato Soup", false],
      ["Soup of the Day", true],
      ["Turkey Club", true],
    ]);
    const addOns = itemOf(catalog, `${WRAPS}/${CHICKEN_WRAP}`).modifierGroups[0];
    expect(addOns?.modifiers.map((m) => [m.name, m.available])).toEqual([
      ["Avocado", true],
      ["Bacon", false],
    ]);
    expect(double.requests("toast", "/stock/v1/inventory")).toHaveLength(1);
  });

  it("serves the double's default menu for the demo: five items in three categories", async () => {
    const catalog = await readCatalog();
    expect(catalog.categories.map((c) => c.name)).toEqual(["Burgers", "Sides", "Soft Drinks"]);
    expect(catalog.items.map((i) => [i.name, i.price])).toEqual([
      ["Classic Burger", 1000],
      ["Veggie Burger", 950],
      ["Fries", 450],
      ["Onion Rings", 500],
      ["Lemonade", 300],
    ]);
    const burger = catalog.items[0];
    expect(burger?.modifierGroups.map((g) => [g.name, g.minSelections, g.maxSelections])).toEqual([
      ["Temperature", 1, 1],
      ["Cheese", 0, 2],
    ]);
    expect(burger?.modifierGroups[1]?.modifiers.map((m) => [m.name, m.maxQuantity])).toEqual([
      ["Cheddar", 2],
      ["Swiss", 1],
    ]);
  });

  it("reads a 2 000-item menu whole, in one call", async () => {
    double.state("toast").menu = bigMenu(2000);
    const catalog = await readCatalog();
    expect(catalog.items).toHaveLength(2000);
    expect(catalog.categories).toHaveLength(20);
    expect(new Set(catalog.items.map((i) => i.posItemId)).size).toBe(2000);
    const last = catalog.items[1999];
    expect(last?.posItemId).toBe(`${bigMenu.groupGuid(19)}/${bigMenu.itemGuid(1999)}`);
    expect(last?.posCategoryId).toBe(bigMenu.groupGuid(19));
    expect(last?.name).toBe("Item 1999");
    expect(last?.price).toBe(1499);
    expect(last?.modifierGroups[0]?.maxSelections).toBe(3);
    expect(last?.modifierGroups[0]?.modifiers.map((m) => m.maxQuantity)).toEqual([3, 1]);
    expect(menusCalls()).toHaveLength(1);
  });

  it("waits out a 429 with Retry-After: 1 once, then reads the menu", async () => {
    double.state("toast").menu = RESTAURANT_MENU;
    double.state("toast").catalogFaults = [{ kind: "status", status: 429, retryAfter: 1 }];
    const catalog = await readCatalog();
    expect(catalog.items).toHaveLength(5);
    expect(menusCalls()).toHaveLength(2);
    expect(double.state("toast").catalogFaults).toEqual([]);
  });

  it("gives up on a persistent 429 after three waits with a retryable rate_limited", async () => {
    const limited = { kind: "status", status: 429, retryAfter: 1 };
    double.state("toast").catalogFaults = Array.from({ length: 5 }, () => ({ ...limited }));
    const error = await posErrorOf(readCatalog());
    expect(error).toMatchObject({ kind: "retryable", code: "rate_limited" });
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 1 });
    expect(menusCalls()).toHaveLength(4);
    expect(double.state("toast").catalogFaults).toHaveLength(1);
  });

  it("does not wait a Retry-After longer than 10 s: the caller's backoff takes it", async () => {
    double.state("toast").catalogFaults = [{ kind: "status", status: 429, retryAfter: 60 }];
    const error = await posErrorOf(readCatalog());
    expect(error).toMatchObject({ kind: "retryable", code: "rate_limited" });
    expect(error.details.retryAfterSeconds).toBe(60);
    expect(menusCalls()).toHaveLength(1);
  });

  it("answers a token Toast refuses with auth, and asks for a session before calling without one", async () => {
    const stale = await posErrorOf(
      readCatalog({
        ...connection,
        session: { accessToken: "expired-token", expiresAt: null, refreshToken: null },
      }),
    );
    expect(stale).toMatchObject({ kind: "auth", code: "unauthorized" });
    expect(stale.details.status).toBe(401);

    const before = double.requests("toast").length;
    const none = await posErrorOf(readCatalog({ ...connection, session: null }));
    expect(none).toMatchObject({ kind: "auth", code: "no_session" });
    expect(double.requests("toast")).toHaveLength(before);
  });

  it("answers a restaurant without a published menu with a permanent no_menu", async () => {
    // A price-only menu: nothing published, as Toast answers 404 for.
    double.state("toast").menu = { [TURKEY_CLUB]: 11.25 };
    const error = await posErrorOf(readCatalog());
    expect(error).toMatchObject({ kind: "permanent", code: "no_menu" });
    expect(error.details.status).toBe(404);
  });

  it("round trip: an imported item with modifiers, ordered, reaches Toast with its GUIDs and Toast's price", async () => {
    double.state("toast").menu = RESTAURANT_MENU;
    double.state("toast").taxRate = 0;
    const catalog = await readCatalog();
    const club = itemOf(catalog, `${SANDWICHES}/${TURKEY_CLUB}`);
    const [bread, addOns] = club.modifierGroups;
    const rye = bread?.modifiers.find((m) => m.name === "Rye");
    const avocado = addOns?.modifiers.find((m) => m.name === "Avocado");
    if (!rye || !avocado) throw new Error("the imported club has Rye and Avocado");
    const modifiers = [rye, avocado].map((m) => ({
      name: m.name,
      price: m.price,
      posModifierId: m.posModifierId,
    }));
    const unitPrice = club.price + rye.price + avocado.price;
    const order: PosOrder = {
      orderId: "ord_01JCATALOGROUNDTRIP0000001",
      number: 7,
      orderType: "pickup",
      customer: { name: "Ana García", email: "ana@example.com", phone: "+34600111222" },
      lines: [
        {
          menuItemId: "club",
          name: club.name,
          quantity: 2,
          unitPrice,
          basePrice: club.price,
          posItemId: club.posItemId,
          modifiers,
          specialInstructions: null,
        },
      ],
      currency: "USD",
      subtotal: unitPrice * 2,
      discount: 0,
      tax: 0,
      tip: 0,
      total: unitPrice * 2,
      specialInstructions: null,
      scheduledFor: null,
      deliveryAddress: null,
      createdAt: "2025-06-01T12:00:00.000Z",
    };

    const created = await toastAdapter.createOrder(connection, order, OPTIONS);
    const stored = z
      .object({
        checks: z.tuple([
          z.object({
            totalAmount: z.number(),
            selections: z.tuple([
              z.object({
                itemGroup: z.object({ guid: z.string() }),
                item: z.object({ guid: z.string() }),
                price: z.number(),
                modifiers: z.array(
                  z.object({
                    optionGroup: z.object({ guid: z.string() }),
                    item: z.object({ guid: z.string() }),
                  }),
                ),
              }),
            ]),
          }),
        ]),
      })
      .parse(double.orders("toast").get(created.posOrderId));
    const [selection] = stored.checks[0].selections;
    expect(selection.itemGroup.guid).toBe(SANDWICHES);
    expect(selection.item.guid).toBe(TURKEY_CLUB);
    expect(selection.modifiers.map((m) => [m.optionGroup.guid, m.item.guid])).toEqual([
      [BREAD, RYE],
      [ADD_ONS, AVOCADO],
    ]);
    // Toast priced it from its own menu: (11.25 + 0.50 + 1.75) × 2.
    expect(stored.checks[0].totalAmount).toBe(27);
  });

  it("the double refuses an item named under a group that does not hold it, as Toast does", async () => {
    double.state("toast").menu = RESTAURANT_MENU;
    double.state("toast").taxRate = 0;
    const order: PosOrder = {
      orderId: "ord_01JCATALOGWRONGGROUP000001",
      number: 8,
      orderType: "pickup",
      customer: { name: "Ana García", email: "ana@example.com", phone: "+34600111222" },
      lines: [
        {
          menuItemId: "wrap",
          name: "Chicken Wrap",
          quantity: 1,
          unitPrice: 975,
          basePrice: 975,
          posItemId: `${SANDWICHES}/${CHICKEN_WRAP}`,
          modifiers: [],
          specialInstructions: null,
        },
      ],
      currency: "USD",
      subtotal: 975,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 975,
      specialInstructions: null,
      scheduledFor: null,
      deliveryAddress: null,
      createdAt: "2025-06-01T12:00:00.000Z",
    };
    const error = await posErrorOf(toastAdapter.createOrder(connection, order, OPTIONS));
    expect(error).toMatchObject({ kind: "permanent", code: "rejected" });
    expect(error.details.vendorMessage).toContain(`does not contain the menu item ${CHICKEN_WRAP}`);
    expect(double.orders("toast").size).toBe(0);
  });
});

// ------------------------------------------------------------------ webhooks

// Bodies from Toast's pages: the menus webhook's menus_updated example
// (https://doc.toasttab.com/doc/devguide/apiMenusWebhook.html) and the stock webhook's in_stock,
// low_quantity and out_of_stock examples (https://doc.toasttab.com/doc/devguide/apiStockWebhook.html),
// whose "<ISO formatted timestamp in UTC>" placeholder is filled with a time.
describe("toast parseMenuSignals", () => {
  const parse = (body: unknown) => {
    if (!toastAdapter.parseMenuSignals) throw new Error("the Toast adapter parses menu signals");
    return toastAdapter.parseMenuSignals(webhook(body));
  };

  it("reads menus_updated as catalog_changed, with the event's GUID", () => {
    expect(parse(menusUpdatedFixture)).toEqual([
      { kind: "catalog_changed", eventId: "00000000-0000-0000-0000-000000000000" },
    ]);
  });

  it("reads an out_of_stock message as one unavailable item", () => {
    expect(parse(outOfStockFixture)).toEqual([
      {
        kind: "stock",
        eventId: "e445f586-081c-4a2a-bcd6-30717a48e17a",
        target: "item",
        posStockId: "1e199622-ccbf-4ba8-8c37-111519dca13b",
        available: false,
      },
    ]);
  });

  it("reads in_stock and low_quantity (QUANTITY 5) as available, and QUANTITY 0 as not", () => {
    expect(parse(inStockFixture).map((s) => s.kind === "stock" && s.available)).toEqual([true]);
    expect(parse(lowQuantityFixture).map((s) => s.kind === "stock" && s.available)).toEqual([true]);
    const none = { ...lowQuantityFixture, details: { ...lowQuantityFixture.details, quantity: 0 } };
    expect(parse(none).map((s) => s.kind === "stock" && s.available)).toEqual([false]);
  });

  it("answers [] for an order event, a stock message without an item, and garbage", () => {
    expect(parse(orderUpdatedFixture)).toEqual([]);
    const { itemGuid: _itemGuid, ...noItem } = outOfStockFixture.details;
    expect(parse({ ...outOfStockFixture, details: noItem })).toEqual([]);
    expect(parse("not json {")).toEqual([]);
    expect(parse({})).toEqual([]);
    expect(parse([menusUpdatedFixture])).toEqual([]);
  });
});

// ------------------------------------------------------------- rate limits

describe("withRateLimitRetries", () => {
  const limited = (retryAfterSeconds?: number) =>
    new PosError("retryable", "rate_limited", "POS answered 429", {
      status: 429,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });

  /** A call failing with `failures` in turn, then answering "ok"; the waits it was made to sleep. */
  function scripted(failures: Error[]) {
    const waits: number[] = [];
    let calls = 0;
    const call = async () => {
      const failure = failures[calls];
      calls += 1;
      if (failure) throw failure;
      return "ok";
    };
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    return { call, sleep, waits, calls: () => calls };
  }

  it("waits each Retry-After, or 1 s without one, and answers once the call succeeds", async () => {
    const run = scripted([limited(2), limited()]);
    await expect(
      withRateLimitRetries(run.call, { sleep: run.sleep, defaultWaitSeconds: 1 }),
    ).resolves.toBe("ok");
    expect(run.waits).toEqual([2000, 1000]);
    expect(run.calls()).toBe(3);
  });

  it("throws the fourth 429 after three waits", async () => {
    const fourth = limited(1);
    const run = scripted([limited(1), limited(1), limited(1), fourth]);
    await expect(withRateLimitRetries(run.call, { sleep: run.sleep })).rejects.toBe(fourth);
    expect(run.waits).toEqual([1000, 1000, 1000]);
  });

  it("throws at once a Retry-After over 10 s, and any failure that is not a 429", async () => {
    const long = scripted([limited(11)]);
    await expect(withRateLimitRetries(long.call, { sleep: long.sleep })).rejects.toThrow("429");
    expect(long.waits).toEqual([]);
    const unavailable = new PosError("retryable", "server_error", "POS answered 503", {
      status: 503,
      retryAfterSeconds: 1,
    });
    const down = scripted([unavailable]);
    await expect(withRateLimitRetries(down.call, { sleep: down.sleep })).rejects.toBe(unavailable);
    expect(down.calls()).toBe(1);
  });
});
