import { describe, expect, it } from "vitest";
import {
  checkDiscount,
  type DiscountForPricing,
  type DraftLine,
  type MenuItemForPricing,
  type PricingInput,
  type PricingResult,
  priceOrder,
} from "../../src/domain/pricing";

const NOW = new Date("2025-06-01T12:00:00.000Z");

const MENU_ITEMS: MenuItemForPricing[] = [
  {
    id: "burger",
    name: "Burger",
    price: 1000,
    available: true,
    modifiers: [
      { id: "cheese", name: "Cheese", price: 150 },
      { id: "bacon", name: "Bacon", price: 200 },
      { id: "no-onion", name: "No onion", price: 0 },
    ],
  },
  { id: "fries", name: "Fries", price: 450, available: true, modifiers: [] },
  { id: "soup", name: "Soup of the day", price: 600, available: false, modifiers: [] },
  {
    id: "salad",
    name: "Salad",
    price: 850,
    available: true,
    modifiers: [{ id: "chicken", name: "Chicken", price: 300 }],
  },
];

function menuOf(items: MenuItemForPricing[]): ReadonlyMap<string, MenuItemForPricing> {
  return new Map(items.map((item) => [item.id, item]));
}

const MENU = menuOf(MENU_ITEMS);

/** A menu with a single modifier-less item at `price`, to hit an exact subtotal. */
function singleItemMenu(price: number): ReadonlyMap<string, MenuItemForPricing> {
  return menuOf([{ id: "item", name: "Item", price, available: true, modifiers: [] }]);
}

function discount(overrides: Partial<DiscountForPricing>): DiscountForPricing {
  return {
    code: "SAVE",
    kind: "percent",
    value: 1000,
    minSubtotal: 0,
    expiresAt: null,
    maxUses: null,
    usedCount: 0,
    ...overrides,
  };
}

function price(overrides: Partial<PricingInput>): PricingResult {
  return priceOrder({
    lines: [],
    menu: MENU,
    taxRateBps: 0,
    discount: null,
    tip: 0,
    now: NOW,
    ...overrides,
  });
}

/** Prices a single line of quantity 1 whose subtotal is exactly `subtotal`. */
function priceSubtotal(subtotal: number, overrides: Partial<PricingInput>): PricingResult {
  return price({
    lines: [{ menuItemId: "item", quantity: 1 }],
    menu: singleItemMenu(subtotal),
    ...overrides,
  });
}

function totalsOf(result: PricingResult): {
  subtotal: number;
  discount: number;
  tax: number;
  tip: number;
  total: number;
} {
  if (!result.ok)
    throw new Error(`expected a priced order, got ${result.error.code} at ${result.error.path}`);
  const { subtotal, discount, tax, tip, total } = result.value;
  return { subtotal, discount, tax, tip, total };
}

