import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export interface Received {
  type: string;
  seq?: number;
  data?: unknown;
  [key: string]: unknown;
}

/** A connected terminal socket that records every frame it receives. */
export class TestTerminal {
  readonly messages: Received[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.messages.push(JSON.parse(String(event.data)) as Received);
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Waits (bounded) until a received message matches, and returns it. */
  async waitFor(predicate: (m: Received) => boolean, ms = 5000): Promise<Received> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching message within ${ms} ms; got ${JSON.stringify(this.messages)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until `count` events with a seq have arrived; returns them in arrival order. */
  async waitForEvents(count: number, ms = 5000): Promise<Received[]> {
    await this.waitFor(() => this.events().length >= count, ms);
    return this.events();
  }

  async waitForClose(ms = 5000): Promise<{ code: number; reason: string }> {
    await this.waitFor(() => this.closed !== null, ms).catch(() => undefined);
    if (!this.closed) throw new Error(`socket not closed within ${ms} ms`);
    return this.closed;
  }

  events(): Received[] {
    return this.messages.filter((m) => m.type !== "hello" && typeof m.seq === "number");
  }

  close(): void {
    this.ws.close(1000, "test done");
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** Opens `/ws/pos/:tenant` the way a terminal does; returns the raw response too. */
export async function openSocket(
  tenant: string,
  auth: { token?: string; ticket?: string; query?: string },
): Promise<{ res: Response; terminal: TestTerminal | null }> {
  const params = new URLSearchParams();
  if (auth.ticket) params.set("ticket", auth.ticket);
  const query = [params.toString(), auth.query ?? ""].filter(Boolean).join("&");
  const res = await exports.default.fetch(
    new Request(`http://orderlane.test/ws/pos/${tenant}${query ? `?${query}` : ""}`, {
      headers: {
        upgrade: "websocket",
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
      },
    }),
  );
  const ws = res.webSocket;
  if (!ws) return { res, terminal: null };
  ws.accept();
  return { res, terminal: new TestTerminal(ws) };
}

/** Connects and waits for `hello`. */
export async function connectTerminal(
  tenant: string,
  auth: { token?: string; ticket?: string; query?: string },
): Promise<TestTerminal> {
  const { res, terminal } = await openSocket(tenant, auth);
  if (!terminal) throw new Error(`no socket: ${res.status} ${await res.text()}`);
  expect(res.status).toBe(101);
  await terminal.waitFor((m) => m.type === "hello");
  return terminal;
}
