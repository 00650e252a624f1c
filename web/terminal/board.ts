import {
  connecting,
  type EventOrder,
  emptyOrder,
  endReplay,
  type Ordered,
  replayRefused,
  takeEvent,
} from "./event-order";
import type { Alert, Order, OrderStatus, ServerFrame } from "./protocol";

/**
 * The terminal's board: pure state and the reducer that folds server frames
 * into it. No DOM, no clock of its own (`now` is passed in), no socket: the
 * controller in `main.ts` turns the returned effects into sends and sounds.
 */

/** A status change this terminal asked for and has no answer to yet. */
export interface PendingChange {
  orderId: string;
  status: OrderStatus;
  sentAt: number;
}

/** A gift card or loyalty event, shown in the activity strip. */
export interface Activity {
  seq: number;
  at: string;
  text: string;
}

/** An alert as the banner shows it. */
export interface BoardAlert extends Alert {
  seq: number;
  at: string;
}

/** The board, and where it stands in the tenant's event log (`EventOrder`: the seq it resumes after). */
export interface BoardState extends EventOrder<SequencedFrame> {
  /** The newest seq the server had when this connection said hello. */
  serverSeq: number;
  /**
   * False until the first catch-up (the replay after the first hello) is
   * done: orders found while catching up are the board's starting point,
   * not news, so they neither chime nor flash.
   */
  synced: boolean;
  /** Server clock minus this device's clock, from the last hello. */
  clockOffsetMs: number;
  /** Every order seen, final ones included, so a stale event cannot bring one back. */
  orders: Record<string, Order>;
  /** Orders that arrived while the screen was live, with the local time they arrived. */
  fresh: Record<string, number>;
  /** Status changes sent and not answered yet, by request id. */
  pending: Record<string, PendingChange>;
  /** The last failed status change of an order, by order id. */
  ticketErrors: Record<string, string>;
  /** Open alerts, newest first. */
  alerts: BoardAlert[];
  /** Gift card and loyalty events, newest first. */
  activity: Activity[];
  /** The last protocol error the server reported. */
  notice: string | null;
}

/** What the controller should do after a frame was folded in. */
export type Effect =
  | { kind: "ack"; seq: number }
  | { kind: "resume"; after: number }
  | { kind: "chime"; orderId: string };

export interface Reduced {
  state: BoardState;
  effects: Effect[];
}

/** A board column: the tickets in one status. */
export interface Column {
  status: OrderStatus;
  title: string;
}

/** The board's columns, left to right. */
export const COLUMNS: readonly Column[] = [
  { status: "confirmed", title: "New" },
  { status: "preparing", title: "Preparing" },
  { status: "ready", title: "Ready" },
  { status: "out_for_delivery", title: "Out for delivery" },
];

const BOARD_STATUSES: ReadonlySet<OrderStatus> = new Set(COLUMNS.map((c) => c.status));
const ACTIVITY_LIMIT = 20;
const ALERT_LIMIT = 20;

/** How long a new ticket stays highlighted. */
export const FRESH_MS = 15_000;

// Only the chain's order matters here; the server's state machine decides what is legal.
const RANK: Readonly<Record<OrderStatus, number>> = {
  pending_payment: 0,
  confirmed: 1,
  preparing: 2,
  ready: 3,
  out_for_delivery: 4,
  completed: 5,
  cancelled: 6,
};

/** A board with nothing on it, before the first hello. */
export function emptyBoard(): BoardState {
  return {
    ...emptyOrder<SequencedFrame>(),
    serverSeq: 0,
    synced: false,
    clockOffsetMs: 0,
    orders: {},
    fresh: {},
    pending: {},
    ticketErrors: {},
    alerts: [],
    activity: [],
    notice: null,
  };
}

/** True when an order in this status is a ticket on the board. */
export function isOnBoard(status: OrderStatus): boolean {
  return BOARD_STATUSES.has(status);
}

/** The socket (re)connects with `?after=` the board's `lastSeq`: a replay is under way. */
export function reconnecting(state: BoardState): BoardState {
  return { ...state, ...connecting(state) };
}

/**
 * Folds one server frame into the board. Events are applied in seq order,
 * each once (`event-order.ts`): a duplicate changes nothing, one past a gap
 * waits while the board asks `resume` from its last contiguous seq.
 */