describe("priceOrder lines", () => {
  it("prices a single plain line", () => {
    const result = price({ lines: [{ menuItemId: "fries", quantity: 1 }] });
    expect(result).toEqual({
      ok: true,
      value: {
        lines: [
          {
            menuItemId: "fries",
            name: "Fries",
            quantity: 1,
            unitPrice: 450,
            modifiers: [],
            lineTotal: 450,
            specialInstructions: null,
          },
        ],
        subtotal: 450,
        discount: 0,
        tax: 0,
        tip: 0,
        total: 450,
      },
    });
  });

  it("adds modifier prices to the unit price and multiplies by quantity", () => {
    const result = price({
      lines: [{ menuItemId: "burger", quantity: 3, modifierIds: ["bacon", "cheese"] }],
    });
    expect(result).toEqual({
      ok: true,
      value: {
        lines: [
          {
            menuItemId: "burger",
            name: "Burger",
            quantity: 3,
            unitPrice: 1350,
            modifiers: [
              { id: "bacon", name: "Bacon", price: 200, quantity: 1 },
              { id: "cheese", name: "Cheese", price: 150, quantity: 1 },
            ],
            lineTotal: 4050,
            specialInstructions: null,
          },
        ],
        subtotal: 4050,
        discount: 0,
        tax: 0,
        tip: 0,
        total: 4050,
      },
    });
  });

  it("keeps modifiers in the order of modifierIds", () => {
    const result = price({
      lines: [{ menuItemId: "burger", quantity: 1, modifierIds: ["no-onion", "cheese", "bacon"] }],
    });
    if (!result.ok) throw new Error(result.error.code);
    expect(result.value.lines[0]?.modifiers.map((m) => m.id)).toEqual([
      "no-onion",
      "cheese",
      "bacon",
    ]);
    expect(result.value.lines[0]?.unitPrice).toBe(1350);
  });

  it("prices a zero-price modifier and an empty modifier list", () => {
    const result = price({
      lines: [
        { menuItemId: "burger", quantity: 2, modifierIds: ["no-onion"] },
        { menuItemId: "salad", quantity: 1, modifierIds: [] },
      ],
    });
    if (!result.ok) throw new Error(result.error.code);
    expect(result.value.lines.map((l) => [l.unitPrice, l.lineTotal, l.modifiers.length])).toEqual([
      [1000, 2000, 1],
      [850, 850, 0],
    ]);
    expect(result.value.subtotal).toBe(2850);
  });

  it("keeps lines in input order, including repeated items, and sums the subtotal", () => {
    const lines: DraftLine[] = [
      { menuItemId: "salad", quantity: 2, modifierIds: ["chicken"] },
      { menuItemId: "fries", quantity: 4 },
      { menuItemId: "burger", quantity: 1, modifierIds: ["cheese"] },
      { menuItemId: "fries", quantity: 1 },
    ];
    const result = price({ lines });
    if (!result.ok) throw new Error(result.error.code);
    expect(
      result.value.lines.map((l) => [l.menuItemId, l.quantity, l.unitPrice, l.lineTotal]),
    ).toEqual([
      ["salad", 2, 1150, 2300],
      ["fries", 4, 450, 1800],
      ["burger", 1, 1150, 1150],
      ["fries", 1, 450, 450],
    ]);
    expect(totalsOf(result)).toEqual({ subtotal: 5700, discount: 0, tax: 0, tip: 0, total: 5700 });
  });

  it("carries special instructions through and maps an absent one to null", () => {
    const result = price({
      lines: [
        { menuItemId: "fries", quantity: 1, specialInstructions: "extra crispy" },
        { menuItemId: "fries", quantity: 1 },
      ],
    });
    if (!result.ok) throw new Error(result.error.code);
    expect(result.value.lines.map((l) => l.specialInstructions)).toEqual(["extra crispy", null]);
  });

  it("prices an empty order as zero plus the tip", () => {
    expect(totalsOf(price({ lines: [], taxRateBps: 825, tip: 250 }))).toEqual({
      subtotal: 0,
      discount: 0,
      tax: 0,
      tip: 250,
      total: 250,
    });
  });
});

