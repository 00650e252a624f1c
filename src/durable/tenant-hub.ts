import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import { findLiveApiKey } from "../db/api-keys";
import { getDb } from "../db/client";
import { findOrderForKey } from "../db/order-context";
import type { AccessRevoked, OutboxRecord } from "../db/outbox";
import { findTenantById, type Tenant } from "../db/tenants";
import { deliver } from "../delivery";
import { isKeyRole, type KeyRole, roleCovers } from "../domain/roles";
import {
  CLOSE_REVOKED,
  commandRole,
  EVENT_TYPES,
  type EventType,
  PING_FRAME,
  PONG_FRAME,
  parseTerminalMessage,
  REPLAY_PAGE_SIZE,
  type SequencedEvent,
  type ServerMessage,
  type TerminalMessage,
} from "../domain/terminal-protocol";
import { ApiError } from "../http/errors";
import { acknowledgeStaffAlert } from "../services/alerts";
import { cancelOrder } from "../services/cancellation";
import type { Effects } from "../services/effects";
import { changeOrderStatus } from "../services/orders";
import { markEnteredInPos } from "../services/pos-outage";

/** Headers the Worker sets on the upgrade it forwards, after authenticating it. */
export const HUB_HEADERS = {
  tenantId: "x-orderlane-tenant-id",
  tenantSlug: "x-orderlane-tenant-slug",
  terminalId: "x-orderlane-terminal-id",
  keyId: "x-orderlane-key-id",
  keyRole: "x-orderlane-key-role",
} as const;

/** Close code for a socket refused because the tenant has its maximum of terminals. */
export const CLOSE_TOO_MANY_TERMINALS = 4429;

/** Events are kept for at least this long… */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
/** …and at least this many of the newest, whichever keeps more. */
export const RETENTION_EVENTS = 10_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const REFUSED_TAG = "refused";
/** A socket may ask for this many replays (`resume`) per window; paging 10 000 events takes 20. */
export const RESUME_LIMIT = { count: 20, windowMs: 10_000 } as const;

/** What a socket carries across hibernation. */
interface Attachment {
  terminalId: string;
  keyId: string;
  role: KeyRole;
  connectedAt: string;
  /** The highest event seq sent on this socket: a live event at or below it is not sent. */
  sent: number;
  /**
   * A replay is under way (a `resume` arrived, or a page ended with `more`): live
   * events are not sent, since the replay reads them from the log in order. Kept
   * here, not in memory, because the object may hibernate between two pages.
   */
  replaying: boolean;
}

/**
 * One per tenant (`idFromName(tenantId)`): the tenant's terminal sockets
 * (Hibernation API) and a sequenced event log in the object's SQLite, so a
 * terminal that was away can resume by sequence number. Events come in by
 * RPC (`publish`) from the Worker's outbox delivery; each outbox id gets one
 * sequence number however often it is published.
 */
