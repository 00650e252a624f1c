import { createRoute, z } from "@hono/zod-openapi";
import { findOrder, listOrderHistory, listOrders } from "../../db/orders";
import { listRefunds } from "../../db/refunds";
import { listSyncAttempts } from "../../db/sync-attempts";
import { deliverAfterResponse } from "../../delivery";
import { ORDER_STATUSES, PAYMENT_STATUSES, POS_STATUSES } from "../../domain/order-status";
import { orderView } from "../../domain/order-view";
import { keyRouter, readOrderForKey } from "../../http/auth";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  IdParam,
  jsonBody,
  jsonContent,
  NO_TENANT,
  PageQuery,
  pageSchema,
  registerComponents,
  TenantParam,
} from "../../http/router";
import { cancelOrder } from "../../services/cancellation";
import { confirmOrderAndQueue } from "../../services/confirmation";
import { changeOrderStatus } from "../../services/orders";
import { markEnteredInPos } from "../../services/pos-outage";
import { retryPosSubmission } from "../../services/pos-sync";
import { retryRefund, settleRefundByHand } from "../../services/refunds";
import {
  HistoryEntrySchema,
  OrderSchema,
  RefundSchema,
  refundDto,
  SyncAttemptSchema,
  syncAttemptDto,
} from "../schemas";

// Orders as staff follow and act on them: the list, one order with its history, and every action
// on it (status, cancel, mark paid, POS retry, refund retry, refund settled by hand).

const OrderIdParams = IdParam("The order's `id` (`ord_…`).");
const OrderCursor = z.string().regex(/^\d{1,12}$/, "is not a cursor from this list");
const NO_ORDER = {
  code: "not_found",
  when: "no tenant has this slug, or it has no such order",
} as const;
const OrderOut = OrderSchema.openapi({ description: "The order." });

const staff = keyRouter("staff");
registerComponents(staff.openAPIRegistry, { SyncAttempt: SyncAttemptSchema });

const listOrdersRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders",
  tags: ["admin: orders"],
  summary: "Orders, newest first",
  description:
    "A page of the tenant's orders, newest first, optionally only those in one `status`, `posStatus` or `paymentStatus` (`paymentStatus=refund_failed` lists the refunds to settle by hand).",
  request: {
    params: TenantParam,
    query: PageQuery.extend({
      cursor: OrderCursor.optional().describe(
        "The `nextCursor` of the previous page (an order number); absent for the first page.",
      ),
      status: z.enum(ORDER_STATUSES).optional().describe("Only orders in this status."),
      posStatus: z.enum(POS_STATUSES).optional().describe("Only orders with this POS status."),
      paymentStatus: z
        .enum(PAYMENT_STATUSES)
        .optional()
        .describe("Only orders with this payment status."),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(OrderSchema), "A page of orders."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "`limit` is not 1–200, `cursor` is not from this list, or a filter is not one of its values",
      },
      NO_TENANT,
    ),
  },
});

staff.openapi(listOrdersRoute, async (c) => {
  const tenant = c.get("tenant");
  const query = c.req.valid("query");
  const rows = await listOrders(c.get("db"), tenant.id, {
    status: query.status,
    posStatus: query.posStatus,
    paymentStatus: query.paymentStatus,
    beforeNumber: query.cursor ? Number(query.cursor) : undefined,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return c.json(
    {
      items: page.map((order) => orderView(order, tenant.slug)),
      nextCursor: rows.length > query.limit && last ? String(last.number) : null,
    },
    200,
  );
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders/{id}",
  tags: ["admin: orders"],
  summary: "One order with its status history",
  description:
    "The order with everything staff need to follow it: every status change, every POS submission attempt and every refund.",
  request: { params: OrderIdParams },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        history: z
          .array(HistoryEntrySchema)
          .describe("Every status change, oldest first, from the order's creation."),
        syncAttempts: z
          .array(SyncAttemptSchema)
          .describe("Every attempt to send it to the POS, newest first."),
        refunds: z
          .array(RefundSchema)
          .describe("Every refund the processor reported for it, oldest first."),
      }),
      "The order.",
    ),
    ...errorResponses(NO_ORDER),
  },
});

staff.openapi(getOrderRoute, async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const order = await findOrder(db, tenant.id, c.req.valid("param").id);
  if (!order) throw new ApiError("not_found", "unknown order");
  const [history, attempts, refunds] = await Promise.all([
    listOrderHistory(db, order.id),
    listSyncAttempts(db, tenant.id, { orderId: order.id, limit: 200 }),
    listRefunds(db, tenant.id, order.id),
  ]);
  return c.json(
    {
      order: orderView(order, tenant.slug),
      syncAttempts: attempts.map(syncAttemptDto),
      refunds: refunds.map(refundDto),
      history: history.map((h) => ({
        from: h.fromStatus,
        to: h.toStatus,
        source: h.source,
        at: h.at,
      })),
    },
    200,
  );
});

const setStatusRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/status",
  tags: ["admin: orders"],
  summary: "Move an order through the state machine (409 on an illegal move)",
  description:
    "Moves a paid order forward (`confirmed` → `preparing` → `ready` → `out_for_delivery` → `completed`; steps may be skipped, `out_for_delivery` is for delivery orders only) or any open order to `cancelled`, which refunds a paid one as `POST …/cancel` does. An unpaid order is confirmed by its payment or by `POST …/mark-paid`, not here. Asking for the status it already has changes nothing (`changed: false`).",
  request: {
    params: OrderIdParams,
    body: jsonBody(
      z
        .object({ status: z.enum(ORDER_STATUSES).describe("The status to move the order to.") })
        .strict(),
    ),
  },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        changed: z.boolean().describe("false when the order already had this status."),
      }),
      "The order after the move.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_ORDER, {
      code: "conflict",
      when: "the move is not allowed: backwards, out of `completed` or `cancelled`, forward from `pending_payment`, or `out_for_delivery` for an order that is not a delivery (`details`: `{ from, to }`); or the order changed concurrently (read it again)",
      message: "order cannot move back from ready to preparing",
      details: { from: "ready", to: "preparing" },
    }),
  },
});

staff.openapi(setStatusRoute, async (c) => {
  const tenant = c.get("tenant");
  const id = c.req.valid("param").id;
  const status = c.req.valid("json").status;
  // Cancelling is one path wherever it is asked for: a paid order is refunded.
  const { order, changed, effects } =
    status === "cancelled"
      ? await cancelOrder(c.env, tenant, id, "staff", new Date())
      : await changeOrderStatus(c.get("db"), tenant, id, status, "staff", new Date());
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug), changed }, 200);
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/cancel",
  tags: ["admin: orders"],
  summary: "Cancel an order; a paid one is refunded (the refund completes asynchronously)",
  description:
    "Cancels the order. A card-paid order is refunded in full in the background (`paymentStatus` `refund_pending`, then `refunded`, or `refund_failed` with an alert); an order paid at the counter is cancelled without a refund. An order the POS already has raises a `pos_void_needed` alert for staff to void it there.",
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(
      z.object({ order: OrderOut }),
      "Cancelled; the refund, when one is due, is under way.",
    ),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order is `completed`, or changed concurrently",
    }),
  },
});

staff.openapi(cancelRoute, async (c) => {
  const tenant = c.get("tenant");
  const { order, effects } = await cancelOrder(
    c.env,
    tenant,
    c.req.valid("param").id,
    "staff",
    new Date(),
  );
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug) }, 202);
});

const markPaidRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/mark-paid",
  tags: ["admin: orders"],
  summary:
    "Record an unpaid order as paid at the counter: it is confirmed and sent to terminals as new_order",
  description:
    "Records that the customer paid in store: the order is confirmed and paid, sent to the POS and to every terminal, and its PaymentIntent (if any) is cancelled so the card cannot be charged as well. Marking an order already paid changes nothing (`changed: false`).",
  request: { params: OrderIdParams },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        changed: z.boolean().describe("false when the order was already paid."),
      }),
      "The confirmed order.",
    ),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order is past `pending_payment` without being paid (cancelled, for one) or its refund has begun; `details` is `{ status, paymentStatus }`. Or it changed concurrently",
    }),
  },
});

// A payment confirmation's budget is two round trips: the key is checked in the order's read.
const staffPaying = keyRouter("staff", { keyCheckInRead: true });

staffPaying.openapi(markPaidRoute, async (c) => {
  const id = c.req.valid("param").id;
  const { tenant, ...known } = await readOrderForKey(c, id);
  const { order, changed, effects } = await confirmOrderAndQueue(
    c.env,
    c.get("db"),
    tenant,
    id,
    "staff",
    new Date(),
    undefined,
    known,
  );
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug), changed }, 200);
});

const refundRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-retry",
  tags: ["admin: orders"],
  summary: "Retry a refund that failed",
  description:
    "Only for an order whose `paymentStatus` is `refund_failed`. The refund is looked up first, in D1 and then at Stripe, and made only if none exists, so the customer is refunded at most once; it completes in the background (the order goes to `refund_pending`, then `refunded`, or back to `refund_failed` with an alert).",
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(z.object({ order: OrderOut }), "The refund is under way."),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order's `paymentStatus` is not `refund_failed`, or it changed concurrently",
    }),
  },
});

staff.openapi(refundRetryRoute, async (c) => {
  const tenant = c.get("tenant");
  const { order, effects } = await retryRefund(c.env, tenant, c.req.valid("param").id, new Date());
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug) }, 202);
});

const refundSettledRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-settled",
  tags: ["admin: orders"],
  summary: "Record a refund made outside the platform",
  description:
    "For an order whose `paymentStatus` is `refund_failed`: the customer was refunded by other means (cash, the card terminal). The order becomes `refunded`, with the note and the key that recorded it among its refunds (`manual_<order id>`), and its `refund_failed` alert closes; nothing is asked of Stripe.",
  request: {
    params: OrderIdParams,
    body: jsonBody(
      z
        .object({
          note: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .describe(
              "How the customer was refunded (cash, card terminal, reference): 1–500 characters.",
            ),
        })
        .strict()
        .openapi("RefundSettled", { description: "What staff record about the refund." }),
    ),
  },
  responses: {
    200: jsonContent(z.object({ order: OrderOut }), "The order, refunded."),
    ...errorResponses("validation_failed", "malformed_json", NO_ORDER, {
      code: "conflict",
      when: "the order's `paymentStatus` is not `refund_failed`, or it changed concurrently",
    }),
  },
});

staff.openapi(refundSettledRoute, async (c) => {
  const tenant = c.get("tenant");
  const key = c.get("apiKey");
  const { order, effects } = await settleRefundByHand(
    c.env,
    tenant,
    c.req.valid("param").id,
    { keyId: key.id, label: key.label },
    c.req.valid("json").note,
    new Date(),
  );
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug) }, 200);
});

const posRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/pos-retry",
  tags: ["admin: pos"],
  summary: "Send a failed order to the POS again, with a fresh attempt budget (409 unless failed)",
  description:
    "Queues an order whose POS submission failed for another round of attempts (`posStatus` `queued`). Only a paid, open order with `posStatus: failed` can be retried.",
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(
      z.object({ order: OrderSchema.openapi({ description: "The order, queued again." }) }),
      "Queued again.",
    ),
    ...errorResponses(
      { code: "not_found", when: "no tenant has this slug, or it has no such order" },
      {
        code: "conflict",
        when: "its `posStatus` is not `failed` (`details.posStatus`), it is cancelled or not paid (`details.status`, `details.paymentStatus`), or it changed concurrently",
      },
    ),
  },
});

staff.openapi(posRetryRoute, async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const order = await findOrder(db, tenant.id, c.req.valid("param").id);
  if (!order) throw new ApiError("not_found", "unknown order");
  if (order.posStatus !== "failed") {
    throw new ApiError(
      "conflict",
      `only a failed submission can be retried; this one is ${order.posStatus}`,
      {
        posStatus: order.posStatus,
      },
    );
  }
  if (order.status === "cancelled" || order.paymentStatus !== "paid") {
    throw new ApiError(
      "conflict",
      `only a paid, open order can be sent to the POS; this one is ${order.status} and ${order.paymentStatus}`,
      { status: order.status, paymentStatus: order.paymentStatus },
    );
  }
  const requeued = await retryPosSubmission(db, tenant, order, new Date());
  if (!requeued)
    throw new ApiError("conflict", "the order changed concurrently; read it again and retry");
  deliverAfterResponse(c, requeued.effects);
  return c.json({ order: orderView(requeued.order, tenant.slug) }, 202);
});

const enteredInPosRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/entered-in-pos",
  tags: ["admin: orders"],
  summary: "Record that a manual-entry order was typed into the POS by hand (terminal role)",
  description:
    "While the POS is down, paid orders come to the terminals as manual-entry tickets (`posStatus` `manual`) instead of being sent to it. Once someone has typed the order into the POS, this records when and with which key (`posEnteredAt`), and terminals hear of it (`order_updated`). Such an order is never also sent automatically. Needs only the terminal role, as moving an order forward does; the socket's `entered_in_pos` command is its twin.",
  request: { params: OrderIdParams },
  responses: {
    200: jsonContent(z.object({ order: OrderOut }), "Recorded."),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order's `posStatus` is not `manual` (`details.posStatus`), or it was marked entered already (`details.posEnteredAt`)",
      message: "this order was already marked entered in the POS",
      details: { posEnteredAt: "2026-11-20T12:05:00.000Z" },
    }),
  },
});

// The cashier at a terminal enters the order: the terminal role, as for moving it forward.
const terminal = keyRouter("terminal");
terminal.openapi(enteredInPosRoute, async (c) => {
  const tenant = c.get("tenant");
  const key = c.get("apiKey");
  const { order, effects } = await markEnteredInPos(
    c.get("db"),
    tenant,
    c.req.valid("param").id,
    { keyId: key.id, source: key.role === "terminal" ? "terminal" : "staff" },
    new Date(),
  );
  deliverAfterResponse(c, effects);
  return c.json({ order: orderView(order, tenant.slug) }, 200);
});

export const orderRoutes = staff.route("/", staffPaying).route("/", terminal);