describe("priceOrder line errors", () => {
  it("reports an unknown item with the index of its line", () => {
    const result = price({
      lines: [
        { menuItemId: "fries", quantity: 1 },
        { menuItemId: "pizza", quantity: 1 },
      ],
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "unknown_item",
        message: "menu item pizza does not exist",
        path: "items[1].menuItemId",
      },
    });
  });

  it("reports an unavailable item", () => {
    const result = price({
      lines: [
        { menuItemId: "fries", quantity: 1 },
        { menuItemId: "burger", quantity: 1 },
        { menuItemId: "soup", quantity: 2 },
      ],
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "item_unavailable",
        message: "Soup of the day is not available",
        path: "items[2].menuItemId",
        menuItemId: "soup",
      },
    });
  });

  it("reports a modifier that belongs to another item as unknown", () => {
    const result = price({
      lines: [{ menuItemId: "burger", quantity: 1, modifierIds: ["cheese", "chicken"] }],
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "unknown_modifier",
        message: "Burger has no modifier chicken",
        path: "items[0].modifierIds[1]",
      },
    });
  });

  it("reports a modifier that exists nowhere as unknown", () => {
    const result = price({
      lines: [
        { menuItemId: "fries", quantity: 1 },
        { menuItemId: "fries", quantity: 1, modifierIds: ["ketchup"] },
      ],
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "unknown_modifier",
        message: "Fries has no modifier ketchup",
        path: "items[1].modifierIds[0]",
      },
    });
  });

  it("reports a duplicate modifier at its second occurrence", () => {
    const result = price({
      lines: [{ menuItemId: "burger", quantity: 1, modifierIds: ["cheese", "bacon", "cheese"] }],
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "duplicate_modifier",
        message: "Cheese may be chosen at most 1 time(s)",
        path: "items[0].modifierIds[2]",
        modifierId: "cheese",
      },
    });
  });

  it("returns the first failing line when several fail", () => {
    const result = price({
      lines: [
        { menuItemId: "fries", quantity: 1 },
        { menuItemId: "soup", quantity: 1 },
        { menuItemId: "pizza", quantity: 1 },
      ],
    });
    expect(result.ok ? null : [result.error.code, result.error.path]).toEqual([
      "item_unavailable",
      "items[1].menuItemId",
    ]);
  });

  it("checks lines before the discount", () => {
    const result = price({
      lines: [{ menuItemId: "pizza", quantity: 1 }],
      discount: discount({ expiresAt: "2020-01-01T00:00:00.000Z" }),
    });
    expect(result.ok ? null : [result.error.code, result.error.path]).toEqual([
      "unknown_item",
      "items[0].menuItemId",
    ]);
  });

  it.each([
    [0, "items[0].quantity must be a positive integer, got 0"],
    [-1, "items[0].quantity must be a positive integer, got -1"],
    [1.5, "items[0].quantity must be a positive integer, got 1.5"],
  ])(
    "throws a RangeError for quantity %s, which the route must have rejected",
    (quantity, message) => {
      expect(() => price({ lines: [{ menuItemId: "fries", quantity }] })).toThrow(
        new RangeError(message),
      );
    },
  );

  it("throws a RangeError for a negative or fractional tip", () => {
    expect(() => price({ tip: -1 })).toThrow(
      new RangeError("tip must be a non-negative integer, got -1"),
    );
    expect(() => price({ tip: 0.5 })).toThrow(
      new RangeError("tip must be a non-negative integer, got 0.5"),
    );
  });
});

describe("priceOrder tax", () => {
  it.each([
    // subtotal, rate in bps, tax
    [1005, 850, 85], // 85.425 rounds down
    [1000, 825, 83], // 82.5 rounds up
    [999, 875, 87], // 87.4125
    [1, 4999, 0], // 0.4999
    [1, 5000, 1], // 0.5 exactly
    [3, 5000, 2], // 1.5 exactly
    [2, 2500, 1], // 0.5 exactly
    [2, 7500, 2], // 1.5 exactly
    [10000, 825, 825],
    [1999, 1000, 200], // 199.9
    [1994, 1000, 199], // 199.4
    [1995, 1000, 200], // 199.5
  ])("taxes %i at %i bps as %i", (subtotal, taxRateBps, tax) => {
    expect(totalsOf(priceSubtotal(subtotal, { taxRateBps }))).toEqual({
      subtotal,
      discount: 0,
      tax,
      tip: 0,
      total: subtotal + tax,
    });
  });

  it("charges no tax at a zero rate", () => {
    expect(totalsOf(priceSubtotal(12345, { taxRateBps: 0 }))).toEqual({
      subtotal: 12345,
      discount: 0,
      tax: 0,
      tip: 0,
      total: 12345,
    });
  });

  it("rounds tax once on the order, not per line", () => {
    // Per line 5 × round(1005 × 8.5%) would be 5 × 85 = 425; on the order it is round(427.125) = 427.
    const menu = singleItemMenu(1005);
    const lines: DraftLine[] = Array.from({ length: 5 }, () => ({
      menuItemId: "item",
      quantity: 1,
    }));
    expect(totalsOf(price({ lines, menu, taxRateBps: 850 }))).toEqual({
      subtotal: 5025,
      discount: 0,
      tax: 427,
      tip: 0,
      total: 5452,
    });
  });

  it("neither taxes nor discounts the tip", () => {
    const result = priceSubtotal(2000, {
      taxRateBps: 1000,
      discount: discount({ kind: "percent", value: 1000 }),
      tip: 300,
    });
    // discount 200, tax 10% of 1800 = 180, tip added afterwards untouched
    expect(totalsOf(result)).toEqual({
      subtotal: 2000,
      discount: 200,
      tax: 180,
      tip: 300,
      total: 2280,
    });
  });

  it("does not change tax when only the tip changes", () => {
    const noTip = totalsOf(priceSubtotal(1000, { taxRateBps: 825, tip: 0 }));
    const bigTip = totalsOf(priceSubtotal(1000, { taxRateBps: 825, tip: 5000 }));
    expect([noTip.tax, noTip.total]).toEqual([83, 1083]);
    expect([bigTip.tax, bigTip.total]).toEqual([83, 6083]);
  });
});

