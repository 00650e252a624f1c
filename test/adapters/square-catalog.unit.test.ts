import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withRateLimitRetries } from "../../src/adapters/pos/http";
import {
  SQUARE_MODIFIER_QUANTITY_CAP,
  squareAdapter,
  squareSelectionBounds,
} from "../../src/adapters/pos/square";
import {
  type PosConnection,
  PosError,
  type PosOrder,
  type WebhookRequest,
} from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import squareDouble, { bigCatalog } from "../../tools/pos-double/square.mjs";
import { caught } from "../caught";
// From the webhook reference's example (https://developer.squareup.com/reference/square/webhooks/catalog.version.updated):
// the event names no object, `data.object.catalog_version.updated_at` only.
import catalogVersionUpdated from "./fixtures/square-webhook-catalog-version-updated.json";
// The example in "Handle Inventory Event Notifications": https://developer.squareup.com/docs/inventory-api/webhooks
import inventoryCountUpdated from "./fixtures/square-webhook-inventory-count-updated.json";
import paymentUpdated from "./fixtures/square-webhook-payment-updated.json";

const LOCATION = "L8RYWBB6DRWEM";
const OTHER_LOCATION = "LOTHERPLACE01";
const NOW = new Date("2025-11-03T18:00:00.000Z");
const OPTIONS = { timeoutMs: 2_000, now: () => NOW };

function connectionTo(baseUrl: string, overrides: Partial<PosConnection> = {}): PosConnection {
  return {
    provider: "square",
    locationId: LOCATION,
    credentials: { accessToken: "EAAA-catalog-token" },
    session: null,
    baseUrl,
    syncCustomerInfo: false,
    ...overrides,
  };
}

const usd = (amount: number) => ({ amount, currency: "USD" });

function variation(id: string, name: string, data: Record<string, unknown>, extra = {}) {
  return {
    type: "ITEM_VARIATION",
    id,
    is_deleted: false,
    present_at_all_locations: true,
    item_variation_data: { name, pricing_type: "FIXED_PRICING", sellable: true, ...data },
    ...extra,
  };
}

function modifier(id: string, name: string, amount: number, data = {}, extra = {}) {
  return {
    type: "MODIFIER",
    id,
    present_at_all_locations: true,
    modifier_data: { name, price_money: usd(amount), ...data },
    ...extra,
  };
}

/**
 * A café's catalog in ListCatalog's wire format, with what Square's catalogs hold in the wild:
 * location overrides, a sold-out variation, a deleted variation, items absent from our location,
 * an archived item, a variable price, a text modifier list, the deprecated `category_id`.
 */
