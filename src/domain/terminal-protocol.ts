import { z } from "zod";
import { clipMessage, quoteInput } from "./input-text";
import { ORDER_STATUSES } from "./order-status";
import type { KeyRole } from "./roles";

/**
 * The terminal socket protocol (`/ws/pos/:tenant`), both directions. Every
 * incoming frame goes through `parseTerminalMessage`; nothing is cast.
 *
 * Ordering (CONTRACT.md "Terminal socket"): on one socket the hub sends
 * events in seq order. A replay (`?after=` on connect, or `resume`) comes
 * before any live event; live events wait until its last page. A client
 * applies events in seq order, drops one at or below its last contiguous seq,
 * and on a gap holds the early ones and sends `resume` from that seq.
 */

/** Event types a terminal receives with a sequence number. */
export const EVENT_TYPES = [
  "new_order",
  "order_updated",
  "gift_card_purchased",
  "loyalty_updated",
  "alert",
  "menu_updated",
  "intake_updated",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * An event as the tenant's log holds it and terminals receive it. `seq` is
 * the tenant's, one higher for each event; delivery is at least once, so a
 * client ignores a seq it has applied.
 */
export interface SequencedEvent {
  type: EventType;
  seq: number;
  tenant: string;
  timestamp: string;
  data: unknown;
}

export type ServerMessage =
  | SequencedEvent
  | {
      /** First on every socket; `seq` is the newest event's, `lastAck` this terminal's last `ack`. */
      type: "hello";
      seq: number;
      tenant: string;
      timestamp: string;
      data: { terminalId: string; seq: number; lastAck: number };
    }
  | {
      type: "set_status_result";
      requestId: string | null;
      ok: boolean;
      error?: { code: string; message: string };
    }
  | {
      type: "entered_in_pos_result";
      requestId: string | null;
      orderId: string;
      ok: boolean;
      error?: { code: string; message: string };
    }
  | {
      type: "ack_alert_result";
      alertId: string;
      ok: boolean;
      error?: { code: string; message: string };
    }
  | {
      /**
       * Ends every replay page. The page held every event still in the log in
       * `(after, through]`, in order: a seq there that did not come was pruned
       * and will not. With `more`, the socket gets no live events until the
       * client sends `resume` from `through`; without, live events follow on
       * from `through + 1`.
       */
      type: "replayed";
      data: { after: number; through: number; more: boolean };
    }
  | { type: "error"; code: string; message: string; details?: unknown }
  | { type: "pong" };

/** Frames larger than this are refused unread (UTF-8 bytes of a text frame). */
export const MAX_FRAME_BYTES = 16 * 1024;
/** One replay page (`?after=` or `resume`) sends at most this many events; the client pages on. */
export const REPLAY_PAGE_SIZE = 500;

/** Close code for a socket whose key was revoked, or whose tenant was deleted (contract). */
export const CLOSE_REVOKED = 4401;

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const TerminalMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ack"), seq }).strict(),
  /**
   * Replays from `after` (which may be below what this socket was sent: the
   * client asked); live events wait until the replay reaches the end of the log.
   */
  z.object({ type: z.literal("resume"), after: seq }).strict(),
  z
    .object({
      type: z.literal("set_status"),
      orderId: z.string().min(1).max(64),
      status: z.enum(ORDER_STATUSES),
      requestId: z.string().min(1).max(100).optional(),
    })
    .strict(),
  z.object({ type: z.literal("ack_alert"), alertId: z.string().min(1).max(64) }).strict(),
  z
    .object({
      type: z.literal("entered_in_pos"),
      orderId: z.string().min(1).max(64),
      requestId: z.string().min(1).max(100).optional(),
    })
    .strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);
export type TerminalMessage = z.infer<typeof TerminalMessageSchema>;

/** The exact frames the runtime answers without waking the object. */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

export type ParseResult =
  | { ok: true; message: TerminalMessage }
  | { ok: false; error: { type: "error"; code: string; message: string; details?: unknown } };

/**
 * The role a command needs: that of its HTTP twin. Moving an order forward,
 * acknowledging alerts and recording a manual ticket entered in the POS
 * (`POST …/orders/:id/entered-in-pos`) are a terminal's work; cancelling refunds a paid
 * order, so it needs staff, as `POST /v1/admin/:tenant/orders/:id/cancel`.
 */
export function commandRole(message: TerminalMessage): KeyRole {
  return message.type === "set_status" && message.status === "cancelled" ? "staff" : "terminal";
}

/**
 * Parses one incoming frame; a bad one becomes the `error` message to answer
 * with, which never quotes more than 100 characters of the frame.
 */
export function parseTerminalMessage(frame: string | ArrayBuffer): ParseResult {
  if (typeof frame !== "string") {
    return {
      ok: false,
      error: { type: "error", code: "malformed_message", message: "frames must be JSON text" },
    };
  }
  // A UTF-8 character is at most 3 bytes per UTF-16 unit; only a long frame is measured.
  if (
    frame.length * 3 > MAX_FRAME_BYTES &&
    new TextEncoder().encode(frame).byteLength > MAX_FRAME_BYTES
  ) {
    return {
      ok: false,
      error: {
        type: "error",
        code: "frame_too_large",
        message: `frames are at most ${MAX_FRAME_BYTES} bytes`,
      },
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return {
      ok: false,
      error: { type: "error", code: "malformed_message", message: "frame is not valid JSON" },
    };
  }
  const parsed = TerminalMessageSchema.safeParse(json);
  if (!parsed.success) {
    const type =
      typeof json === "object" && json !== null && "type" in json
        ? (json as { type: unknown }).type
        : undefined;
    const known = TerminalMessageSchema.options.some((o) => o.shape.type.value === type);
    return {
      ok: false,
      error: {
        type: "error",
        code: known ? "invalid_message" : "unknown_message_type",
        message: known
          ? `invalid ${String(type)} message`
          : `unknown message type ${quoteInput(type ?? null)}`,
        details: parsed.error.issues.slice(0, 10).map((i) => ({
          path: clipMessage(i.path.join(".")),
          message: clipMessage(i.message),
        })),
      },
    };
  }
  return { ok: true, message: parsed.data };
}
