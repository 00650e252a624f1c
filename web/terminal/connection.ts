import ReconnectingWebSocket from "partysocket/ws";
import type { Credentials } from "./credentials";
import {
  encodeMessage,
  parseServerFrame,
  type ServerFrame,
  type TerminalMessage,
} from "./protocol";

/**
 * The terminal's socket: partysocket's ReconnectingWebSocket, with a URL
 * provider that fetches a fresh single-use ticket for every (re)connect (a
 * browser cannot set an Authorization header on a WebSocket) and asks for
 * every event after the last one the board folded in.
 */

/** What the header shows about the link to the server. */
export type ConnectionPhase = "connecting" | "connected" | "reconnecting" | "offline" | "stopped";

export interface ConnectionCallbacks {
  /**
   * Called on every (re)connect: the board's last contiguous seq, sent as
   * `?after=`; the board then expects that replay before any live event. Kept
   * in memory only: after a reload the board is empty and rebuilds itself
   * from the log (`?after=0`), so a stored seq would leave its tickets out.
   */
  resumeFrom(): number;
  onFrame(frame: ServerFrame): void;
  onPhase(phase: ConnectionPhase, detail: string): void;
  /** The key was refused (revoked, or not a terminal key of this tenant); the socket stopped. */
  onRejected(message: string): void;
}

/** Ticket answers that retrying cannot fix. */
export class TicketRefused extends Error {}

const TICKET_TIMEOUT_MS = 8_000;
/** A ticket is good for 60 s; one fetched by the sign-in form is used if younger than this. */
const TICKET_REUSE_MS = 30_000;
/** With no frame for this long, the screen pings to learn whether the link is alive. */
const IDLE_PING_MS = 25_000;
/** A ping unanswered for this long means the link is dead: reconnect. */
const PONG_TIMEOUT_MS = 4_000;
const HEARTBEAT_TICK_MS = 5_000;

/**
 * Asks the server for a socket ticket with the terminal key.
 * @throws TicketRefused when the key or the tenant is refused; other errors are transient.
 */