const CAFE_CATALOG = [
  {
    type: "CATEGORY",
    id: "CATCOFFEE",
    present_at_all_locations: true,
    category_data: { name: "Coffee", parent_category: { ordinal: 2 } },
  },
  {
    type: "CATEGORY",
    id: "CATFOOD",
    present_at_all_locations: true,
    category_data: { name: "Food", parent_category: { ordinal: 1 } },
  },
  { type: "CATEGORY", id: "CATOLD", is_deleted: true, category_data: { name: "Old menu" } },
  {
    type: "MODIFIER_LIST",
    id: "MLMILK",
    present_at_all_locations: true,
    modifier_list_data: {
      name: "Milk",
      selection_type: "SINGLE",
      min_selected_modifiers: -1,
      max_selected_modifiers: -1,
      modifier_type: "LIST",
      modifiers: [
        modifier("MODOAT", "Oat", 75, {
          ordinal: 1,
          location_overrides: [{ location_id: LOCATION, price_money: usd(80) }],
        }),
        modifier("MODWHOLE", "Whole", 0, { ordinal: 0 }),
        modifier("MODSOY", "Soy", 75, {
          ordinal: 2,
          location_overrides: [{ location_id: LOCATION, sold_out: true }],
        }),
        modifier("MODALMOND", "Almond", 75, { ordinal: 3 }, { absent_at_location_ids: [LOCATION] }),
      ],
    },
  },
  {
    type: "MODIFIER_LIST",
    id: "MLSHOTS",
    present_at_all_locations: true,
    modifier_list_data: {
      name: "Extra shots",
      selection_type: "MULTIPLE",
      min_selected_modifiers: 0,
      max_selected_modifiers: 3,
      allow_quantities: true,
      modifier_type: "LIST",
      modifiers: [modifier("MODSHOT", "Espresso shot", 90)],
    },
  },
  {
    type: "MODIFIER_LIST",
    id: "MLCUPNAME",
    present_at_all_locations: true,
    modifier_list_data: { name: "Name on cup", modifier_type: "TEXT", modifiers: [] },
  },
  {
    type: "ITEM",
    id: "ITEMLATTE",
    present_at_all_locations: true,
    item_data: {
      name: "Latte",
      description_plaintext: "Espresso and steamed milk",
      categories: [{ id: "CATCOFFEE", ordinal: 0 }],
      modifier_list_info: [
        {
          modifier_list_id: "MLSHOTS",
          min_selected_modifiers: 1,
          max_selected_modifiers: 2,
          enabled: true,
          ordinal: 2,
        },
        {
          modifier_list_id: "MLMILK",
          min_selected_modifiers: -1,
          max_selected_modifiers: -1,
          enabled: true,
          ordinal: 1,
        },
        { modifier_list_id: "MLCUPNAME", enabled: true, ordinal: 3 },
      ],
      variations: [
        variation("VARLATTELARGE", "Large", {
          ordinal: 1,
          price_money: usd(550),
          location_overrides: [{ location_id: LOCATION, sold_out: true }],
        }),
        variation("VARLATTESMALL", "Small", { ordinal: 0, price_money: usd(450) }),
        variation(
          "VARLATTEHUGE",
          "Huge",
          { ordinal: 2, price_money: usd(650) },
          { is_deleted: true },
        ),
      ],
    },
  },
  {
    type: "ITEM",
    id: "ITEMCROISSANT",
    present_at_all_locations: true,
    item_data: {
      name: "Croissant",
      description: "Butter croissant",
      category_id: "CATFOOD",
      variations: [
        variation("VARCROISSANT", "Regular", {
          price_money: usd(300),
          location_overrides: [{ location_id: LOCATION, price_money: usd(325) }],
        }),
      ],
    },
  },
  {
    type: "ITEM",
    id: "ITEMFISH",
    present_at_all_locations: true,
    item_data: {
      name: "Market fish",
      categories: [{ id: "CATFOOD" }],
      variations: [variation("VARFISH", "Plate", { pricing_type: "VARIABLE_PRICING" })],
    },
  },
  {
    type: "ITEM",
    id: "ITEMCOOKIE",
    present_at_all_locations: true,
    item_data: {
      name: "Cookie",
      categories: [{ id: "CATOLD" }],
      variations: [
        variation("VARCOOKIE", "Regular", {
          price_money: usd(250),
          location_overrides: [
            // Sold out until an hour before NOW: on sale again.
            { location_id: LOCATION, sold_out: true, sold_out_valid_until: "2025-11-03T17:00:00Z" },
            { location_id: OTHER_LOCATION, sold_out: true },
          ],
        }),
      ],
    },
  },
  {
    type: "ITEM",
    id: "ITEMTRAY",
    present_at_all_locations: false,
    present_at_location_ids: [OTHER_LOCATION],
    item_data: {
      name: "Catering tray",
      variations: [variation("VARTRAY", "Regular", { price_money: usd(5000) })],
    },
  },
  {
    type: "ITEM",
    id: "ITEMMUFFIN",
    present_at_all_locations: true,
    absent_at_location_ids: [LOCATION],
    item_data: {
      name: "Muffin",
      variations: [variation("VARMUFFIN", "Regular", { price_money: usd(275) })],
    },
  },
  {
    type: "ITEM",
    id: "ITEMARCHIVED",
    present_at_all_locations: true,
    item_data: {
      name: "Pumpkin latte",
      is_archived: true,
      variations: [variation("VARPUMPKIN", "Regular", { price_money: usd(600) })],
    },
  },
  { type: "ITEM", id: "ITEMGONE", is_deleted: true, item_data: { name: "Gone", variations: [] } },
];

function webhook(body: unknown): WebhookRequest {
  return {
    headers: {},
    rawBody: typeof body === "string" ? body : JSON.stringify(body),
    url: "https://orderlane.test/webhooks/square",
  };
}