export class TenantHub extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** What this instance last wrote to `meta`, so repeated values are not written again. */
  readonly #meta = new Map<string, string>();
  /** Replays asked for per socket in the current window (reset by hibernation, which needs idleness). */
  readonly #resumes = new WeakMap<WebSocket, { since: number; count: number }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.#sql.exec(`
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY,
          outbox_id TEXT NOT NULL UNIQUE,
          type TEXT NOT NULL,
          tenant TEXT NOT NULL,
          timestamp TEXT NOT NULL,
          data TEXT NOT NULL,
          stored_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_stored_at ON events (stored_at);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS terminals (
          terminal_id TEXT PRIMARY KEY,
          last_ack INTEGER NOT NULL DEFAULT 0,
          last_seen TEXT NOT NULL
        );
      `);
    });
    // Answered by the runtime without waking a hibernating object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  /**
   * Stores each event under the next sequence number unless its outbox id is
   * already in the log, then sends the new ones to every connected terminal,
   * in order. Returns the outbox ids now safely in the log (all of them).
   */
  async publish(events: OutboxRecord[], tenantSlug: string): Promise<{ stored: string[] }> {
    for (const event of events) {
      if (event.type === "access_revoked") this.#closeRevoked(event.payload as AccessRevoked);
    }
    const fresh = this.#append(events, tenantSlug);
    for (const event of fresh) this.#broadcast(event);
    if (fresh.length > 0 && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS);
    }
    return { stored: events.map((e) => e.id) };
  }

  /** The newest sequence number and the number of connected terminals. */
  async status(): Promise<{ seq: number; terminals: number; events: number }> {
    const row = this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one();
    return { seq: this.#lastSeq(), terminals: this.#terminalCount(), events: row.n };
  }

  /** Accepts a terminal's socket; the Worker has authenticated it already. */
  override async fetch(request: Request): Promise<Response> {
    const tenantId = request.headers.get(HUB_HEADERS.tenantId);
    const terminalId = request.headers.get(HUB_HEADERS.terminalId);
    const keyId = request.headers.get(HUB_HEADERS.keyId);
    const role = request.headers.get(HUB_HEADERS.keyRole);
    const tenantSlug = request.headers.get(HUB_HEADERS.tenantSlug);
    if (
      request.headers.get("upgrade")?.toLowerCase() !== "websocket" ||
      !tenantId ||
      !tenantSlug ||
      !terminalId ||
      !keyId ||
      !isKeyRole(role)
    ) {
      return new Response("expected an authenticated websocket upgrade", { status: 400 });
    }
    this.#remember("tenant_id", tenantId);
    this.#remember("tenant_slug", tenantSlug);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const limit = readConfig(this.env).maxTerminalsPerTenant;
    if (this.#terminalCount() >= limit) {
      // Accepted only to say why: a refused upgrade would carry no reason.
      this.ctx.acceptWebSocket(server, [REFUSED_TAG]);
      server.close(CLOSE_TOO_MANY_TERMINALS, `too many terminals for this tenant (limit ${limit})`);
      return new Response(null, { status: 101, webSocket: client });
    }
    this.ctx.acceptWebSocket(server, [terminalId]);
    const seq = this.#lastSeq();
    const attachment: Attachment = {
      terminalId,
      keyId,
      role,
      connectedAt: new Date().toISOString(),
      sent: seq,
      replaying: false,
    };
    server.serializeAttachment(attachment);
    this.#sql.exec(
      `INSERT INTO terminals (terminal_id, last_seen) VALUES (?, ?)
       ON CONFLICT (terminal_id) DO UPDATE SET last_seen = excluded.last_seen`,
      terminalId,
      attachment.connectedAt,
    );
    this.#send(server, {
      type: "hello",
      seq,
      tenant: this.#slug(),
      timestamp: attachment.connectedAt,
      data: { terminalId, seq, lastAck: this.#lastAck(terminalId) },
    });
    // Nothing here awaits, so nothing is published between hello and this
    // replay: it goes out before any live event.
    const after = new URL(request.url).searchParams.get("after");
    if (after !== null && /^\d{1,15}$/.test(after)) this.#replay(server, Number(after));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const parsed = parseTerminalMessage(frame);
    if (!parsed.ok) {
      this.#send(ws, parsed.error);
      return;
    }
    const message = parsed.message;
    const attachment = ws.deserializeAttachment() as Attachment | null;
    // A socket refused for the terminal limit carries nothing and may say nothing.
    if (!attachment) return;
    // The same role rule as the command's HTTP twin (commandRole).
    const needed = commandRole(message);
    if (!roleCovers(attachment.role, needed)) {
      this.#refuse(ws, message, {
        code: "forbidden",
        message: `this command needs a ${needed} key`,
      });
      return;
    }
    if (message.type === "resume") {
      await this.#resume(ws, message);
      return;
    }
    // Commands that change or reveal anything check the key in D1 first, so a
    // revoked key is refused from the moment it is revoked, before its socket is closed.
    // (set_status reads the key together with its order: #setStatus.)
    if (
      (message.type === "ack_alert" || message.type === "entered_in_pos") &&
      !(await this.#keyIsLive(ws))
    ) {
      this.#refuseRevoked(ws, message);
      return;
    }
    await this.#handle(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.#touch(ws);
    // Complete the closing handshake; 1005/1006 cannot be sent back.
    if (code !== 1005 && code !== 1006) ws.close(code, "closing");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#touch(ws);
  }

  /** Drops events past both retention limits, and comes back while any remain. */
  override async alarm(): Promise<void> {
    const cutoff = Date.now() - RETENTION_MS;
    this.#sql.exec(
      "DELETE FROM events WHERE stored_at < ? AND seq <= ?",
      cutoff,
      this.#lastSeq() - RETENTION_EVENTS,
    );
    const left = this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS);
  }

  /**
   * Replays the log after `message.after`, once the key is known to be live.
   * Live events are held from the moment the frame arrives: a publish during
   * the key check would otherwise overtake the replay. They are in the log,
   * so the replay (or its last page) sends them in order.
   */
  async #resume(
    ws: WebSocket,
    message: Extract<TerminalMessage, { type: "resume" }>,
  ): Promise<void> {
    const wait = this.#resumeWait(ws);
    if (wait > 0) {
      this.#send(ws, {
        type: "error",
        code: "rate_limited",
        message: `at most ${RESUME_LIMIT.count} resumes per ${RESUME_LIMIT.windowMs / 1000} s; try again later`,
        details: { retryAfterMs: wait },
      });
      return;
    }
    const before = this.#attachment(ws);
    ws.serializeAttachment({ ...before, replaying: true });
    let live: boolean;
    try {
      live = await this.#keyIsLive(ws);
    } catch (err) {
      // No replay follows: live events flow again (a client sees the gap and resumes).
      ws.serializeAttachment({ ...this.#attachment(ws), replaying: before.replaying });
      console.error(JSON.stringify({ level: "error", msg: "resume failed", error: String(err) }));
      this.#send(ws, {
        type: "error",
        code: "internal",
        message: "the replay failed; resume again",
      });
      return;
    }
    if (!live) {
      this.#refuseRevoked(ws, message);
      return;
    }
    this.#replay(ws, message.after);
  }

  async #handle(
    ws: WebSocket,
    message: Exclude<TerminalMessage, { type: "resume" }>,
  ): Promise<void> {
    switch (message.type) {
      case "ping":
        this.#send(ws, { type: "pong" });
        return;
      case "ack": {
        const { terminalId } = this.#attachment(ws);
        this.#sql.exec(
          "UPDATE terminals SET last_ack = max(last_ack, ?), last_seen = ? WHERE terminal_id = ?",
          Math.min(message.seq, this.#lastSeq()),
          new Date().toISOString(),
          terminalId,
        );
        return;
      }
      case "set_status":
        await this.#setStatus(ws, message);
        return;
      case "ack_alert":
        await this.#ackAlert(ws, message.alertId);
        return;
      case "entered_in_pos":
        await this.#enteredInPos(ws, message);
        return;
    }
  }

  /** A manual ticket typed into the POS: the same flow as `POST …/orders/:id/entered-in-pos`. */
  async #enteredInPos(
    ws: WebSocket,
    message: Extract<TerminalMessage, { type: "entered_in_pos" }>,
  ): Promise<void> {
    const answer = {
      type: "entered_in_pos_result" as const,
      requestId: message.requestId ?? null,
      orderId: message.orderId,
    };
    try {
      const tenant = await this.#loadTenant();
      const { keyId, role } = this.#attachment(ws);
      const { effects } = await markEnteredInPos(
        getDb(this.env),
        tenant,
        message.orderId,
        { keyId, source: role === "terminal" ? "terminal" : "staff" },
        new Date(),
      );
      await this.#deliver(effects, () => this.#send(ws, { ...answer, ok: true }));
    } catch (err) {
      const error =
        err instanceof ApiError
          ? { code: err.code, message: err.message }
          : { code: "internal", message: "the order could not be marked entered; try again" };
      this.#send(ws, { ...answer, ok: false, error });
    }
  }

  async #setStatus(
    ws: WebSocket,
    message: Extract<TerminalMessage, { type: "set_status" }>,
  ): Promise<void> {
    const requestId = message.requestId ?? null;
    try {
      const db = getDb(this.env);
      const now = new Date();
      let effects: Effects;
      if (message.status === "cancelled") {
        if (!(await this.#keyIsLive(ws))) return this.#refuseRevoked(ws, message);
        const tenant = await this.#loadTenant();
        // Cancelling is one path wherever it is asked for: a paid order is refunded.
        ({ effects } = await cancelOrder(this.env, tenant, message.orderId, "terminal", now));
      } else {
        // The tenant as it is now, the socket's key and the order in one round trip;
        // the change in one more.
        const { tenant, keyLive, order } = await findOrderForKey(
          db,
          this.#tenantId(),
          this.#attachment(ws).keyId,
          message.orderId,
        );
        if (!tenant) throw new ApiError("not_found", "unknown tenant");
        if (!keyLive) return this.#refuseRevoked(ws, message);
        ({ effects } = await changeOrderStatus(
          db,
          tenant,
          message.orderId,
          message.status,
          "terminal",
          now,
          undefined,
          order,
        ));
      }
      // Committed with its outbox row: the answer goes out once the event is in the log.
      await this.#deliver(effects, () =>
        this.#send(ws, { type: "set_status_result", requestId, ok: true }),
      );
    } catch (err) {
      const error =
        err instanceof ApiError
          ? { code: err.code, message: err.message }
          : { code: "internal", message: "the status could not be changed; try again" };
      if (!(err instanceof ApiError)) {
        console.error(
          JSON.stringify({ level: "error", msg: "set_status failed", error: String(err) }),
        );
      }
      this.#send(ws, { type: "set_status_result", requestId, ok: false, error });
    }
  }

  async #ackAlert(ws: WebSocket, alertId: string): Promise<void> {
    try {
      const tenant = await this.#loadTenant();
      const { terminalId } = this.#attachment(ws);
      const { effects } = await acknowledgeStaffAlert(
        getDb(this.env),
        tenant,
        alertId,
        `terminal:${terminalId}`,
        new Date(),
      );
      this.#send(ws, { type: "ack_alert_result", alertId, ok: true });
      // Committed with its outbox row: every terminal takes the alert down.
      await this.#deliver(effects);
    } catch (err) {
      const error =
        err instanceof ApiError
          ? { code: err.code, message: err.message }
          : { code: "internal", message: "the alert could not be acknowledged; try again" };
      this.#send(ws, { type: "ack_alert_result", alertId, ok: false, error });
    }
  }

  #append(events: OutboxRecord[], tenantSlug: string): SequencedEvent[] {
    this.#remember("tenant_slug", tenantSlug);
    return this.ctx.storage.transactionSync(() => {
      const fresh: SequencedEvent[] = [];
      let seq = this.#lastSeq();
      for (const event of events) {
        if (!isEventType(event.type)) continue;
        const seen = this.#sql.exec("SELECT 1 FROM events WHERE outbox_id = ?", event.id).toArray();
        if (seen.length > 0) continue;
        seq += 1;
        const stored: SequencedEvent = {
          type: event.type,
          seq,
          tenant: tenantSlug,
          timestamp: event.createdAt,
          data: event.payload,
        };
        this.#sql.exec(
          "INSERT INTO events (seq, outbox_id, type, tenant, timestamp, data, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          seq,
          event.id,
          stored.type,
          stored.tenant,
          stored.timestamp,
          JSON.stringify(stored.data),
          Date.now(),
        );
        fresh.push(stored);
      }
      if (fresh.length > 0) this.#remember("last_seq", String(seq));
      return fresh;
    });
  }

  /**
   * Sends the events after `after`, at most one page of them, then
   * `replayed`, whose `more` tells the client to resume from `through`.
   * Until a page reaches the end of the log the socket gets no live events
   * (#broadcast); after it, the socket has been sent everything up to the
   * newest seq, so live events follow on without a gap.
   */
  #replay(ws: WebSocket, after: number): void {
    const rows = this.#sql
      .exec<{ seq: number; type: string; tenant: string; timestamp: string; data: string }>(
        "SELECT seq, type, tenant, timestamp, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        after,
        REPLAY_PAGE_SIZE,
      )
      .toArray();
    for (const row of rows) {
      if (!isEventType(row.type)) continue;
      this.#send(ws, {
        type: row.type,
        seq: row.seq,
        tenant: row.tenant,
        timestamp: row.timestamp,
        data: JSON.parse(row.data) as unknown,
      });
    }
    const through = rows.at(-1)?.seq ?? Math.max(after, 0);
    const newest = this.#lastSeq();
    const more = rows.length === REPLAY_PAGE_SIZE && through < newest;
    const attachment = this.#attachment(ws);
    ws.serializeAttachment({
      ...attachment,
      sent: more ? Math.max(attachment.sent, through) : newest,
      replaying: more,
    });
    this.#send(ws, { type: "replayed", data: { after, through, more } });
  }

  /** Zero when this socket may resume now, else the milliseconds until it may. */
  #resumeWait(ws: WebSocket): number {
    const now = Date.now();
    const window = this.#resumes.get(ws);
    if (!window || now - window.since >= RESUME_LIMIT.windowMs) {
      this.#resumes.set(ws, { since: now, count: 1 });
      return 0;
    }
    if (window.count >= RESUME_LIMIT.count) return window.since + RESUME_LIMIT.windowMs - now;
    window.count += 1;
    return 0;
  }

  /**
   * Delivers what a terminal's command decided: its events go into this
   * object's own log (no RPC back into itself), notifications and queue
   * messages as from any entry point. Never throws: the change is committed,
   * so the command succeeded; an undelivered row is published by the cron pass.
   */
  /**
   * Delivers a terminal command's effects into this hub's own log. `answer`
   * runs as soon as the events are in the log (before D1 marks their outbox
   * rows delivered), or after delivery when there are none.
   */
  async #deliver(effects: Effects, answer?: () => void): Promise<void> {
    let answered = false;
    await deliver(this.env, effects, async (events, slug) => {
      const stored = await this.publish(events, slug);
      answer?.();
      answered = true;
      return stored;
    });
    if (!answered) answer?.();
  }

  #refuseRevoked(ws: WebSocket, message: TerminalMessage): void {
    this.#refuse(ws, message, { code: "unauthorized", message: "this socket's key was revoked" });
    this.#close(ws, "key revoked");
  }

  /** Whether the key this socket was opened with is still live in D1. */
  async #keyIsLive(ws: WebSocket): Promise<boolean> {
    return (
      (await findLiveApiKey(getDb(this.env), this.#tenantId(), this.#attachment(ws).keyId)) !==
      undefined
    );
  }

  /** Answers a refused command in the shape its sender waits for. */
  #refuse(ws: WebSocket, message: TerminalMessage, error: { code: string; message: string }): void {
    if (message.type === "set_status") {
      this.#send(ws, {
        type: "set_status_result",
        requestId: message.requestId ?? null,
        ok: false,
        error,
      });
    } else if (message.type === "ack_alert") {
      this.#send(ws, { type: "ack_alert_result", alertId: message.alertId, ok: false, error });
    } else if (message.type === "entered_in_pos") {
      this.#send(ws, {
        type: "entered_in_pos_result",
        requestId: message.requestId ?? null,
        orderId: message.orderId,
        ok: false,
        error,
      });
    } else {
      this.#send(ws, { type: "error", ...error });
    }
  }

  /** Closes the sockets of revoked keys, or all of them when the tenant was deleted. */
  #closeRevoked(revoked: AccessRevoked): void {
    const keys = "keyIds" in revoked ? new Set(revoked.keyIds) : null;
    const reason = revoked.reason === "tenant_deleted" ? "tenant deleted" : "key revoked";
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = ws.deserializeAttachment() as Attachment | null;
      if (!attachment || (keys && !keys.has(attachment.keyId))) continue;
      this.#close(ws, reason);
    }
  }

  #close(ws: WebSocket, reason: string): void {
    try {
      ws.close(CLOSE_REVOKED, reason);
    } catch {
      // Already closing.
    }
  }

  /**
   * Sends a new event to every socket that is not being replayed to and has
   * not been sent it: on one socket, live events only ever move its seq forward.
   */
  #broadcast(event: SequencedEvent): void {
    const frame = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = ws.deserializeAttachment() as Attachment | null;
      if (!attachment || attachment.replaying || event.seq <= attachment.sent) continue;
      try {
        ws.send(frame);
        ws.serializeAttachment({ ...attachment, sent: event.seq });
      } catch {
        // A socket closing under us resumes by seq when it reconnects.
      }
    }
  }

  #send(ws: WebSocket, message: ServerMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // Closed meanwhile; nothing to tell.
    }
  }

  #attachment(ws: WebSocket): Attachment {
    return ws.deserializeAttachment() as Attachment;
  }

  #touch(ws: WebSocket): void {
    const attachment = ws.deserializeAttachment() as Attachment | null;
    if (!attachment) return;
    this.#sql.exec(
      "UPDATE terminals SET last_seen = ? WHERE terminal_id = ?",
      new Date().toISOString(),
      attachment.terminalId,
    );
  }

  /** The newest seq this terminal acknowledged, so one that lost its state knows where to resume. */
  #lastAck(terminalId: string): number {
    const row = this.#sql
      .exec<{ last_ack: number }>(
        "SELECT last_ack FROM terminals WHERE terminal_id = ?",
        terminalId,
      )
      .toArray()[0];
    return row?.last_ack ?? 0;
  }

  /** Connected terminals, not counting sockets being closed for the limit. */
  #terminalCount(): number {
    return this.ctx.getWebSockets().length - this.ctx.getWebSockets(REFUSED_TAG).length;
  }

  #lastSeq(): number {
    const row = this.#sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'last_seq'")
      .toArray()[0];
    return row ? Number(row.value) : 0;
  }

  #slug(): string {
    const row = this.#sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'tenant_slug'")
      .toArray()[0];
    return row?.value ?? "";
  }

  #remember(key: string, value: string): void {
    // Every connection names its tenant; only a change is worth a write. The
    // sequence number is written inside transactions and so never cached.
    if (key !== "last_seq") {
      if (this.#meta.get(key) === value) return;
      this.#meta.set(key, value);
    }
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** The tenant id this hub was opened for (stored in `meta` by the first socket). */
  #tenantId(): string {
    const row = this.#sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'tenant_id'")
      .toArray()[0];
    if (!row) throw new Error("this hub does not know its tenant yet");
    return row.value;
  }

  /** The tenant as it is now: read for each command that needs it, never kept. */
  async #loadTenant(): Promise<Tenant> {
    const tenant = await findTenantById(getDb(this.env), this.#tenantId());
    if (!tenant) throw new Error("this hub's tenant is gone");
    return tenant;
  }
}

function isEventType(type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}
