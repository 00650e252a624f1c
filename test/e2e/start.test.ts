import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFreePort, PROJECT_ROOT, runWrangler } from "../../tools/dev-server.mjs";
import { until } from "../wait";
import { call, callJson } from "./pos-harness";

// `npm start` itself (tools/start.mjs, as a child process on a free port with a temporary data
// directory): what it prints, that it fires the Worker's scheduled handler on wrangler.toml's
// schedule, and that a restart keeps the local data and the Stripe double's, so an order paid
// before it is refunded after it. Every wait is bounded; everything started is stopped.

const TENANT = "demo-bistro";
/** Startup: migrations, the bundle, workerd, the demo seed. */
const START_TIMEOUT_MS = 120_000;
/** The schedule is every minute: the next pass is at most a minute away, then it runs. */
const CRON_TIMEOUT_MS = 90_000;
const SETTLE_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const DOUBLE_KEY = "sk_test_orderlane_double";

// npm start runs the Stripe double only while .dev.vars (or, before it exists, the example it is
// copied from) has no Stripe key; with a real key, the payment part cannot run here.
const devVarsFile = existsSync(path.join(PROJECT_ROOT, ".dev.vars"))
  ? path.join(PROJECT_ROOT, ".dev.vars")
  : path.join(PROJECT_ROOT, ".dev.vars.example");
const usesDouble = !parseEnv(readFileSync(devVarsFile, "utf8")).STRIPE_SECRET_KEY?.trim();

interface OrderView {
  id: string;
  status: string;
  paymentStatus: string;
}

/** One `npm start`: its output, and a graceful stop (Ctrl-C). */
class StartRun {
  output = "";
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #killOnExit = () => this.#child.kill("SIGTERM");