// ---------------------------------------------------------------- pure parts

describe("squareSelectionBounds", () => {
  const list = {
    min_selected_modifiers: -1,
    max_selected_modifiers: -1,
    selection_type: "MULTIPLE",
  };
  it.each([
    [
      "the item's own bounds win",
      { min_selected_modifiers: 1, max_selected_modifiers: 2 },
      { ...list, min_selected_modifiers: 0, max_selected_modifiers: 5 },
      1,
      2,
    ],
    [
      "-1 on the item falls back to the list",
      { min_selected_modifiers: -1, max_selected_modifiers: -1 },
      { ...list, min_selected_modifiers: 2, max_selected_modifiers: 4 },
      2,
      4,
    ],
    ["unset everywhere: SINGLE allows one", {}, { ...list, selection_type: "SINGLE" }, 0, 1],
    ["unset everywhere: MULTIPLE has no bound", {}, list, 0, null],
    [
      "a maximum of 0 is no maximum",
      { max_selected_modifiers: 0 },
      { ...list, selection_type: "SINGLE" },
      0,
      null,
    ],
    [
      "below -1 is invalid: no bound",
      { min_selected_modifiers: -3, max_selected_modifiers: -3 },
      { ...list, min_selected_modifiers: 2, max_selected_modifiers: 2 },
      0,
      null,
    ],
  ])("%s", (_, info, listData, min, max) => {
    expect(squareSelectionBounds(info, listData)).toEqual({
      minSelections: min,
      maxSelections: max,
    });
  });
});