describe("priceOrder discounts", () => {
  it("applies a percent discount in basis points before tax", () => {
    const result = priceSubtotal(4000, {
      taxRateBps: 825,
      discount: discount({ kind: "percent", value: 2500 }),
    });
    // 25% of 4000 = 1000; tax 8.25% of 3000 = 247.5 → 248
    expect(totalsOf(result)).toEqual({
      subtotal: 4000,
      discount: 1000,
      tax: 248,
      tip: 0,
      total: 3248,
    });
  });

  it.each([
    [1005, 1000, 101], // 100.5 rounds up
    [1004, 1000, 100], // 100.4 rounds down
    [1015, 1000, 102], // 101.5 rounds up
    [333, 3333, 111], // 110.9889
  ])("rounds a percent discount on %i at %i bps half up to %i", (subtotal, value, expected) => {
    const totals = totalsOf(
      priceSubtotal(subtotal, { discount: discount({ kind: "percent", value }) }),
    );
    expect(totals).toEqual({
      subtotal,
      discount: expected,
      tax: 0,
      tip: 0,
      total: subtotal - expected,
    });
  });

  it("takes a 100% discount down to a zero taxable base", () => {
    const result = priceSubtotal(2599, {
      taxRateBps: 825,
      discount: discount({ kind: "percent", value: 10000 }),
      tip: 100,
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 2599,
      discount: 2599,
      tax: 0,
      tip: 100,
      total: 100,
    });
  });

  it("applies a fixed discount in minor units", () => {
    const result = priceSubtotal(2000, {
      taxRateBps: 1000,
      discount: discount({ kind: "fixed", value: 500 }),
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 2000,
      discount: 500,
      tax: 150,
      tip: 0,
      total: 1650,
    });
  });

  it("caps a fixed discount larger than the subtotal at the subtotal", () => {
    const result = priceSubtotal(1200, {
      taxRateBps: 825,
      discount: discount({ kind: "fixed", value: 2000 }),
      tip: 150,
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 1200,
      discount: 1200,
      tax: 0,
      tip: 150,
      total: 150,
    });
  });

  it("caps a discount on an empty order at zero", () => {
    const result = price({
      lines: [],
      taxRateBps: 825,
      discount: discount({ kind: "fixed", value: 500 }),
      tip: 0,
    });
    expect(totalsOf(result)).toEqual({ subtotal: 0, discount: 0, tax: 0, tip: 0, total: 0 });
  });

  it("applies when the subtotal equals the minimum", () => {
    const result = priceSubtotal(2500, {
      discount: discount({ kind: "fixed", value: 300, minSubtotal: 2500 }),
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 2500,
      discount: 300,
      tax: 0,
      tip: 0,
      total: 2200,
    });
  });

  it("fails when the subtotal is one unit under the minimum", () => {
    const result = priceSubtotal(2499, {
      discount: discount({ code: "BIG", kind: "fixed", value: 300, minSubtotal: 2500 }),
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "discount_minimum_not_met",
        message: "discount code BIG requires a subtotal of at least 2500",
        path: "discountCode",
      },
    });
  });

  it("fails when the discount expires exactly now", () => {
    const result = priceSubtotal(2000, {
      discount: discount({ code: "OLD", expiresAt: NOW.toISOString() }),
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "discount_expired",
        message: "discount code OLD has expired",
        path: "discountCode",
      },
    });
  });

  it("applies when the discount expires one millisecond after now", () => {
    const result = priceSubtotal(2000, {
      discount: discount({ expiresAt: "2025-06-01T12:00:00.001Z" }),
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 2000,
      discount: 200,
      tax: 0,
      tip: 0,
      total: 1800,
    });
  });

  it("fails when the discount has reached its usage limit", () => {
    const result = priceSubtotal(2000, {
      discount: discount({ code: "ONCE", maxUses: 1, usedCount: 1 }),
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "discount_exhausted",
        message: "discount code ONCE has reached its usage limit",
        path: "discountCode",
      },
    });
  });

  it("applies with one use left and with unlimited uses", () => {
    const oneLeft = priceSubtotal(2000, { discount: discount({ maxUses: 5, usedCount: 4 }) });
    const unlimited = priceSubtotal(2000, {
      discount: discount({ maxUses: null, usedCount: 1_000_000 }),
    });
    expect(totalsOf(oneLeft).discount).toBe(200);
    expect(totalsOf(unlimited).discount).toBe(200);
  });
});

