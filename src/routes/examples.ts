import type { z } from "@hono/zod-openapi";
import type { OrderDraft, PlacedOrder } from "../services/orders";
import type { OrderSchema } from "./schemas";

/*
 * Example bodies for the OpenAPI document (`/docs`), one story throughout: demo-bistro (USD,
 * tax 875 basis points) sells a Margherita pizza (1299) with Extra basil (150) and a Lemonade
 * (499); WELCOME10 takes 10 % off. test/routes/openapi.worker.test.ts sends them to a real tenant
 * built from the same story and compares the answers, so the arithmetic here is the server's.
 */

const PIZZA = "itm_01JT8Z6W3K9X2M4N5P6Q7R8S9T";
const BASIL = "mod_01JT8Z6W3KZ5MENHGZQZX01KVQ";
const LEMONADE = "itm_01JT8Z6W3MYQWGDNRTJ3PMRQ9G";
const ORDER_ID = "ord_01JT9B4Q7R5S6T7V8W9X0Y1Z2A";
const TENANT_ID = "ten_01JT8Z2C4D6E8F0G2H4J6K8M0N";
const INTENT_ID = "pi_3PQ7xYZ2eZvKYlo21QvT8m9n";
const PLACED_AT = "2026-05-01T18:30:00.000Z";

const usd = (amount: number) => ({ amount, currency: "USD" });

/** A pickup draft with a modifier, a tip and a discount code. */
const pickupDraft = {
  orderType: "pickup",
  items: [
    { menuItemId: PIZZA, quantity: 2, modifierIds: [BASIL], specialInstructions: "well done" },
    { menuItemId: LEMONADE, quantity: 1 },
  ],
  customer: { name: "Ada Lovelace", email: "ada@example.com", phone: "+15550100" },
  tip: usd(300),
  discountCode: "WELCOME10",
  specialInstructions: "We will wait outside",
} satisfies OrderDraft;

/** A delivery draft for a later time; `deliveryAddress` is required for delivery only. */
const deliveryDraft = {
  orderType: "delivery",
  items: [{ menuItemId: LEMONADE, quantity: 3 }],
  customer: { name: "Grace Hopper", phone: "+1 555 010 0199" },
  scheduledFor: "2026-05-01T19:15:00-04:00",
  deliveryAddress: {
    line1: "350 Fifth Avenue",
    line2: "Floor 21",
    city: "New York",
    postalCode: "10118",
    region: "NY",
    country: "US",
    instructions: "Ask at the front desk",
  },
} satisfies OrderDraft;

export const ORDER_DRAFT_EXAMPLES = {
  pickup: {
    summary: "Pickup: two pizzas with extra basil, a lemonade, a tip and a discount code",
    value: pickupDraft,
  },
  delivery: {
    summary: "Delivery at a chosen time",
    value: deliveryDraft,
  },
};

/** The pickup draft, priced: (2 × (1299 + 150)) + 499 = 3397; −340 (10 %); +267 tax (8.75 % of 3057); +300 tip. */
const pickupLines = [
  {
    menuItemId: PIZZA,
    name: "Margherita pizza",
    quantity: 2,
    unitPrice: usd(1449),
    modifiers: [{ id: BASIL, name: "Extra basil", price: usd(150), quantity: 1 }],
    lineTotal: usd(2898),
    specialInstructions: "well done",
  },
  {
    menuItemId: LEMONADE,
    name: "Lemonade",
    quantity: 1,
    unitPrice: usd(499),
    modifiers: [],
    lineTotal: usd(499),
    specialInstructions: null,
  },
];
const pickupTotals = {
  subtotal: usd(3397),
  discount: usd(340),
  tax: usd(267),
  tip: usd(300),
  total: usd(3624),
};

export const ORDER_PREVIEW_EXAMPLES = {
  pickup: {
    summary: "The pickup draft, priced",
    value: { lines: pickupLines, ...pickupTotals },
  },
};

const placedOrder = {
  id: ORDER_ID,
  number: 42,
  tenant: "demo-bistro",
  status: "pending_payment",
  paymentStatus: "unpaid",
  posStatus: "not_required",
  orderType: "pickup",
  customer: { name: "Ada Lovelace", email: "ada@example.com", phone: "+15550100" },
  items: pickupLines,
  ...pickupTotals,
  discountCode: "WELCOME10",
  specialInstructions: "We will wait outside",
  deliveryAddress: null,
  scheduledFor: null,
  estimatedReadyAt: null,
  externalId: null,
  posEnteredAt: null,
  createdAt: PLACED_AT,
  updatedAt: PLACED_AT,
} satisfies z.infer<typeof OrderSchema>;

