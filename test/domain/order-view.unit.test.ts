import { describe, expect, it } from "vitest";
import { orderView, type StoredOrder } from "../../src/domain/order-view";

const stored: StoredOrder = {
  id: "ord_1",
  number: 1001,
  status: "confirmed",
  paymentStatus: "paid",
  posStatus: "synced",
  orderType: "delivery",
  customerName: "Ada",
  customerEmail: null,
  customerPhone: "+15550100",
  currency: "EUR",
  subtotal: 2600,
  discount: 260,
  tax: 187,
  tip: 300,
  total: 2827,
  discountCode: "TEN",
  specialInstructions: null,
  deliveryAddress: { line1: "1 Main St", city: "Paris", postalCode: "75001", country: "FR" },
  scheduledFor: null,
  estimatedReadyAt: "2026-11-20T12:25:00.000Z",
  posEnteredAt: null,
  externalId: "sq_1",
  createdAt: "2026-12-01T10:00:00.000Z",
  updatedAt: "2026-12-01T10:05:00.000Z",
  items: [
    {
      menuItemId: "itm_1",
      name: "Fries",
      quantity: 2,
      unitPrice: 1300,
      modifiers: [{ id: "mod_1", name: "Large", price: 100 }],
      lineTotal: 2600,
      specialInstructions: "crispy",
    },
  ],
};

describe("orderView", () => {
  it("names the contract's fields and puts every amount in the order's currency", () => {
    const view = orderView(stored, "bistro");
    expect(view).toMatchObject({
      id: "ord_1",
      number: 1001,
      tenant: "bistro",
      customer: { name: "Ada", email: null, phone: "+15550100" },
      subtotal: { amount: 2600, currency: "EUR" },
      discount: { amount: 260, currency: "EUR" },
      tax: { amount: 187, currency: "EUR" },
      tip: { amount: 300, currency: "EUR" },
      total: { amount: 2827, currency: "EUR" },
      externalId: "sq_1",
      estimatedReadyAt: "2026-11-20T12:25:00.000Z",
      posEnteredAt: null,
    });
    expect(view.items).toEqual([
      {
        menuItemId: "itm_1",
        name: "Fries",
        quantity: 2,
        unitPrice: { amount: 1300, currency: "EUR" },
        modifiers: [
          { id: "mod_1", name: "Large", price: { amount: 100, currency: "EUR" }, quantity: 1 },
        ],
        lineTotal: { amount: 2600, currency: "EUR" },
        specialInstructions: "crispy",
      },
    ]);
  });

  it("shows no stored-only fields (revision, POS claim, payment intent)", () => {
    const withInternals = { ...stored, revision: "r1", posClaim: "c1", paymentIntentId: "pi_1" };
    const keys = Object.keys(orderView(withInternals, "bistro"));
    expect(keys).not.toContain("revision");
    expect(keys).not.toContain("posClaim");
    expect(keys).not.toContain("paymentIntentId");
  });
});