export function applyFrame(state: BoardState, frame: ServerFrame, now: number): Reduced {
  switch (frame.type) {
    case "hello":
      return applyHello(state, frame.seq, frame.timestamp, now);
    case "set_status_result": {
      const pending = frame.requestId ? state.pending[frame.requestId] : undefined;
      if (!frame.requestId || !pending) return { state, effects: [] };
      const { [frame.requestId]: _answered, ...rest } = state.pending;
      const ticketErrors = withoutKey(state.ticketErrors, pending.orderId);
      if (!frame.ok) {
        ticketErrors[pending.orderId] = frame.error?.message ?? "the status could not be changed";
      }
      return { state: { ...state, pending: rest, ticketErrors }, effects: [] };
    }
    case "replayed":
      return applyOrdered(state, endReplay(state, frame.data), now);
    case "error":
      // It may answer a resume (rate_limited, internal): the next gap asks again.
      return {
        state: { ...state, ...replayRefused(state), notice: `${frame.message} (${frame.code})` },
        effects: [],
      };
    case "pong":
    case "malformed":
      return { state, effects: [] };
    default:
      return applyOrdered(state, takeEvent(state, frame), now);
  }
}

function applyHello(state: BoardState, serverSeq: number, timestamp: string, now: number): Reduced {
  const serverTime = Date.parse(timestamp);
  const clockOffsetMs = Number.isFinite(serverTime) ? serverTime - now : state.clockOffsetMs;
  if (serverSeq < state.lastSeq) {
    // The server's log is behind what this screen saw: it was reset, so its
    // seqs start again. Everything it still holds is news to this screen.
    return {
      state: { ...state, lastSeq: 0, early: [], replayAfter: 0, serverSeq, clockOffsetMs },
      effects: [{ kind: "resume", after: 0 }],
    };
  }
  const synced = state.synced || state.lastSeq >= serverSeq;
  return { state: { ...state, serverSeq, synced, clockOffsetMs }, effects: [] };
}

type SequencedFrame = Exclude<
  ServerFrame,
  { type: "hello" | "replayed" | "set_status_result" | "error" | "pong" | "malformed" }
>;

/** Applies the events the order released, one seq at a time, then asks for what is missing. */
function applyOrdered(
  state: BoardState,
  { order, ready, resume }: Ordered<SequencedFrame>,
  now: number,
): Reduced {
  const moved =
    order.lastSeq !== state.lastSeq ||
    order.early !== state.early ||
    order.replayAfter !== state.replayAfter;
  if (!moved && resume === null) return { state, effects: [] };
  let next = state;
  const effects: Effect[] = [];
  for (const event of ready) {
    const applied = applyEvent({ ...next, lastSeq: event.seq }, event, now);
    next = applied.state;
    effects.push(...applied.effects);
  }
  next = { ...next, ...order };
  if (!next.synced && next.lastSeq >= next.serverSeq) next = { ...next, synced: true };
  if (resume !== null) effects.push({ kind: "resume", after: resume });
  return { state: next, effects };
}

/** Folds one event in; `state.lastSeq` is already its seq. */
function applyEvent(state: BoardState, event: SequencedFrame, now: number): Reduced {
  const effects: Effect[] = [{ kind: "ack", seq: event.seq }];
  let next: BoardState = state;

  switch (event.type) {
    case "new_order":
    case "order_updated": {
      const order = event.type === "new_order" ? event.data : event.data.order;
      const upserted = upsertOrder(next, order, now);
      next = upserted.state;
      if (upserted.arrived) effects.push({ kind: "chime", orderId: order.id });
      break;
    }
    case "alert": {
      const alert: BoardAlert = { ...event.data, seq: event.seq, at: event.timestamp };
      // An alert is raised again until acknowledged: the newest copy replaces the old, and
      // the acknowledged copy takes it down.
      const others = next.alerts.filter((a) => a.alertId !== alert.alertId);
      next = {
        ...next,
        alerts: alert.acknowledgedAt ? others : [alert, ...others].slice(0, ALERT_LIMIT),
      };
      break;
    }
    case "gift_card_purchased": {
      const card = event.data;
      const by = card.purchasedBy ? ` by ${card.purchasedBy}` : "";
      const text = `Gift card ${card.code} sold${by}: ${formatMoney(card.balance)}`;
      next = withActivity(next, { seq: event.seq, at: event.timestamp, text });
      break;
    }
    case "loyalty_updated": {
      const l = event.data;
      const change = l.pointsChange >= 0 ? `+${l.pointsChange}` : String(l.pointsChange);
      const text = `Loyalty ${l.phone}: ${change} points (balance ${l.balance})`;
      next = withActivity(next, { seq: event.seq, at: event.timestamp, text });
      break;
    }
    case "unreadable_event":
      break;
  }

  if (!next.synced && next.lastSeq >= next.serverSeq) next = { ...next, synced: true };
  return { state: next, effects };
}

/**
 * Keeps the newest snapshot of an order. A re-published outbox row can carry
 * an older snapshot under a newer seq, so the order's own `updatedAt` (then
 * its status, which only moves forward) decides, not the arrival order.
 */
