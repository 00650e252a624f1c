/**
 * The order status state machine.
 *
 * Status only moves forward along
 * `pending_payment → confirmed → preparing → ready → (out_for_delivery →) completed`,
 * steps may be skipped, and `cancelled` is reachable from any non-final state.
 *
 * Callers are split in two kinds, because they deserve different answers
 * to the same impossible move:
 * - reports (`stripe`, `pos_webhook`) relay what a vendor saw. Vendors
 *   deliver at least once and out of order, so a report that would move the
 *   order backwards or sideways is stale news: it is ignored, never an error,
 *   otherwise a webhook would be retried forever against a 409.
 * - commands (`storefront`, `terminal`, `staff`, `system`) are someone asking
 *   us to change the order now; an illegal one is rejected so the person
 *   learns their view is out of date.
 */

/** Every order status, in forward order; `cancelled` sits outside the chain. */
export const ORDER_STATUSES = [
  "pending_payment",
  "confirmed",
  "preparing",
  "ready",
  "out_for_delivery",
  "completed",
  "cancelled",
] as const;
/** Where the order is in its life. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Every payment status; tracked separately from {@link OrderStatus}. */
export const PAYMENT_STATUSES = [
  "unpaid",
  "paid",
  "failed",
  "refund_pending",
  "refunded",
  "refund_failed",
] as const;
/** Where the money is. */
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** Every POS sync status; `not_required` when the tenant has no POS connected. */
export const POS_STATUSES = [
  "not_required",
  "manual",
  "queued",
  "retrying",
  "synced",
  "failed",
] as const;
/** Whether the order has reached the restaurant's POS. */
export type PosStatus = (typeof POS_STATUSES)[number];

/** How the customer receives the order. */
export const ORDER_TYPES = ["pickup", "delivery", "dine_in"] as const;
/** How the customer receives the order. */
export type OrderType = (typeof ORDER_TYPES)[number];

/** Who asked for a status change; recorded on every `order_status_history` row. */
export const STATUS_SOURCES = [
  "storefront",
  "stripe",
  "pos_webhook",
  "pos_poll",
  "terminal",
  "staff",
  "system",
] as const;
/** Who asked for a status change. */
export type StatusSource = (typeof STATUS_SOURCES)[number];

/**
 * What to do with a requested status change.
 * - `apply`: write the new status and a history row.
 * - `ignore`: a late or duplicate report; not an error, nothing changes.
 * - `reject`: an illegal command; the caller answers 409 with `reason`.
 */
export type TransitionDecision =
  | { outcome: "apply" }
  | { outcome: "ignore"; reason: string }
  | { outcome: "reject"; reason: string };

type FinalStatus = "completed" | "cancelled";
type ChainStatus = Exclude<OrderStatus, "cancelled">;

const RANK: Readonly<Record<ChainStatus, number>> = {
  pending_payment: 0,
  confirmed: 1,
  preparing: 2,
  ready: 3,
  out_for_delivery: 4,
  completed: 5,
};

const REPORT_SOURCES: ReadonlySet<StatusSource> = new Set<StatusSource>([
  "stripe",
  "pos_webhook",
  "pos_poll",
]);

// Only a payment confirmation may take an order out of pending_payment:
// Stripe's webhook, or the system reconciling a payment it already verified.
const PAYMENT_CONFIRMATION_SOURCES: ReadonlySet<StatusSource> = new Set<StatusSource>([
  "stripe",
  "system",
]);

/** True for statuses no transition leaves: `completed` and `cancelled`. */
export function isFinalStatus(s: OrderStatus): boolean {
  return isFinal(s);
}

function isFinal(s: OrderStatus): s is FinalStatus {
  return s === "completed" || s === "cancelled";
}

/** True when `source` relays a vendor's observation rather than asking for a change. */
function isReport(source: StatusSource): boolean {
  return REPORT_SOURCES.has(source);
}

/**
 * Decides whether moving an order from `from` to `to`, as asked by `source`,
 * is applied, ignored (stale or duplicate report) or rejected (illegal
 * command). Pure: the caller still has to write the change atomically and
 * re-check `from` against the stored row.
 */
export function decideTransition(input: {
  from: OrderStatus;
  to: OrderStatus;
  source: StatusSource;
  orderType: OrderType;
}): TransitionDecision {
  const { from, to, source, orderType } = input;
  const refuse = (reason: string): TransitionDecision =>
    isReport(source) ? { outcome: "ignore", reason } : { outcome: "reject", reason };

  if (to === from) return { outcome: "ignore", reason: "unchanged" };
  if (isFinal(from)) return refuse(`order is already ${from}`);
  if (to === "pending_payment") return refuse("an order cannot return to pending_payment");

  if (from === "pending_payment") {
    if (to === "cancelled") return { outcome: "apply" };
    if (to === "confirmed") {
      // Rejected even for pos_webhook: a POS claiming an unpaid order is
      // confirmed is wrong, not late, and should surface.
      return PAYMENT_CONFIRMATION_SOURCES.has(source)
        ? { outcome: "apply" }
        : { outcome: "reject", reason: "order is not paid" };
    }
    return refuse("order is not paid");
  }

  if (to === "cancelled") return { outcome: "apply" };

  if (to === "out_for_delivery" && orderType !== "delivery") {
    return refuse(`a ${orderType} order does not go out for delivery`);
  }

  // Both are chain statuses here: cancelled was handled above as `to` and
  // as a final `from`.
  if (RANK[to] < RANK[from]) {
    return isReport(source)
      ? { outcome: "ignore", reason: "stale report" }
      : { outcome: "reject", reason: `order cannot move back from ${from} to ${to}` };
  }

  return { outcome: "apply" };
}