export async function fetchTicket(baseUrl: string, credentials: Credentials): Promise<string> {
  const url = new URL(
    `/v1/pos/${encodeURIComponent(credentials.tenant)}/terminals/ticket`,
    baseUrl,
  );
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${credentials.key}`, "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(TICKET_TIMEOUT_MS),
  });
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    throw new TicketRefused(refusalMessage(res.status));
  }
  const ticket =
    typeof body === "object" && body !== null && "ticket" in body ? body.ticket : undefined;
  if (res.status !== 201 || typeof ticket !== "string") {
    throw new Error(`the server answered ${res.status} to the ticket request`);
  }
  return ticket;
}

function refusalMessage(status: number): string {
  if (status === 404) return "No restaurant with this id.";
  if (status === 403) return "This key belongs to another restaurant or cannot open a terminal.";
  return "This terminal key is not valid (revoked or mistyped).";
}

export class TerminalConnection {
  readonly #baseUrl: string;
  readonly #credentials: Credentials;
  readonly #callbacks: ConnectionCallbacks;
  readonly #socket: ReconnectingWebSocket;
  #firstTicket: { ticket: string; at: number } | null;
  #phase: ConnectionPhase = "connecting";
  #lastFrameAt = Date.now();
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  /**
   * Connects at once. `firstTicket` is one the sign-in form already fetched
   * (to check the key), so the first connect does not need another.
   */
  constructor(
    baseUrl: string,
    credentials: Credentials,
    callbacks: ConnectionCallbacks,
    firstTicket?: string,
  ) {
    this.#baseUrl = baseUrl;
    this.#credentials = credentials;
    this.#callbacks = callbacks;
    this.#firstTicket = firstTicket ? { ticket: firstTicket, at: Date.now() } : null;
    this.#socket = new ReconnectingWebSocket(() => this.#nextUrl(), undefined, {
      // Some jitter, so a restaurant's screens do not all come back at the same instant.
      minReconnectionDelay: 800 + Math.random() * 700,
      maxReconnectionDelay: 10_000,
      reconnectionDelayGrowFactor: 1.6,
      connectionTimeout: 6_000,
      // A status change sent while the link is down must fail visibly, not go out later.
      maxEnqueuedMessages: 0,
    });
    this.#socket.addEventListener("open", this.#onOpen);
    this.#socket.addEventListener("message", this.#onMessage);
    this.#socket.addEventListener("close", this.#onDown);
    this.#socket.addEventListener("error", this.#onDown);
    window.addEventListener("online", this.#onOnline);
    window.addEventListener("offline", this.#onOffline);
    this.#heartbeat = setInterval(this.#checkAlive, HEARTBEAT_TICK_MS);
    this.#setPhase("connecting", "");
  }

  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Sends a frame if the socket is open; false when it is not (nothing is queued). */
  send(message: TerminalMessage): boolean {
    if (this.#stopped) return false;
    return this.#socket.send(encodeMessage(message));
  }

  /** Closes the socket for good (sign-out, or the key was refused). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    this.#clearPong();
    window.removeEventListener("online", this.#onOnline);
    window.removeEventListener("offline", this.#onOffline);
    this.#socket.close(1000, "terminal signed out");
    this.#setPhase("stopped", "");
  }

  async #nextUrl(): Promise<string> {
    const ticket = await this.#ticket();
    const url = new URL(`/ws/pos/${encodeURIComponent(this.#credentials.tenant)}`, this.#baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    if (this.#credentials.name) url.searchParams.set("name", this.#credentials.name);
    // The server replays every logged event after this seq right after hello, before any live one.
    url.searchParams.set("after", String(this.#callbacks.resumeFrom()));
    return url.toString();
  }

  async #ticket(): Promise<string> {
    const first = this.#firstTicket;
    this.#firstTicket = null;
    if (first && Date.now() - first.at < TICKET_REUSE_MS) return first.ticket;
    try {
      return await fetchTicket(this.#baseUrl, this.#credentials);
    } catch (err) {
      if (err instanceof TicketRefused) {
        // Retrying cannot fix a refused key: stop before partysocket schedules another try.
        this.stop();
        this.#callbacks.onRejected(err.message);
      }
      throw err;
    }
  }

  #onOpen = (): void => {
    this.#lastFrameAt = Date.now();
    this.#clearPong();
    this.#setPhase("connected", "");
  };

  #onMessage = (event: MessageEvent): void => {
    this.#lastFrameAt = Date.now();
    this.#clearPong();
    // The link outlived a blip the browser reported as offline.
    if (this.#phase !== "connected") this.#setPhase("connected", "");
    if (typeof event.data !== "string") return;
    this.#callbacks.onFrame(parseServerFrame(event.data));
  };

  #onDown = (event: Event): void => {
    if (this.#stopped) return;
    this.#clearPong();
    // Application close codes (4000+) carry a reason worth showing, such as the terminal limit.
    const code = "code" in event && typeof event.code === "number" ? event.code : 0;
    const reason = "reason" in event && typeof event.reason === "string" ? event.reason : "";
    this.#setPhase(navigator.onLine ? "reconnecting" : "offline", code >= 4000 ? reason : "");
  };

  #onOnline = (): void => {
    // Back online: try now rather than after the backoff delay.
    if (this.#socket.readyState === this.#socket.OPEN) this.#probe();
    else this.#socket.reconnect();
  };

  #onOffline = (): void => {
    this.#setPhase("offline", "");
    // A socket can stay open with nothing getting through; a ping tells.
    this.#probe();
  };

  #checkAlive = (): void => {
    if (this.#stopped || this.#socket.readyState !== this.#socket.OPEN) return;
    if (Date.now() - this.#lastFrameAt > IDLE_PING_MS) this.#probe();
  };

  /** Pings; with no frame back in time, the link is dead and the socket reconnects. */
  #probe(): void {
    if (this.#pongTimer !== undefined || !this.send({ type: "ping" })) return;
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = undefined;
      if (this.#stopped) return;
      this.#socket.reconnect(4000, "no answer from the server");
    }, PONG_TIMEOUT_MS);
  }

  #clearPong(): void {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  #setPhase(phase: ConnectionPhase, detail: string): void {
    if (this.#stopped && phase !== "stopped") return;
    this.#phase = phase;
    this.#callbacks.onPhase(phase, detail);
  }
}