function upsertOrder(
  state: BoardState,
  order: Order,
  now: number,
): { state: BoardState; arrived: boolean } {
  const known = state.orders[order.id];
  if (known && !isNewer(order, known)) return { state, arrived: false };

  const wasOnBoard = known !== undefined && isOnBoard(known.status);
  const arrived = state.synced && !wasOnBoard && order.status === "confirmed";
  const orders = { ...state.orders, [order.id]: order };
  let fresh = state.fresh;
  if (arrived) fresh = { ...fresh, [order.id]: now };
  else if (order.status !== "confirmed" && order.id in fresh) fresh = withoutKey(fresh, order.id);

  // A failed change is old news once the order has moved on (or left the board).
  let ticketErrors = state.ticketErrors;
  const moved = known !== undefined && known.status !== order.status;
  if ((moved || !isOnBoard(order.status)) && order.id in ticketErrors) {
    ticketErrors = withoutKey(ticketErrors, order.id);
  }
  return { state: { ...state, orders, fresh, ticketErrors }, arrived };
}

function isNewer(incoming: Order, known: Order): boolean {
  const a = Date.parse(incoming.updatedAt);
  const b = Date.parse(known.updatedAt);
  if (Number.isFinite(a) && Number.isFinite(b) && a !== b) return a > b;
  return RANK[incoming.status] >= RANK[known.status];
}

function withActivity(state: BoardState, item: Activity): BoardState {
  return { ...state, activity: [item, ...state.activity].slice(0, ACTIVITY_LIMIT) };
}

/** Records a status change the terminal is about to send. */
export function requestStatus(
  state: BoardState,
  change: PendingChange & { requestId: string },
): BoardState {
  const { requestId, ...pending } = change;
  return {
    ...state,
    pending: { ...state.pending, [requestId]: pending },
    ticketErrors: withoutKey(state.ticketErrors, change.orderId),
  };
}

/**
 * Gives up on pending changes: those sent before `sentBefore` (no answer in
 * time), or all of them when the connection dropped. Their tickets show
 * `message`; the events that follow a reconnect show what really happened.
 */
export function failPending(
  state: BoardState,
  message: string,
  sentBefore = Number.POSITIVE_INFINITY,
): BoardState {
  const failed = Object.entries(state.pending).filter(([, p]) => p.sentAt < sentBefore);
  if (failed.length === 0) return state;
  const pending = { ...state.pending };
  const ticketErrors = { ...state.ticketErrors };
  for (const [requestId, change] of failed) {
    delete pending[requestId];
    ticketErrors[change.orderId] = message;
  }
  return { ...state, pending, ticketErrors };
}

/** Hides an alert on this screen. */
export function dismissAlert(state: BoardState, alertId: string): BoardState {
  return { ...state, alerts: state.alerts.filter((a) => a.alertId !== alertId) };
}

/** Clears the server's last protocol error from the screen. */
export function dismissNotice(state: BoardState): BoardState {
  return state.notice === null ? state : { ...state, notice: null };
}

/** The tickets of one column, oldest first (the kitchen works first in, first out). */
export function ticketsIn(state: BoardState, status: OrderStatus): Order[] {
  return Object.values(state.orders)
    .filter((o) => o.status === status)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.number - b.number);
}

/** True while a status change of this order waits for its answer. */
export function isPending(state: BoardState, orderId: string): boolean {
  return Object.values(state.pending).some((p) => p.orderId === orderId);
}

/** True while a ticket should still be highlighted as new. */
export function isFresh(state: BoardState, orderId: string, now: number): boolean {
  const at = state.fresh[orderId];
  return at !== undefined && now - at < FRESH_MS;
}

/** The one button a ticket offers: its next status and the button's label. */
export function nextStep(order: Order): { status: OrderStatus; label: string } | null {
  switch (order.status) {
    case "confirmed":
      return { status: "preparing", label: "Start" };
    case "preparing":
      return { status: "ready", label: "Ready" };
    case "ready":
      return order.orderType === "delivery"
        ? { status: "out_for_delivery", label: "Out for delivery" }
        : { status: "completed", label: "Complete" };
    case "out_for_delivery":
      return { status: "completed", label: "Delivered" };
    default:
      return null;
  }
}

/** Milliseconds since the order was placed, by the server's clock. */
export function orderAgeMs(state: BoardState, order: Order, now: number): number {
  const created = Date.parse(order.createdAt);
  if (!Number.isFinite(created)) return 0;
  return Math.max(0, now + state.clockOffsetMs - created);
}

/** "<1 min", "3 min", "1 h 05 min". */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "<1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** How worried the kitchen should be about a ticket's age. */
export function ageLevel(ms: number): "ok" | "warn" | "late" {
  if (ms >= 20 * 60_000) return "late";
  if (ms >= 10 * 60_000) return "warn";
  return "ok";
}

/** Formats integer minor units in their currency ("$12.50"). */
export function formatMoney(money: { amount: number; currency: string }, locale?: string): string {
  try {
    const format = new Intl.NumberFormat(locale, { style: "currency", currency: money.currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(money.amount / 10 ** digits);
  } catch {
    return `${money.amount} ${money.currency}`;
  }
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}