describe("checkDiscount", () => {
  it("returns null for a usable discount", () => {
    expect(
      checkDiscount(
        discount({
          expiresAt: "2025-07-01T00:00:00Z",
          maxUses: 10,
          usedCount: 3,
          minSubtotal: 1000,
        }),
        1000,
        NOW,
      ),
    ).toBe(null);
  });

  it("skips the minimum check when the subtotal is null", () => {
    expect(checkDiscount(discount({ minSubtotal: 1_000_000 }), null, NOW)).toBe(null);
    expect(checkDiscount(discount({ minSubtotal: 1_000_000 }), 999_999, NOW)?.code).toBe(
      "discount_minimum_not_met",
    );
  });

  it("still checks expiry and uses when the subtotal is null", () => {
    expect(
      checkDiscount(discount({ expiresAt: "2025-06-01T11:59:59.999Z" }), null, NOW)?.code,
    ).toBe("discount_expired");
    expect(checkDiscount(discount({ maxUses: 3, usedCount: 3 }), null, NOW)?.code).toBe(
      "discount_exhausted",
    );
  });

  it("treats an expiry with a timezone offset as the same instant", () => {
    expect(
      checkDiscount(discount({ expiresAt: "2025-06-01T14:00:00+02:00" }), null, NOW)?.code,
    ).toBe("discount_expired");
    expect(checkDiscount(discount({ expiresAt: "2025-06-01T14:00:01+02:00" }), null, NOW)).toBe(
      null,
    );
  });

  it("treats an unparseable expiry as expired", () => {
    expect(checkDiscount(discount({ expiresAt: "next tuesday" }), null, NOW)?.code).toBe(
      "discount_expired",
    );
  });

  it("reports expiry before exhaustion before the minimum", () => {
    const everythingWrong = discount({
      expiresAt: "2020-01-01T00:00:00Z",
      maxUses: 1,
      usedCount: 1,
      minSubtotal: 500,
    });
    expect(checkDiscount(everythingWrong, 100, NOW)?.code).toBe("discount_expired");
    expect(checkDiscount({ ...everythingWrong, expiresAt: null }, 100, NOW)?.code).toBe(
      "discount_exhausted",
    );
    expect(
      checkDiscount({ ...everythingWrong, expiresAt: null, maxUses: null }, 100, NOW)?.code,
    ).toBe("discount_minimum_not_met");
  });
});

