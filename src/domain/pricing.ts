/**
 * Order pricing: turns the lines a customer submitted into priced lines and
 * totals, from the menu as stored (never from prices the client sent).
 *
 * All amounts are integer minor units of the tenant's currency.
 *
 * Rounding rule: a rate in basis points applied to an amount is rounded half
 * up to the nearest minor unit, i.e. `floor((amount * bps + 5000) / 10000)`
 * computed exactly in integers (85.425 → 85, 82.5 → 83). It is applied once
 * per order, to the percent discount and to the tax, never per line, so the
 * receipt's lines always add up to its subtotal.
 *
 * Order of operations:
 * - unitPrice = item price + Σ modifier price × its quantity; lineTotal = unitPrice × quantity
 * - subtotal = Σ lineTotal
 * - discount = percent or fixed amount, capped at the subtotal
 * - tax = round(rate × (subtotal − discount))
 * - total = subtotal − discount + tax + tip (the tip is neither taxed nor discounted)
 */

/**
 * The platform's money ceiling in minor units (1 000 000.00): no single
 * price, modifier, tip, discount or order total is accepted above it. A
 * tenant may have a lower one. With 50 lines of at most 99 items of at most
 * 31 prices each, every sum stays far inside exact integer range.
 */
export const PLATFORM_MAX_AMOUNT = 100_000_000;

/**
 * A modifier as the menu stores it; `price` in minor units. `groupId` names its group among the
 * item's `modifierGroups` (absent or null: a free extra outside any group); `maxQuantity` is how
 * many of it one line may take (1 when absent); `available` is false while it is 86'd.
 */
export interface PricedModifierInput {
  id: string;
  name: string;
  price: number;
  groupId?: string | null;
  maxQuantity?: number;
  available?: boolean;
}

/** A modifier group's rule: a line takes at least `minSelections` and at most `maxSelections` (null: no bound). */
export interface ModifierGroupForPricing {
  id: string;
  name: string;
  minSelections: number;
  maxSelections: number | null;
}

/** The part of a menu item pricing needs; `price` in minor units. */
export interface MenuItemForPricing {
  id: string;
  name: string;
  price: number;
  available: boolean;
  modifiers: PricedModifierInput[];
  modifierGroups?: ModifierGroupForPricing[];
}

/**
 * One line as the customer submitted it. A modifier id given n times is n of that modifier
 * (allowed up to its `maxQuantity`).
 */
export interface DraftLine {
  menuItemId: string;
  quantity: number;
  modifierIds?: string[];
  specialInstructions?: string;
}

/**
 * A discount code as stored. `value` is basis points for `percent`
 * (1000 = 10%, at most 10000) and minor units for `fixed`.
 * `expiresAt` is an ISO 8601 instant, or null for no expiry;
 * `maxUses` null means unlimited.
 */
export interface DiscountForPricing {
  code: string;
  kind: "percent" | "fixed";
  value: number;
  minSubtotal: number;
  expiresAt: string | null;
  maxUses: number | null;
  usedCount: number;
}

/** A line with the prices that were charged, frozen onto the order. */
export interface PricedLine {
  menuItemId: string;
  name: string;
  quantity: number;
  unitPrice: number;
  /** `price` is for one; `quantity` of it is on each unit of the line. */
  modifiers: { id: string; name: string; price: number; quantity: number }[];
  lineTotal: number;
  specialInstructions: string | null;
}

/** The priced order; every amount in minor units. */
export interface PricedOrder {
  lines: PricedLine[];
  subtotal: number;
  discount: number;
  tax: number;
  tip: number;
  total: number;
}

/** Why an order could not be priced. */
export type PricingErrorCode =
  | "unknown_item"
  | "item_unavailable"
  | "unknown_modifier"
  | "modifier_unavailable"
  | "duplicate_modifier"
  | "modifier_group_minimum"
  | "modifier_group_maximum"
  | "discount_expired"
  | "discount_exhausted"
  | "discount_minimum_not_met"
  | "amount_over_limit";

/**
 * A pricing failure. `path` points into the request, e.g.
 * `items[2].modifierIds[0]` or `discountCode`, so the route can report it
 * as a field error.
 */
export interface PricingError {
  code: PricingErrorCode;
  message: string;
  path: string;
  /** What the error is about, for the refusal's details (an unavailable item, a group's rule). */
  menuItemId?: string;
  modifierId?: string;
  group?: { id: string; name: string; minSelections: number; maxSelections: number | null };
}

/** The priced order, or the first reason it cannot be priced. */
export type PricingResult = { ok: true; value: PricedOrder } | { ok: false; error: PricingError };