describe("withRateLimitRetries", () => {
  const rateLimited = (retryAfterSeconds?: number) =>
    new PosError("retryable", "rate_limited", "POS answered 429", {
      status: 429,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });

  it("waits the Retry-After, then answers what the next call does", async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRateLimitRetries(
      async () => {
        calls += 1;
        if (calls === 1) throw rateLimited(1);
        return "page";
      },
      { sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toBe("page");
    expect(waits).toEqual([1000]);
  });

  it("backs off 1, 2, 4 s without a Retry-After, then throws the last 429", async () => {
    const waits: number[] = [];
    const err = await caught(
      withRateLimitRetries(
        async () => {
          throw rateLimited();
        },
        { sleep: async (ms) => void waits.push(ms) },
      ),
      PosError,
    );
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(err.code).toBe("rate_limited");
  });

  it("throws other failures at once", async () => {
    let calls = 0;
    const err = await caught(
      withRateLimitRetries(async () => {
        calls += 1;
        throw new PosError("retryable", "server_error", "POS answered 500", { status: 500 });
      }),
      PosError,
    );
    expect(err.code).toBe("server_error");
    expect(calls).toBe(1);
  });
});

describe("squareAdapter.parseMenuSignals", () => {
  const parse = (body: unknown) => squareAdapter.parseMenuSignals?.(webhook(body));

  it("reads catalog.version.updated as a catalog change", () => {
    expect(parse(catalogVersionUpdated)).toEqual([
      { kind: "catalog_changed", eventId: "e3cf084f-301d-3d07-bc24-f6f6cab5c800" },
    ]);
  });

  it("reads inventory.count.updated as the variation's stock", () => {
    expect(parse(inventoryCountUpdated)).toEqual([
      {
        kind: "stock",
        eventId: "df5f3813-a913-45a1-94e9-fdc3f7d5e3b6",
        target: "item",
        posStockId: "6F4K33KPNUVDWKZ43KUIFH6K",
        available: true,
      },
    ]);
  });

  it("reads a count of zero as sold out, and ignores the other states of an adjustment", () => {
    const [count] = inventoryCountUpdated.data.object.inventory_counts;
    const body = {
      ...inventoryCountUpdated,
      data: {
        ...inventoryCountUpdated.data,
        object: {
          inventory_counts: [
            { ...count, quantity: "0" },
            { ...count, state: "WASTE", quantity: "90" },
            { ...count, catalog_object_type: "ITEM", catalog_object_id: "SOMEITEM" },
          ],
        },
      },
    };
    expect(parse(body)).toEqual([
      {
        kind: "stock",
        eventId: "df5f3813-a913-45a1-94e9-fdc3f7d5e3b6",
        target: "item",
        posStockId: "6F4K33KPNUVDWKZ43KUIFH6K",
        available: false,
      },
    ]);
  });

  it("answers nothing for other events and for garbage", () => {
    expect(parse(paymentUpdated)).toEqual([]);
    expect(parse("not json {")).toEqual([]);
    expect(parse({ type: "catalog.version.updated" })).toEqual([]);
    expect(
      parse({ ...inventoryCountUpdated, data: { object: { inventory_counts: "x" } } }),
    ).toEqual([]);
  });
});

// ---------------------------------------------------------------- against the double

describe("squareAdapter.readCatalog against the Square double", () => {
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

  const readCatalog = (connection: PosConnection) => {
    if (!squareAdapter.readCatalog) throw new Error("the Square adapter reads catalogs");
    return squareAdapter.readCatalog(connection, OPTIONS);
  };
  const catalogCalls = () => double.requests("square", "/v2/catalog/list");

  it("maps a café's catalog onto the location's menu", async () => {
    double.state("square").catalog = CAFE_CATALOG;
    const catalog = await readCatalog(connectionTo(baseUrl));

    expect(catalog.currency).toBe("USD");
    expect(catalog.categories).toEqual([
      { posCategoryId: "CATFOOD", name: "Food", sortOrder: 0 },
      { posCategoryId: "CATCOFFEE", name: "Coffee", sortOrder: 1 },
    ]);
    const milk = {
      posGroupId: "MLMILK",
      name: "Milk",
      minSelections: 0,
      maxSelections: 1,
      modifiers: [
        {
          posModifierId: "MODWHOLE",
          posStockId: "MODWHOLE",
          name: "Whole",
          price: 0,
          available: true,
          maxQuantity: 1,
        },
        {
          posModifierId: "MODOAT",
          posStockId: "MODOAT",
          name: "Oat",
          price: 80,
          available: true,
          maxQuantity: 1,
        },
        {
          posModifierId: "MODSOY",
          posStockId: "MODSOY",
          name: "Soy",
          price: 75,
          available: false,
          maxQuantity: 1,
        },
      ],
    };
    const shots = {
      posGroupId: "MLSHOTS",
      name: "Extra shots",
      minSelections: 1,
      maxSelections: 2,
      modifiers: [
        {
          posModifierId: "MODSHOT",
          posStockId: "MODSHOT",
          name: "Espresso shot",
          price: 90,
          available: true,
          maxQuantity: 2,
        },
      ],
    };
    expect(catalog.items).toEqual([
      {
        posItemId: "VARLATTESMALL",
        posStockId: "VARLATTESMALL",
        name: "Latte (Small)",
        description: "Espresso and steamed milk",
        price: 450,
        posCategoryId: "CATCOFFEE",
        available: true,
        modifierGroups: [milk, shots],
      },
      {
        posItemId: "VARLATTELARGE",
        posStockId: "VARLATTELARGE",
        name: "Latte (Large)",
        description: "Espresso and steamed milk",
        price: 550,
        posCategoryId: "CATCOFFEE",
        available: false,
        modifierGroups: [milk, shots],
      },
      {
        posItemId: "VARCROISSANT",
        posStockId: "VARCROISSANT",
        name: "Croissant",
        description: "Butter croissant",
        price: 325,
        posCategoryId: "CATFOOD",
        available: true,
        modifierGroups: [],
      },
      {
        posItemId: "VARFISH",
        posStockId: "VARFISH",
        name: "Market fish",
        description: null,
        price: 0,
        posCategoryId: "CATFOOD",
        available: true,
        modifierGroups: [],
      },
      {
        posItemId: "VARCOOKIE",
        posStockId: "VARCOOKIE",
        name: "Cookie",
        description: null,
        price: 250,
        // Its only category is deleted.
        posCategoryId: null,
        available: true,
        modifierGroups: [],
      },
    ]);
    expect(catalogCalls()).toHaveLength(1);
    const call = catalogCalls()[0];
    expect(new URL(`http://x${call?.path}`).searchParams.get("types")).toBe(
      "ITEM,MODIFIER_LIST,CATEGORY",
    );
    expect(call?.headers.authorization).toBe("Bearer EAAA-catalog-token");
  });

  it("gives another location its own menu", async () => {
    double.state("square").catalog = CAFE_CATALOG;
    const catalog = await readCatalog(connectionTo(baseUrl, { locationId: OTHER_LOCATION }));
    const byName = new Map(catalog.items.map((i) => [i.name, i]));
    expect([...byName.keys()]).toEqual([
      "Latte (Small)",
      "Latte (Large)",
      "Croissant",
      "Market fish",
      "Cookie",
      "Catering tray",
      "Muffin",
    ]);
    expect(byName.get("Latte (Large)")?.available).toBe(true);
    expect(byName.get("Croissant")?.price).toBe(300);
    expect(byName.get("Cookie")?.available).toBe(false);
    expect(byName.get("Latte (Small)")?.modifierGroups[0]?.modifiers.map((m) => m.name)).toEqual([
      "Whole",
      "Oat",
      "Soy",
      "Almond",
    ]);
  });

  it("reads a 2 000-item catalog across every page", async () => {
    double.state("square").catalog = bigCatalog(2000);
    const catalog = await readCatalog(connectionTo(baseUrl));

    expect(catalog.items).toHaveLength(2000);
    expect(new Set(catalog.items.map((i) => i.posItemId)).size).toBe(2000);
    expect(catalog.items[1999]).toMatchObject({ name: "Item 1999", price: 2099, available: true });
    expect(catalog.items[0]?.modifierGroups[0]).toMatchObject({
      minSelections: 1,
      maxSelections: 2,
    });
    // 2 000 items, a modifier list and a category: 2 002 objects, 100 a page.
    const calls = catalogCalls();
    expect(calls).toHaveLength(21);
    const cursors = calls.map((c) => new URL(`http://x${c.path}`).searchParams.get("cursor"));
    expect(cursors[0]).toBeNull();
    expect(new Set(cursors.slice(1)).size).toBe(20);
    expect(cursors.slice(1).every((c) => typeof c === "string" && c.length > 0)).toBe(true);
  });

  it("serves the default menu when no catalog was set", async () => {
    const catalog = await readCatalog(connectionTo(baseUrl));
    expect(catalog.items.map((i) => [i.name, i.price])).toEqual([
      ["Burger", 1100],
      ["Fries", 450],
      ["Latte (Small)", 400],
      ["Latte (Large)", 500],
      ["Soup of the day", 0],
    ]);
    expect(catalog.items[0]?.modifierGroups[0]).toMatchObject({
      name: "Toppings",
      minSelections: 0,
      maxSelections: 2,
    });
    expect(catalog.categories.map((c) => c.name)).toEqual(["Mains", "Drinks"]);
  });

  it("waits out a 429 with Retry-After: 1 once, then reads on", async () => {
    double.state("square").catalog = bigCatalog(150);
    double.state("square").catalogFaults = [{ kind: "status", status: 429, retryAfter: 1 }];
    const catalog = await readCatalog(connectionTo(baseUrl));
    expect(catalog.items).toHaveLength(150);
    const calls = catalogCalls();
    // The refused first page asked again, then the second page.
    expect(calls).toHaveLength(3);
    expect(calls[1]?.path).toBe(calls[0]?.path);
  });

  it("gives up on a persistent 429 after three waits, retryable", async () => {
    double.state("square").catalog = bigCatalog(10);
    double.state("square").catalogFaults = Array.from({ length: 5 }, () => ({
      kind: "status",
      status: 429,
      retryAfter: 0,
    }));
    const err = await caught(readCatalog(connectionTo(baseUrl)), PosError);
    expect(err.kind).toBe("retryable");
    expect(err.code).toBe("rate_limited");
    expect(catalogCalls()).toHaveLength(4);
  });

  it("does not hold on for a Retry-After longer than 10 s", async () => {
    double.state("square").catalogFaults = [{ kind: "status", status: 429, retryAfter: 60 }];
    const err = await caught(readCatalog(connectionTo(baseUrl)), PosError);
    expect(err.kind).toBe("retryable");
    expect(err.details.retryAfterSeconds).toBe(60);
    expect(catalogCalls()).toHaveLength(1);
  });

  it("answers a 401 as auth, for the caller to refresh", async () => {
    double.state("square").catalogFaults = [{ kind: "status", status: 401 }];
    const err = await caught(readCatalog(connectionTo(baseUrl)), PosError);
    expect(err.kind).toBe("auth");
    expect(err.message).toContain("AUTHENTICATION_ERROR/UNAUTHORIZED");
  });

  it("round-trips: an imported item and modifier ordered reach Square by their catalog ids", async () => {
    double.state("square").catalog = CAFE_CATALOG;
    const catalog = await readCatalog(connectionTo(baseUrl));
    const latte = catalog.items.find((i) => i.name === "Latte (Small)");
    const oat = latte?.modifierGroups[0]?.modifiers.find((m) => m.name === "Oat");
    if (!latte || !oat) throw new Error("the café's catalog has a small latte with oat milk");
    const order: PosOrder = {
      orderId: `ord_catalog_${Date.now()}`,
      number: 7,
      orderType: "pickup",
      customer: null,
      lines: [
        {
          menuItemId: "mi_latte_small",
          name: latte.name,
          quantity: 2,
          unitPrice: latte.price + oat.price,
          basePrice: latte.price,
          posItemId: latte.posItemId,
          modifiers: [{ name: oat.name, price: oat.price, posModifierId: oat.posModifierId }],
          specialInstructions: null,
        },
      ],
      currency: "USD",
      subtotal: 1060,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 1060,
      specialInstructions: null,
      scheduledFor: null,
      deliveryAddress: null,
      createdAt: NOW.toISOString(),
    };
    const created = await squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS);
    const stored = double.orders("square").get(created.posOrderId);
    expect(stored.line_items[0]).toMatchObject({
      catalog_object_id: "VARLATTESMALL",
      name: "Latte",
      variation_name: "Small",
      quantity: "2",
      modifiers: [{ catalog_object_id: "MODOAT", name: "Oat", base_price_money: usd(80) }],
    });
    expect(stored.total_money).toEqual(usd(1060));
  });

  it("refuses an order naming a catalog id the seller does not have", async () => {
    double.state("square").catalog = CAFE_CATALOG;
    const order: PosOrder = {
      orderId: `ord_unknown_${Date.now()}`,
      number: 8,
      orderType: "pickup",
      customer: null,
      lines: [
        {
          menuItemId: "mi_gone",
          name: "Gone",
          quantity: 1,
          unitPrice: 500,
          basePrice: 500,
          posItemId: "VARLATTEHUGE",
          modifiers: [],
          specialInstructions: null,
        },
      ],
      currency: "USD",
      subtotal: 500,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 500,
      specialInstructions: null,
      scheduledFor: null,
      deliveryAddress: null,
      createdAt: NOW.toISOString(),
    };
    const err = await caught(
      squareAdapter.createOrder(connectionTo(baseUrl), order, OPTIONS),
      PosError,
    );
    expect(err.kind).toBe("permanent");
    expect(err.message).toContain("NOT_FOUND at order.line_items[0].catalog_object_id");
    expect(double.orders("square").size).toBe(0);
  });

  it("caps allowed quantities without a maximum", async () => {
    double.state("square").catalog = [
      {
        type: "MODIFIER_LIST",
        id: "MLSAUCE",
        modifier_list_data: {
          name: "Sauce",
          allow_quantities: true,
          modifiers: [modifier("MODBBQ", "BBQ", 50)],
        },
      },
      {
        type: "ITEM",
        id: "ITEMWINGS",
        item_data: {
          name: "Wings",
          modifier_list_info: [{ modifier_list_id: "MLSAUCE" }],
          variations: [variation("VARWINGS", "Regular", { price_money: usd(900) })],
        },
      },
    ];
    const catalog = await readCatalog(connectionTo(baseUrl));
    expect(catalog.items[0]?.modifierGroups[0]).toMatchObject({
      minSelections: 0,
      maxSelections: null,
      modifiers: [{ posModifierId: "MODBBQ", maxQuantity: SQUARE_MODIFIER_QUANTITY_CAP }],
    });
  });
});