describe("priceOrder large amounts", () => {
  it("multiplies large prices by quantity exactly", () => {
    const menu = menuOf([
      {
        id: "catering",
        name: "Catering",
        price: 999_999_000,
        available: true,
        modifiers: [{ id: "staff", name: "Staff", price: 999 }],
      },
    ]);
    const result = price({
      lines: [{ menuItemId: "catering", quantity: 3, modifierIds: ["staff"] }],
      menu,
      taxRateBps: 875,
      tip: 1_000_000_000,
    });
    // 2_999_999_997 × 8.75% = 262_499_999.7375 → 262_500_000
    expect(totalsOf(result)).toEqual({
      subtotal: 2_999_999_997,
      discount: 0,
      tax: 262_500_000,
      tip: 1_000_000_000,
      total: 4_262_499_997,
    });
  });

  it.each([
    // subtotal, rate in bps, tax
    [1_000_000_000, 9999, 999_900_000],
    [999_999_999, 875, 87_500_000], // 87_499_999.9125
    [123_456_789, 825, 10_185_185], // 10_185_185.0925
    [1_000_000_005, 5000, 500_000_003], // 500_000_002.5 exactly
    [1_000_000_001, 5, 500_000], // 500_000.0005
    [7_777_777_777_777, 1234, 959_777_777_778], // amount × rate exceeds 2^53
  ])("taxes %i at %i bps as %i without floating error", (subtotal, taxRateBps, tax) => {
    expect(totalsOf(priceSubtotal(subtotal, { taxRateBps })).tax).toBe(tax);
  });

  it("rounds a large percent discount exactly", () => {
    // 15% of 1_000_000_003 = 150_000_000.45 → 150_000_000; tax 10% of 850_000_003 = 85_000_000.3 → 85_000_000
    const result = priceSubtotal(1_000_000_003, {
      taxRateBps: 1000,
      discount: discount({ kind: "percent", value: 1500 }),
    });
    expect(totalsOf(result)).toEqual({
      subtotal: 1_000_000_003,
      discount: 150_000_000,
      tax: 85_000_000,
      tip: 0,
      total: 935_000_003,
    });
  });
});

describe("priceOrder ceiling", () => {
  const line = (quantity: number) => [{ menuItemId: "item", quantity }];

  it("accepts an order whose total is exactly the ceiling", () => {
    const result = price({
      lines: line(1),
      menu: singleItemMenu(9_000),
      tip: 1_000,
      maxAmount: 10_000,
    });
    expect(totalsOf(result).total).toBe(10_000);
  });

  it("refuses a line over the ceiling at its quantity", () => {
    const result = price({ lines: line(3), menu: singleItemMenu(4_000), maxAmount: 10_000 });
    expect(result).toMatchObject({
      ok: false,
      error: { code: "amount_over_limit", path: "items[0].quantity" },
    });
  });

  it("refuses a subtotal over the ceiling at items", () => {
    const result = price({
      lines: [...line(2), ...line(2)],
      menu: singleItemMenu(3_000),
      maxAmount: 10_000,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { code: "amount_over_limit", path: "items" },
    });
  });

  it("refuses a total pushed over by tax at items, and by a tip at tip", () => {
    const taxed = price({
      lines: line(1),
      menu: singleItemMenu(10_000),
      taxRateBps: 100,
      maxAmount: 10_000,
    });
    expect(taxed).toMatchObject({ ok: false, error: { code: "amount_over_limit", path: "items" } });
    const tipped = price({
      lines: line(1),
      menu: singleItemMenu(9_000),
      tip: 1_001,
      maxAmount: 10_000,
    });
    expect(tipped).toMatchObject({ ok: false, error: { code: "amount_over_limit", path: "tip" } });
  });

  it("without a ceiling refuses only what would leave exact integer range", () => {
    const result = price({ lines: line(2), menu: singleItemMenu(Number.MAX_SAFE_INTEGER - 1) });
    expect(result).toMatchObject({ ok: false, error: { code: "amount_over_limit" } });
  });
});