/**
 * Everything pricing depends on. `menu` is keyed by menu item id;
 * `taxRateBps` is the tenant's tax rate in basis points; `now` decides
 * discount expiry.
 */
export interface PricingInput {
  lines: DraftLine[];
  menu: ReadonlyMap<string, MenuItemForPricing>;
  taxRateBps: number;
  discount: DiscountForPricing | null;
  tip: number;
  now: Date;
  /**
   * The tenant's money ceiling: a line, the subtotal or the total above it
   * is refused. Without one, only sums past exact integer range are.
   */
  maxAmount?: number;
}

const BPS_DENOMINATOR = 10_000;
const DISCOUNT_PATH = "discountCode";

/**
 * Prices an order. Lines keep their input order and each line's modifiers
 * keep the order of its `modifierIds`. Lines are checked before the
 * discount, and the first problem found is returned.
 *
 * The request shape is the caller's to validate (zod at the route); a
 * non-integer or negative quantity, tip or rate here is a programming
 * error and throws a RangeError rather than being priced.
 */
export function priceOrder(input: PricingInput): PricingResult {
  assertNonNegativeInteger(input.tip, "tip");
  assertNonNegativeInteger(input.taxRateBps, "taxRateBps");

  const max = input.maxAmount ?? Number.MAX_SAFE_INTEGER;
  const over = (amount: number) => !Number.isSafeInteger(amount) || amount > max;
  const lines: PricedLine[] = [];
  for (const [index, draft] of input.lines.entries()) {
    const priced = priceLine(draft, index, input.menu);
    if ("code" in priced) return { ok: false, error: priced };
    if (over(priced.lineTotal)) {
      return { ok: false, error: overLimit(`items[${index}].quantity`, "this line", max) };
    }
    lines.push(priced);
  }

  const subtotal = lines.reduce((sum, line) => sum + line.lineTotal, 0);
  if (over(subtotal)) return { ok: false, error: overLimit("items", "the subtotal", max) };

  let discount = 0;
  if (input.discount !== null) {
    const error = checkDiscount(input.discount, subtotal, input.now);
    if (error !== null) return { ok: false, error };
    discount = discountAmount(input.discount, subtotal);
  }

  const tax = applyRateHalfUp(subtotal - discount, input.taxRateBps);
  const total = subtotal - discount + tax + input.tip;
  if (over(total)) {
    return { ok: false, error: overLimit(input.tip > 0 ? "tip" : "items", "the total", max) };
  }
  return { ok: true, value: { lines, subtotal, discount, tax, tip: input.tip, total } };
}

function overLimit(path: string, what: string, max: number): PricingError {
  return {
    code: "amount_over_limit",
    message: `${what} would be over this store's limit of ${max} minor units`,
    path,
  };
}

/**
 * Checks whether `discount` may be used at `now`: not expired (it expires
 * at `expiresAt` itself), not used up, and, when `subtotal` is given, the
 * minimum subtotal is met. Pass `subtotal: null` to validate a code before
 * the basket is known. Returns null when the discount applies.
 */
export function checkDiscount(
  discount: DiscountForPricing,
  subtotal: number | null,
  now: Date,
): PricingError | null {
  if (discount.expiresAt !== null) {
    const expiresAt = Date.parse(discount.expiresAt);
    // An unparseable expiry is treated as expired: a corrupt row must not
    // turn into a discount that never ends.
    if (Number.isNaN(expiresAt) || now.getTime() >= expiresAt) {
      return {
        code: "discount_expired",
        message: `discount code ${discount.code} has expired`,
        path: DISCOUNT_PATH,
      };
    }
  }
  if (discount.maxUses !== null && discount.usedCount >= discount.maxUses) {
    return {
      code: "discount_exhausted",
      message: `discount code ${discount.code} has reached its usage limit`,
      path: DISCOUNT_PATH,
    };
  }
  if (subtotal !== null && subtotal < discount.minSubtotal) {
    return {
      code: "discount_minimum_not_met",
      message: `discount code ${discount.code} requires a subtotal of at least ${discount.minSubtotal}`,
      path: DISCOUNT_PATH,
    };
  }
  return null;
}