  constructor(
    readonly port: number,
    persistTo: string,
  ) {
    this.#child = spawn(
      process.execPath,
      [
        path.join(PROJECT_ROOT, "tools/start.mjs"),
        "--port",
        String(port),
        "--persist-to",
        persistTo,
      ],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
    );
    const append = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.#child.stdout?.on("data", append);
    this.#child.stderr?.on("data", append);
    this.exited = new Promise((resolve) => this.#child.once("exit", (code) => resolve(code)));
    // Should this process end first, npm start still stops its wrangler on SIGTERM.
    process.once("exit", this.#killOnExit);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Waits until the output matches, failing on a timeout or an early exit. */
  async waitFor(pattern: RegExp, ms: number, what: string): Promise<RegExpMatchArray> {
    let exitCode: number | null | undefined;
    void this.exited.then((code) => {
      exitCode = code;
    });
    const match = await until(
      () => {
        if (exitCode !== undefined) {
          throw new Error(`npm start exited (${exitCode}) before ${what}:\n${this.output}`);
        }
        return this.output.match(pattern);
      },
      (found) => found !== null,
      ms,
      what,
    ).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${this.output}`);
    });
    if (!match) throw new Error(`no ${what}`);
    return match;
  }

  /** Ctrl-C, and the wait until npm start has stopped wrangler and the double and exited. */
  async stop(): Promise<void> {
    process.removeListener("exit", this.#killOnExit);
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill("SIGINT");
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS)),
    ]);
    if (!stopped) {
      this.#child.kill("SIGTERM");
      throw new Error(`npm start did not stop within ${STOP_TIMEOUT_MS} ms:\n${this.output}`);
    }
  }
}

let persistDir: string;
let port: number;
let run: StartRun | undefined;
/** The card order paid before the restart. */
let paidOrder: { id: string; intentId: string } | undefined;

async function startRun(): Promise<StartRun> {
  run = new StartRun(port, persistDir);
  await run.waitFor(/Press Ctrl-C to stop\./, START_TIMEOUT_MS, "the banner");
  return run;
}

async function keys(): Promise<{ ownerKey: string; staffKey: string }> {
  return JSON.parse(await readFile(path.join(persistDir, "demo-seed.json"), "utf8"));
}

/** Where this run's Stripe double listens (npm start records it for `npm run pay`). */
async function doubleUrl(): Promise<string> {
  const state = JSON.parse(await readFile(path.join(persistDir, "stripe-double.json"), "utf8"));
  return state.stripeDoubleUrl as string;
}

async function orderOf(r: StartRun, id: string): Promise<OrderView> {
  const { staffKey } = await keys();
  const { order } = await callJson<{ order: OrderView }>(
    r.url,
    `/v1/admin/${TENANT}/orders/${id}`,
    { token: staffKey },
    200,
  );
  return order;
}

beforeAll(async () => {
  persistDir = await mkdtemp(path.join(tmpdir(), "orderlane-start-"));
  port = await getFreePort();
});

afterAll(async () => {
  await run?.stop();
  await rm(persistDir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("prints one migration table, no Request.cf trace, the terminal link and the schedule", async () => {
    const r = await startRun();
    const { output } = r;
    // A fresh database: the table of applied migrations, once.
    expect(output.match(/^│ name\s+│ status │$/gm)).toHaveLength(1);
    expect(output).not.toContain("Migrations to be applied");
    expect(output).not.toMatch(/Request\.cf|ENOTFOUND|getaddrinfo/);
    expect(output).not.toContain("Scheduled Workers are not automatically triggered");
    expect(output).toContain(`Terminal          ${r.url}/terminal/?tenant=${TENANT} `);
    expect(output).toMatch(/Cron {14}"\* \* \* \* \*" \(wrangler\.toml \[triggers\], UTC\)/);
    expect(output).toContain("Seeded a fresh demo tenant.");
  });

  it.skipIf(!usesDouble)("takes a card payment through the Stripe double", async () => {
    if (!run) throw new Error("npm start is not running");
    const r = run;
    const menu = await callJson<{ items: { id: string }[] }>(
      r.url,
      `/v1/stores/${TENANT}/menu`,
      {},
      200,
    );
    const placed = await callJson<{ order: OrderView; payment: { clientSecret: string } }>(
      r.url,
      `/v1/stores/${TENANT}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: menu.items[0]?.id, quantity: 1 }],
          customer: { name: "Ada Lovelace" },
        },
        headers: { "idempotency-key": `e2e-start-${randomUUID()}` },
      },
      201,
    );
    const intentId = placed.payment.clientSecret.split("_secret_")[0] ?? "";
    const paid = await fetch(`${await doubleUrl()}/_control/payment_intents/${intentId}/succeed`, {
      method: "POST",
      signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS),
    });
    expect(paid.status).toBe(200);
    await until(
      () => orderOf(r, placed.order.id),
      (order) => order.paymentStatus === "paid",
      SETTLE_TIMEOUT_MS,
      "the order to be paid",
    );
    paidOrder = { id: placed.order.id, intentId };
  });

  it(
    "after a restart, reuses the data and the cron pass delivers an undelivered outbox row",
    async () => {
      await run?.stop();
      // An event committed but never published (a publish that failed): only the cron pass,
      // re-publishing rows left undelivered, sends it to the tenant's hub.
      const eventId = `evt_e2e_cron_${randomUUID().replaceAll("-", "")}`;
      const createdAt = new Date(Date.now() - 60_000).toISOString();
      await runWrangler([
        "d1",
        "execute",
        "DB",
        "--local",
        "--persist-to",
        persistDir,
        "--command",
        `INSERT INTO outbox_events (id, tenant_id, type, payload, created_at, attempts)
       SELECT '${eventId}', id, 'alert', '{"e2e":"cron"}', '${createdAt}', 0
       FROM tenants WHERE slug = '${TENANT}'`,
      ]);

      const r = await startRun();
      expect(r.output).toContain("D1: No migrations to apply!");
      expect(r.output).toContain("Reusing the demo tenant and data from an earlier run.");
      await r.waitFor(
        /"msg":"cron pass"[^\n]*"redelivered":1\b/,
        CRON_TIMEOUT_MS,
        "the Worker's cron pass to deliver the outbox row",
      );
      // npm start's own line, once the endpoint has answered.
      await r.waitFor(
        /cron "\* \* \* \* \*": the scheduled handler ran for \S+ \(ok\)/,
        SETTLE_TIMEOUT_MS,
        "npm start to report the pass",
      );
      expect(r.output).not.toContain("✖");
    },
    START_TIMEOUT_MS + CRON_TIMEOUT_MS + STOP_TIMEOUT_MS,
  );

  it.skipIf(!usesDouble)("refunds after the restart the order paid before it", async () => {
    if (!run || !paidOrder) throw new Error("no order was paid before the restart");
    const r = run;
    const { id, intentId } = paidOrder;
    const { staffKey } = await keys();
    const cancelled = await call(r.url, `/v1/admin/${TENANT}/orders/${id}/cancel`, {
      method: "POST",
      token: staffKey,
    });
    expect(cancelled.status).toBe(202);
    const order = await until(
      () => orderOf(r, id),
      (o) => o.paymentStatus === "refunded" || o.paymentStatus === "refund_failed",
      SETTLE_TIMEOUT_MS,
      "the refund to finish",
    );
    expect(order).toMatchObject({ status: "cancelled", paymentStatus: "refunded" });
    // The double, restarted with npm start, still knew the PaymentIntent and refunded it.
    const refunds = await fetch(`${await doubleUrl()}/v1/refunds?payment_intent=${intentId}`, {
      headers: { authorization: `Bearer ${DOUBLE_KEY}` },
    });
    const list = (await refunds.json()) as { data: { status: string; amount: number }[] };
    expect(list.data).toEqual([expect.objectContaining({ status: "succeeded" })]);
  });
});
