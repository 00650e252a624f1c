// @ts-check
// A receiver for the generic webhook POS (src/adapters/pos/webhook.ts):
// accepts Orderlane's signed order POSTs at /webhook/orders, the way a
// restaurant's integrator would.
//
//   POST /orders   headers X-Orderlane-Timestamp, X-Orderlane-Signature
//                  (sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>),
//                  Idempotency-Key (our order id), X-Orderlane-Delivery
//                  → 201 { posOrderId }, or 200 { posOrderId, alreadyExisted: true } for a known key
//
// State (`double.state("webhook")`), all optional:
//   secret: string        the signing secret (default "whsec_double")
//   answerShape: "posOrderId" | "id" | "none" | "empty"
//                         how a success is answered: `{ posOrderId }` (default),
//                         `{ id }`, a 2xx without an id, or a 2xx without a body
// Faults apply as in server.mjs; `unauthorized_once` answers 401 once (a
// signing secret has nothing to refresh).
import { createHmac, timingSafeEqual } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */

const DEFAULT_SECRET = "whsec_double";
const TOLERANCE_SECONDS = 300;

/** `sha256=<hex>` for `body` signed at `timestamp` (unix seconds). */
function signature(
  /** @type {string} */ body,
  /** @type {string} */ secret,
  /** @type {number | string} */ timestamp,
) {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * The signature headers for `body`, as Orderlane sends them (and as a
 * receiver sends status webhooks back).
 * @param {string} body the raw JSON body
 * @param {string} secret the shared signing secret
 * @param {number} [timestamp] unix seconds; now by default
 */
export function signWebhook(body, secret, timestamp = Math.floor(Date.now() / 1000)) {
  return {
    "x-orderlane-timestamp": String(timestamp),
    "x-orderlane-signature": signature(body, secret, timestamp),
  };
}

/** Whether the request carries a valid, fresh signature. */
function verified(
  /** @type {Record<string, string>} */ headers,
  /** @type {string} */ body,
  /** @type {string} */ secret,
) {
  const timestamp = headers["x-orderlane-timestamp"] ?? "";
  const given = headers["x-orderlane-signature"] ?? "";
  if (!/^\d+$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(signature(body, secret, timestamp));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** @type {VendorModule} */
const webhookReceiver = {
  name: "webhook",
  async handle(req, ctx) {
    if (req.path !== "/orders") return null;
    if (req.method !== "POST") return ctx.reply(405, { error: "method not allowed" });
    const fault = ctx.takeFault();
    const common = await applyCommonFault(fault);
    if (common) return common;
    if (fault?.kind === "unauthorized_once")
      return ctx.reply(401, { error: "unauthorized (injected)" });

    const secret = typeof ctx.state.secret === "string" ? ctx.state.secret : DEFAULT_SECRET;
    if (!verified(req.headers, req.body, secret))
      return ctx.reply(401, { error: "invalid signature" });
    const key = req.headers["idempotency-key"];
    if (!key) return ctx.reply(400, { error: "Idempotency-Key is required" });
    const order = req.json;
    if (order === null || typeof order !== "object" || typeof order.orderId !== "string") {
      return ctx.reply(400, { error: "the body must be an order with an orderId" });
    }

    let keys = ctx.state.keys;
    if (!(keys instanceof Map)) {
      keys = new Map();
      ctx.state.keys = keys;
    }
    const byKey = /** @type {Map<string, string>} */ (keys);
    const known = byKey.get(key);
    let posOrderId = known;
    if (!posOrderId) {
      posOrderId = `wh_${byKey.size + 1}`;
      byKey.set(key, posOrderId);
      ctx.orders.set(posOrderId, {
        posOrderId,
        idempotencyKey: key,
        deliveryId: req.headers["x-orderlane-delivery"],
        order,
        receivedAt: new Date().toISOString(),
      });
    }
    if (fault?.kind === "accept_then_fail") {
      return ctx.reply(fault.status ?? 500, {
        error: "accepted, then the answer was lost (injected)",
      });
    }
    const status = known ? 200 : 201;
    switch (ctx.state.answerShape) {
      case "id":
        return ctx.reply(status, { id: posOrderId });
      case "none":
        return ctx.reply(status, { received: true });
      case "empty":
        return ctx.reply(status, undefined);
      default:
        return ctx.reply(status, { posOrderId, ...(known ? { alreadyExisted: true } : {}) });
    }
  },
};
export default {
  ...webhookReceiver,
  signWebhook: (/** @type {string} */ body, /** @type {string} */ secret) =>
    signWebhook(body, secret),
};