function priceLine(
  draft: DraftLine,
  index: number,
  menu: ReadonlyMap<string, MenuItemForPricing>,
): PricedLine | PricingError {
  const path = `items[${index}]`;
  assertPositiveInteger(draft.quantity, `${path}.quantity`);

  const item = menu.get(draft.menuItemId);
  if (item === undefined) {
    return {
      code: "unknown_item",
      message: `menu item ${draft.menuItemId} does not exist`,
      path: `${path}.menuItemId`,
    };
  }
  if (!item.available) {
    return {
      code: "item_unavailable",
      message: `${item.name} is not available`,
      path: `${path}.menuItemId`,
      menuItemId: item.id,
    };
  }

  const modifiers = new Map<string, PricedLine["modifiers"][number]>();
  for (const [modIndex, modifierId] of (draft.modifierIds ?? []).entries()) {
    const modPath = `${path}.modifierIds[${modIndex}]`;
    // Looked up on this item only: a modifier id from another item must not
    // be accepted just because it exists somewhere on the menu.
    const modifier = item.modifiers.find((m) => m.id === modifierId);
    if (modifier === undefined) {
      return {
        code: "unknown_modifier",
        message: `${item.name} has no modifier ${modifierId}`,
        path: modPath,
      };
    }
    if (modifier.available === false) {
      return {
        code: "modifier_unavailable",
        message: `${modifier.name} is not available`,
        path: modPath,
        menuItemId: item.id,
        modifierId,
      };
    }
    const chosen = modifiers.get(modifierId);
    if (chosen) {
      if (chosen.quantity >= (modifier.maxQuantity ?? 1)) {
        return {
          code: "duplicate_modifier",
          message: `${modifier.name} may be chosen at most ${modifier.maxQuantity ?? 1} time(s)`,
          path: modPath,
          modifierId,
        };
      }
      chosen.quantity += 1;
    } else {
      modifiers.set(modifierId, {
        id: modifier.id,
        name: modifier.name,
        price: modifier.price,
        quantity: 1,
      });
    }
  }
  const groupError = checkModifierGroups(item, [...modifiers.values()], path);
  if (groupError) return groupError;

  const chosen = [...modifiers.values()];
  const unitPrice = item.price + chosen.reduce((sum, m) => sum + m.price * m.quantity, 0);
  return {
    menuItemId: item.id,
    name: item.name,
    quantity: draft.quantity,
    unitPrice,
    modifiers: chosen,
    lineTotal: unitPrice * draft.quantity,
    specialInstructions: draft.specialInstructions ?? null,
  };
}

/**
 * Each of the item's groups must get between its minimum and maximum of the line's modifiers
 * (counting quantities): "Size" exactly one, "Extras" up to three. The first group broken is
 * named, so the storefront can point at it.
 */
function checkModifierGroups(
  item: MenuItemForPricing,
  chosen: PricedLine["modifiers"],
  path: string,
): PricingError | null {
  for (const group of item.modifierGroups ?? []) {
    const inGroup = new Set(item.modifiers.filter((m) => m.groupId === group.id).map((m) => m.id));
    const count = chosen.reduce((n, m) => n + (inGroup.has(m.id) ? m.quantity : 0), 0);
    const rule = {
      id: group.id,
      name: group.name,
      minSelections: group.minSelections,
      maxSelections: group.maxSelections,
    };
    if (count < group.minSelections) {
      return {
        code: "modifier_group_minimum",
        message: `${item.name}: choose at least ${group.minSelections} of ${group.name} (${count} chosen)`,
        path: `${path}.modifierIds`,
        menuItemId: item.id,
        group: rule,
      };
    }
    if (group.maxSelections !== null && count > group.maxSelections) {
      return {
        code: "modifier_group_maximum",
        message: `${item.name}: choose at most ${group.maxSelections} of ${group.name} (${count} chosen)`,
        path: `${path}.modifierIds`,
        menuItemId: item.id,
        group: rule,
      };
    }
  }
  return null;
}

/** The amount `discount` takes off `subtotal`, never more than the subtotal. */
function discountAmount(discount: DiscountForPricing, subtotal: number): number {
  const raw =
    discount.kind === "percent" ? applyRateHalfUp(subtotal, discount.value) : discount.value;
  return Math.min(Math.max(raw, 0), subtotal);
}

/**
 * `amount * bps / 10000`, rounded half up, exact for any result up to
 * Number.MAX_SAFE_INTEGER. Splitting the amount into whole multiples of
 * 10000 and a remainder keeps every intermediate product small, so there is
 * no floating-point division to misround and no overflow of the safe range
 * even when `amount * bps` itself would exceed it.
 */
function applyRateHalfUp(amount: number, bps: number): number {
  return (
    wholeQuotient(amount) * bps +
    wholeQuotient((amount % BPS_DENOMINATOR) * bps + BPS_DENOMINATOR / 2)
  );
}

/** `floor(x / 10000)` for a non-negative safe integer, without a fractional intermediate. */
function wholeQuotient(x: number): number {
  return (x - (x % BPS_DENOMINATOR)) / BPS_DENOMINATOR;
}

function assertNonNegativeInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function assertPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