export const PLACED_ORDER_EXAMPLES = {
  stripe: {
    summary: "The pickup draft, placed; pay with Stripe.js using clientSecret",
    value: {
      order: placedOrder,
      accessToken: "RA6h1osc9QkR_c3eezvhA6JftyYoRvDU8D9W9PbpAuI",
      payment: {
        provider: "stripe",
        clientSecret: `${INTENT_ID}_secret_Zk3q9Yx0mT2vB7nR4cL8wE1sH`,
      },
    } satisfies PlacedOrder["body"],
  },
};

/** `payment_intent.succeeded` for the placed order, as Stripe sends it (fields we read). */
export const STRIPE_EVENT_EXAMPLES = {
  succeeded: {
    summary: "payment_intent.succeeded: the order is confirmed, marked paid and sent to the POS",
    value: {
      id: "evt_3PQ7xYZ2eZvKYlo21a2b3c4d",
      object: "event",
      type: "payment_intent.succeeded",
      api_version: "2025-10-29.clover",
      created: 1777660260,
      livemode: false,
      data: {
        object: {
          id: INTENT_ID,
          object: "payment_intent",
          amount: 3624,
          amount_received: 3624,
          currency: "usd",
          status: "succeeded",
          metadata: { tenant_id: TENANT_ID, order_id: ORDER_ID },
        },
      },
    },
  },
};

export const STRIPE_SIGNATURE_EXAMPLE =
  "t=1777660260,v1=e28780d2b406388943a8835406a6a69829c1a4fe405e5100f99eb048b4255d24";

/** A status change for the placed order, in each provider's own format. */
export const POS_EVENT_EXAMPLES = {
  webhook: {
    summary: "provider webhook (Orderlane's format): the kitchen started the order",
    value: {
      eventId: "evt-7f3a9c",
      orderId: ORDER_ID,
      posOrderId: "ticket-1042",
      status: "preparing",
      occurredAt: "2026-05-01T18:41:07Z",
    },
  },
  square: {
    summary: "provider square: order.updated (signed over the notification URL and the body)",
    value: {
      merchant_id: "MLX1Y3BDW9VNP",
      type: "order.updated",
      event_id: "5f4c3b2a-1d0e-4f9a-8b7c-6d5e4f3a2b1c",
      created_at: "2026-05-01T18:41:07Z",
      data: {
        type: "order_updated",
        id: "Cpp0nVuK0Ri5BNHRsGk7gRmk1CJZY",
        object: {
          order_updated: {
            order_id: "Cpp0nVuK0Ri5BNHRsGk7gRmk1CJZY",
            location_id: "L8Q6J5Y1W4PRT",
            state: "OPEN",
            version: 3,
            created_at: "2026-05-01T18:31:02Z",
            updated_at: "2026-05-01T18:41:07Z",
          },
        },
      },
    },
  },
  toast: {
    summary: "provider toast: order_updated, the order is ready for pickup",
    value: {
      timestamp: "2026-05-01T18:52:30.000+0000",
      eventCategory: "orders",
      eventType: "order_updated",
      guid: "9b2f6c1e-3d4a-4b5c-8e7f-0a1b2c3d4e5f",
      details: {
        restaurantGuid: "c227349d-7778-4ec2-af4a-0d5a1b2c3d4e",
        order: {
          guid: "e3b0c442-98fc-4c14-9afb-f4c8996fb924",
          externalId: `orderlane:${ORDER_ID}`,
          approvalStatus: "APPROVED",
          guestOrderStatus: "READY_FOR_PICKUP",
        },
      },
    },
  },
  clover: {
    summary: "provider clover: an order deleted in the POS (Clover sends no status)",
    value: {
      appId: "DRKVJT2ZRRRSC",
      merchants: {
        MLX1Y3BDW9VNP: [{ objectId: "O:QH4K0V5V2A9FJ", type: "DELETE", ts: 1777661550000 }],
      },
    },
  },
};