describe("priceOrder modifier groups", () => {
  // Fries: Size exactly one (Regular, Large +100), Dips up to two (Ketchup, Aioli +50 up to 2 each),
  // and a free extra outside any group (Salt).
  const FRIES: MenuItemForPricing = {
    id: "fries",
    name: "Fries",
    price: 400,
    available: true,
    modifierGroups: [
      { id: "size", name: "Size", minSelections: 1, maxSelections: 1 },
      { id: "dips", name: "Dips", minSelections: 0, maxSelections: 2 },
    ],
    modifiers: [
      { id: "regular", name: "Regular", price: 0, groupId: "size" },
      { id: "large", name: "Large", price: 100, groupId: "size" },
      { id: "ketchup", name: "Ketchup", price: 0, groupId: "dips" },
      { id: "aioli", name: "Aioli", price: 50, groupId: "dips", maxQuantity: 2 },
      { id: "salt", name: "Salt", price: 0, groupId: null },
      { id: "truffle", name: "Truffle", price: 300, groupId: null, available: false },
    ],
  };
  const fries = (modifierIds: string[]) =>
    price({ menu: menuOf([FRIES]), lines: [{ menuItemId: "fries", quantity: 2, modifierIds }] });
  const sizeRule = { id: "size", name: "Size", minSelections: 1, maxSelections: 1 };

  it("refuses Regular and Large at once, naming the group", () => {
    expect(fries(["regular", "large"])).toEqual({
      ok: false,
      error: {
        code: "modifier_group_maximum",
        message: "Fries: choose at most 1 of Size (2 chosen)",
        path: "items[0].modifierIds",
        menuItemId: "fries",
        group: sizeRule,
      },
    });
  });

  it("refuses a line without its required size, naming the group", () => {
    expect(fries(["ketchup"])).toEqual({
      ok: false,
      error: {
        code: "modifier_group_minimum",
        message: "Fries: choose at least 1 of Size (0 chosen)",
        path: "items[0].modifierIds",
        menuItemId: "fries",
        group: sizeRule,
      },
    });
  });

  it("counts a modifier taken twice as two towards its group's maximum", () => {
    const result = fries(["large", "aioli", "aioli", "ketchup"]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.group?.id).toBe("dips");
  });

  it("prices a modifier taken twice at twice its price, once in the line", () => {
    const result = fries(["large", "aioli", "aioli", "salt"]);
    expect(result).toMatchObject({
      ok: true,
      value: {
        subtotal: 2 * (400 + 100 + 2 * 50),
        lines: [
          {
            unitPrice: 600,
            lineTotal: 1200,
            modifiers: [
              { id: "large", quantity: 1, price: 100 },
              { id: "aioli", quantity: 2, price: 50 },
              { id: "salt", quantity: 1, price: 0 },
            ],
          },
        ],
      },
    });
  });

  it("refuses a third of a modifier that allows two", () => {
    const result = fries(["regular", "aioli", "aioli", "aioli"]);
    expect(result).toMatchObject({
      ok: false,
      error: { code: "duplicate_modifier", path: "items[0].modifierIds[3]", modifierId: "aioli" },
    });
  });

  it("refuses an 86'd modifier, naming it and its item", () => {
    expect(fries(["regular", "truffle"])).toEqual({
      ok: false,
      error: {
        code: "modifier_unavailable",
        message: "Truffle is not available",
        path: "items[0].modifierIds[1]",
        menuItemId: "fries",
        modifierId: "truffle",
      },
    });
  });

  it("takes a group with no maximum any number of its modifiers", () => {
    const open: MenuItemForPricing = {
      ...FRIES,
      modifierGroups: [{ id: "dips", name: "Dips", minSelections: 0, maxSelections: null }],
      modifiers: FRIES.modifiers.map((m) => ({ ...m, groupId: "dips", maxQuantity: 5 })),
    };
    const result = price({
      menu: menuOf([open]),
      lines: [
        { menuItemId: "fries", quantity: 1, modifierIds: ["aioli", "aioli", "aioli", "ketchup"] },
      ],
    });
    expect(result).toMatchObject({ ok: true, value: { subtotal: 400 + 150 } });
  });
});
