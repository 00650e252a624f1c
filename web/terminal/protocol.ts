import * as z from "zod/mini";
import { ORDER_STATUSES, ORDER_TYPES } from "../../src/domain/order-status";
import type { TerminalMessage } from "../../src/domain/terminal-protocol";

/**
 * The terminal screen's view of the socket protocol (`/ws/pos/:tenant`, see
 * DESIGN.md "Terminal protocol"). Outgoing frames are typed by the server's
 * own schema; incoming frames go through the schemas below, which describe
 * only the fields the screen uses and let the server add others freely.
 */

export type { TerminalMessage };
export { ORDER_STATUSES };

const MoneySchema = z.object({ amount: z.number(), currency: z.string() });

const OrderLineSchema = z.object({
  name: z.string(),
  quantity: z.number(),
  modifiers: z._default(z.array(z.object({ name: z.string() })), []),
  specialInstructions: z._default(z.nullish(z.string()), null),
});

const DeliveryAddressSchema = z.object({
  line1: z.string(),
  line2: z.nullish(z.string()),
  city: z.string(),
  postalCode: z.string(),
  instructions: z.nullish(z.string()),
});

export const OrderSchema = z.object({
  id: z.string(),
  number: z.number(),
  status: z.enum(ORDER_STATUSES),
  paymentStatus: z.string(),
  posStatus: z.string(),
  orderType: z.enum(ORDER_TYPES),
  customer: z.object({ name: z.string() }),
  items: z.array(OrderLineSchema),
  specialInstructions: z._default(z.nullish(z.string()), null),
  deliveryAddress: z._default(z.nullish(DeliveryAddressSchema), null),
  scheduledFor: z._default(z.nullish(z.string()), null),
  estimatedReadyAt: z._default(z.nullish(z.string()), null),
  posEnteredAt: z._default(z.nullish(z.string()), null),
  total: MoneySchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** An order as a ticket shows it. */
export type Order = z.infer<typeof OrderSchema>;
export type OrderStatus = Order["status"];

const seq = z.number().check(z.int(), z.nonnegative());
const envelope = { seq, tenant: z.string(), timestamp: z.string() };

const HelloSchema = z.object({
  type: z.literal("hello"),
  ...envelope,
  data: z.object({ terminalId: z.string(), seq }),
});

const AlertSchema = z.object({
  alertId: z.string(),
  level: z.string(),
  kind: z.string(),
  orderId: z._default(z.nullish(z.string()), null),
  message: z.string(),
  /** Set when staff acknowledged it somewhere: the banner comes down on every screen. */
  acknowledgedAt: z._default(z.nullish(z.string()), null),
});
export type Alert = z.infer<typeof AlertSchema>;

const GiftCardSchema = z.object({
  code: z.string(),
  balance: MoneySchema,
  purchasedBy: z._default(z.nullish(z.string()), null),
  recipientName: z._default(z.nullish(z.string()), null),
});

const LoyaltySchema = z.object({
  phone: z.string(),
  pointsChange: z.number(),
  balance: z.number(),
  transactionType: z.string(),
  reason: z._default(z.nullish(z.string()), null),
});

/** Every sequenced event, by type: the schema of its `data`. */
const EVENT_SCHEMAS = {
  new_order: z.object({ type: z.literal("new_order"), ...envelope, data: OrderSchema }),
  order_updated: z.object({
    type: z.literal("order_updated"),
    ...envelope,
    data: z.object({
      order: OrderSchema,
      previousStatus: z.nullable(z.enum(ORDER_STATUSES)),
      change: z.string(),
    }),
  }),
  gift_card_purchased: z.object({
    type: z.literal("gift_card_purchased"),
    ...envelope,
    data: GiftCardSchema,
  }),
  loyalty_updated: z.object({
    type: z.literal("loyalty_updated"),
    ...envelope,
    data: LoyaltySchema,
  }),
  alert: z.object({ type: z.literal("alert"), ...envelope, data: AlertSchema }),
};
type EventSchemas = typeof EVENT_SCHEMAS;
/** A sequenced event the screen understands. */
export type BoardEvent = {
  [K in keyof EventSchemas]: z.infer<EventSchemas[K]>;
}[keyof EventSchemas];

const SetStatusResultSchema = z.object({
  type: z.literal("set_status_result"),
  requestId: z.nullable(z.string()),
  ok: z.boolean(),
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
});

const ErrorSchema = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });
const PongSchema = z.object({ type: z.literal("pong") });
const SequencedSchema = z.object({ type: z.string(), seq, timestamp: z._default(z.string(), "") });

/** Ends each replay; `more` means the screen must resume again from `through`. */
const ReplayedSchema = z.object({
  type: z.literal("replayed"),
  data: z.object({ after: seq, through: seq, more: z.boolean() }),
});

/** A frame from the server, after validation. */
export type ServerFrame =
  | z.infer<typeof HelloSchema>
  | z.infer<typeof ReplayedSchema>
  | BoardEvent
  | z.infer<typeof SetStatusResultSchema>
  | z.infer<typeof ErrorSchema>
  | z.infer<typeof PongSchema>
  /** A sequenced event this screen cannot use: its seq still counts. */
  | { type: "unreadable_event"; seq: number; eventType: string; reason: string }
  /** Not a frame of this protocol at all. */
  | { type: "malformed"; reason: string };

function isEventType(type: string): type is keyof EventSchemas {
  return Object.hasOwn(EVENT_SCHEMAS, type);
}

/** Validates one text frame from the socket. Never throws. */
export function parseServerFrame(text: string): ServerFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { type: "malformed", reason: "frame is not valid JSON" };
  }
  const typed = z.object({ type: z.string() }).safeParse(json);
  if (!typed.success) return { type: "malformed", reason: "frame has no type" };
  const type = typed.data.type;

  const simple =
    type === "hello"
      ? HelloSchema
      : type === "set_status_result"
        ? SetStatusResultSchema
        : type === "error"
          ? ErrorSchema
          : type === "pong"
            ? PongSchema
            : type === "replayed"
              ? ReplayedSchema
              : undefined;
  if (simple) {
    const parsed = simple.safeParse(json);
    return parsed.success ? parsed.data : { type: "malformed", reason: `invalid ${type} frame` };
  }

  // Anything else carrying a seq is an event: even one the screen cannot read
  // must advance the seq, or the screen would ask for it again forever.
  const sequenced = SequencedSchema.safeParse(json);
  if (!sequenced.success) return { type: "malformed", reason: `unknown frame type ${type}` };
  if (!isEventType(type)) {
    return {
      type: "unreadable_event",
      seq: sequenced.data.seq,
      eventType: type,
      reason: "unknown",
    };
  }
  const parsed = EVENT_SCHEMAS[type].safeParse(json);
  if (!parsed.success) {
    return {
      type: "unreadable_event",
      seq: sequenced.data.seq,
      eventType: type,
      reason: z.prettifyError(parsed.error),
    };
  }
  return parsed.data;
}

/** Serialises a frame for the server. */
export function encodeMessage(message: TerminalMessage): string {
  return JSON.stringify(message);
}
