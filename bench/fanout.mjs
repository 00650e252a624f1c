// @ts-check
// Fan-out benchmark: how long a confirmed order takes to reach every connected terminal.
//
//   npm run bench:fanout -- [--terminals 1,10,100,1000] [--orders 100]
//                           [--url http://127.0.0.1:PORT --admin-token TOKEN]
//
// Without --url it starts its own `wrangler dev --local` (workerd) on a free loopback port with
// a fresh, temporary state directory, and stops it (and removes the directory) when done, on
// error and on Ctrl-C. For each terminal count N it creates a fresh tenant, one menu item and a
// terminal key, opens N sockets to /ws/pos/<tenant> (one single-use ticket each) and waits for
// every `hello`. Then, one order at a time: place an order, wait until every socket has seen
// its `order_updated` (so the previous fan-out is not still in flight), take t0, send
// `mark-paid`, and note when each socket receives the `new_order` for that order id.
// Fan-out latency = (receipt time at the LAST socket) - t0, measured in this one client
// process, so client-side receive and JSON parsing of all N sockets is included.
//
// Every wait is bounded; timeouts and missed deliveries are counted, never waited out.
// `wrangler dev` reloads the Worker when a watched file (src/, wrangler.toml) changes, which
// drops every socket; a reload or a socket the server closes interrupts the current terminal
// count, which is then measured again from scratch (at most --retries times).

import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { nextCustomerAddress, percentile } from "../test/e2e/pos-harness.ts";
import { getFreePort, startDevServer } from "../tools/dev-server.mjs";

const HELP = `Usage: npm run bench:fanout -- [options]

  --terminals LIST        terminal counts to measure (default 1,10,100,1000)
  --orders N              orders confirmed per terminal count (default 100, so that the
                          nearest-rank p99 is not simply the maximum)
  --url URL               use a running instance (loopback only) instead of starting one;
                          all sockets share one terminal key, so start it with
                          TICKETS_PER_KEY_PER_MINUTE, SOCKETS_PER_KEY_PER_MINUTE and
                          SOCKETS_PER_TENANT_PER_MINUTE above the largest count
  --admin-token TOKEN     its ADMIN_TOKEN (required with --url)
  --order-timeout-ms MS   longest wait for one order to reach every socket (default 30000)
  --connect-concurrency N sockets being opened at once (default 25)
  --max-minutes M         hard limit for the whole run (default 30)
  --retries N             re-measurements of a terminal count after a reload (default 2)
  --verbose               show wrangler's output
  --help                  this text`;

const DEFAULT_TERMINALS = [1, 10, 100, 1000];
const MAX_TERMINALS = 5000;
const MAX_ORDERS = 10_000;
const HTTP_TIMEOUT_MS = 30_000;
const HELLO_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 10_000;
const CONNECT_ATTEMPTS = 2;
const RELOAD_MARK = "Reloading local server";
const RELOADED_MARK = "Local server updated and ready";
const RELOAD_WAIT_MS = 120_000;

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  console.error(`bench:fanout: ${message}`);
  process.exit(2);
}

/**
 * @param {string | undefined} raw
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 * @param {string} name
 */
function intOption(raw, fallback, min, max, name) {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`--${name} must be an integer from ${min} to ${max} (got ${raw})`);
  }
  return value;
}

function parseOptions() {
  return parseArgs({
    options: {
      terminals: { type: "string" },
      orders: { type: "string" },
      url: { type: "string" },
      "admin-token": { type: "string" },
      "order-timeout-ms": { type: "string" },
      "connect-concurrency": { type: "string" },
      "max-minutes": { type: "string" },
      retries: { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}

function readOptions() {
  /** @type {ReturnType<typeof parseOptions>} */
  let parsed;
  try {
    parsed = parseOptions();
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const terminals = values.terminals
    ? values.terminals
        .split(",")
        .map((part) => intOption(part.trim(), 0, 1, MAX_TERMINALS, "terminals"))
    : DEFAULT_TERMINALS;
  if (terminals.length === 0 || terminals.length > 20) fail("--terminals takes 1 to 20 counts");
  const url = values.url?.replace(/\/+$/, "");
  if (url) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      fail(`--url is not a URL: ${url}`);
    }
    if (!["127.0.0.1", "localhost", "[::1]"].includes(parsed?.hostname ?? "")) {
      fail("--url must be a loopback address (127.0.0.1, localhost or [::1])");
    }
    if (!values["admin-token"]) fail("--url needs --admin-token");
  } else if (values["admin-token"]) {
    fail("--admin-token is only used with --url");
  }
  return {
    terminals,
    orders: intOption(values.orders, 100, 1, MAX_ORDERS, "orders"),
    url,
    adminToken: values["admin-token"],
    orderTimeoutMs: intOption(values["order-timeout-ms"], 30_000, 100, 600_000, "order-timeout-ms"),
    connectConcurrency: intOption(values["connect-concurrency"], 25, 1, 500, "connect-concurrency"),
    maxMinutes: intOption(values["max-minutes"], 30, 1, 240, "max-minutes"),
    retries: intOption(values.retries, 2, 0, 10, "retries"),
    verbose: values.verbose ?? false,
  };
}

// ---- statistics ----

/** @param {number} ms */
function fmt(ms) {
  if (!Number.isFinite(ms)) return "–";
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

// ---- HTTP ----

/**
 * One JSON request; throws with the body when the status is not the expected one.
 * @param {string} base
 * @param {string} urlPath
 * @param {{ method?: string, token?: string, body?: unknown, headers?: Record<string, string>, expect?: number }} [options]
 * @returns {Promise<any>}
 */
async function api(base, urlPath, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${urlPath}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  const expected = options.expect ?? 200;
  if (res.status !== expected) {
    throw new Error(
      `${options.method ?? "POST"} ${urlPath} answered ${res.status} (expected ${expected}): ${text.slice(0, 500)}`,
    );
  }
  return text ? JSON.parse(text) : null;
}

/**
 * A fresh tenant with one item and a terminal key.
 * @param {string} base
 * @param {string} adminToken
 * @param {number} n
 */
async function createTenant(base, adminToken, n) {
  const slug = `bench-${Date.now().toString(36)}-${n}-${randomBytes(3).toString("hex")}`;
  const { ownerKey } = await api(base, "/v1/platform/tenants", {
    token: adminToken,
    body: {
      slug,
      name: `Bench ${n}`,
      currency: "USD",
      timezone: "America/New_York",
      taxRateBps: 875,
    },
    expect: 201,
  });
  const { item } = await api(base, `/v1/admin/${slug}/menu/items`, {
    token: ownerKey,
    body: {
      name: "Bench Burger",
      description: "For measuring",
      price: { amount: 1000, currency: "USD" },
      available: true,
      posItemId: null,
      modifiers: [],
    },
    expect: 201,
  });
  const { key: terminalKey } = await api(base, `/v1/admin/${slug}/keys`, {
    token: ownerKey,
    body: { role: "terminal", label: "bench terminals" },
    expect: 201,
  });
  return { slug, ownerKey, terminalKey, menuItemId: /** @type {string} */ (item.id) };
}

// ---- server CPU (Linux /proc) ----

const CLOCK_TICKS_PER_S = 100; // USER_HZ, 100 on every mainstream Linux build
/** @type {Map<number, number>} port -> wrangler's process group id */
const groupOfPort = new Map();

/** @returns {{ pid: number, pgrp: number, cpuTicks: number }[]} */
function listProcesses() {
  const out = [];
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command: state(3) ppid pgrp … utime(14) stime(15)
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({
        pid: Number(entry),
        pgrp: Number(fields[2]),
        cpuTicks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * CPU time (user + system, ms) used so far by every process in the process group of the
 * `wrangler dev` serving `port` (wrangler's two Node processes and workerd); null if unknown.
 * @param {number} port
 */
function groupCpuMs(port) {
  if (process.platform !== "linux") return null;
  let pgid = groupOfPort.get(port);
  const processes = listProcesses();
  if (pgid === undefined) {
    for (const p of processes) {
      if (p.pid !== p.pgrp) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0").join(" ");
      } catch {
        continue;
      }
      if (cmdline.includes("wrangler") && cmdline.includes(` --port ${port} `)) {
        pgid = p.pid;
        groupOfPort.set(port, pgid);
        break;
      }
    }
    if (pgid === undefined) return null;
  }
  let ticks = 0;
  for (const p of processes) if (p.pgrp === pgid) ticks += p.cpuTicks;
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

// ---- interruptions ----

/** Thrown when the server reloaded or dropped a socket: the measurement is void. */
class Interrupted extends Error {}

/** What went wrong during the current terminal count, and who wants to know at once. */
const disturbance = {
  /** @type {string | null} */
  reason: null,
  /** @type {Set<() => void>} */
  listeners: new Set(),
};

/** @param {string} reason */
function interrupt(reason) {
  if (disturbance.reason !== null) return;
  disturbance.reason = reason;
  for (const listener of disturbance.listeners) listener();
}

function throwIfInterrupted() {
  if (disturbance.reason !== null) throw new Interrupted(disturbance.reason);
}

/**
 * After a reload: waits (bounded) until wrangler says it is ready again and the Worker answers.
 * @param {string} base
 * @param {() => boolean} reloading
 */
async function waitForServer(base, reloading) {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (reloading()) continue;
    try {
      const res = await fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not back yet
    }
  }
  throw new Error(`the server did not come back within ${RELOAD_WAIT_MS / 1000} s after a reload`);
}

// ---- sockets ----

/**
 * @typedef {object} Terminal
 * @property {WebSocket} ws
 * @property {number} index
 * @property {((frame: any, at: number) => void) | null} onEvent called for each sequenced frame
 * @property {boolean} closed
 * @property {boolean} closing closed by us (not a disturbance)
 */

/**
 * Opens one terminal socket with a fresh ticket and resolves after its `hello`.
 * @param {string} base
 * @param {{ slug: string, terminalKey: string }} tenant
 * @param {number} index
 * @returns {Promise<Terminal>}
 */
async function openTerminal(base, tenant, index) {
  const { ticket } = await api(base, `/v1/pos/${tenant.slug}/terminals/ticket`, {
    token: tenant.terminalKey,
    body: {},
    expect: 201,
  });
  const wsUrl = new URL(`/ws/pos/${tenant.slug}`, base);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  wsUrl.searchParams.set("ticket", ticket);
  wsUrl.searchParams.set("name", `t${index}`);
  const ws = new WebSocket(wsUrl);
  /** @type {Terminal} */
  const terminal = { ws, index, onEvent: null, closed: false, closing: false };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`socket t${index}: no hello within ${HELLO_TIMEOUT_MS} ms`));
    }, HELLO_TIMEOUT_MS);
    let greeted = false;
    ws.addEventListener("message", (event) => {
      // The receipt time is taken before anything else, parsing included.
      const at = performance.now();
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (!greeted) {
        if (frame?.type === "hello") {
          greeted = true;
          clearTimeout(timer);
          resolve(terminal);
        }
        return;
      }
      terminal.onEvent?.(frame, at);
    });
    ws.addEventListener("close", (event) => {
      terminal.closed = true;
      if (!greeted) {
        clearTimeout(timer);
        reject(new Error(`socket t${index} closed before hello: ${event.code} ${event.reason}`));
      } else if (!terminal.closing) {
        interrupt(`the server closed socket t${index} (${event.code} ${event.reason})`.trim());
      }
    });
    ws.addEventListener("error", () => {
      // A "close" event always follows; it settles the promise.
    });
  });
}

/**
 * Opens `count` sockets, at most `concurrency` at a time; one retry per socket.
 * @param {string} base
 * @param {{ slug: string, terminalKey: string }} tenant
 * @param {number} count
 * @param {number} concurrency
 * @param {Terminal[]} into sockets are pushed here as they open (so they can be closed on error)
 */
async function openTerminals(base, tenant, count, concurrency, into) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < count && !failed) {
      throwIfInterrupted();
      const index = next++;
      /** @type {unknown} */
      let lastError;
      let opened = false;
      for (let attempt = 1; attempt <= CONNECT_ATTEMPTS && !opened; attempt++) {
        try {
          into.push(await openTerminal(base, tenant, index));
          opened = true;
        } catch (err) {
          lastError = err;
        }
      }
      if (!opened) {
        failed = true;
        throw lastError;
      }
    }
  };
  // Every worker finishes (or fails) before this returns, so no socket opens afterwards.
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, count) }, worker),
  );
  for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
}

/**
 * Closes every socket and waits (bounded) for the close handshakes.
 * @param {Terminal[]} terminals
 */
async function closeTerminals(terminals) {
  const pending = terminals.filter((t) => !t.closed);
  for (const t of pending) {
    t.onEvent = null;
    t.closing = true;
    try {
      t.ws.close(1000, "bench done");
    } catch {
      // already closing
    }
  }
  const deadline = Date.now() + CLOSE_TIMEOUT_MS;
  while (pending.some((t) => !t.closed) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pending.filter((t) => !t.closed).length;
}

/**
 * Resolves when `matches` has fired once on every socket or the timeout passes.
 * @param {Terminal[]} terminals
 * @param {(frame: any) => boolean} matches
 * @param {number} timeoutMs
 * @returns {{ done: Promise<{ times: (number | undefined)[], received: number }> }}
 */
function awaitOnAll(terminals, matches, timeoutMs) {
  /** @type {(number | undefined)[]} */
  const times = new Array(terminals.length).fill(undefined);
  let received = 0;
  /** @type {(value: { times: (number | undefined)[], received: number }) => void} */
  let finish = () => {};
  const done = new Promise((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(() => finish({ times, received }), timeoutMs);
  const onInterrupt = () => {
    clearTimeout(timer);
    finish({ times, received });
  };
  disturbance.listeners.add(onInterrupt);
  if (disturbance.reason !== null) onInterrupt();
  terminals.forEach((terminal, i) => {
    terminal.onEvent = (frame, at) => {
      if (times[i] !== undefined || !matches(frame)) return;
      times[i] = at;
      received += 1;
      if (received === terminals.length) {
        clearTimeout(timer);
        finish({ times, received });
      }
    };
  });
  return {
    done: done.then((result) => {
      disturbance.listeners.delete(onInterrupt);
      for (const terminal of terminals) terminal.onEvent = null;
      return result;
    }),
  };
}

// ---- one terminal count ----

/**
 * @param {{ base: string, adminToken: string, n: number, orders: number, orderTimeoutMs: number, connectConcurrency: number, live: Set<Terminal[]>, serverCpuMs: () => number | null }} args
 */
async function measure({
  base,
  adminToken,
  n,
  orders,
  orderTimeoutMs,
  connectConcurrency,
  live,
  serverCpuMs,
}) {
  disturbance.reason = null;
  const tenant = await createTenant(base, adminToken, n);
  /** @type {Terminal[]} */
  const terminals = [];
  live.add(terminals);
  try {
    const connectStart = performance.now();
    await openTerminals(base, tenant, n, connectConcurrency, terminals);
    const connectMs = performance.now() - connectStart;
    console.error(`  N=${n}: ${terminals.length} sockets open in ${fmt(connectMs)} ms`);

    /** @type {number[]} */
    const lastLatencies = [];
    /** @type {number[]} */
    const firstLatencies = [];
    /** @type {number[]} */
    const requestTimes = [];
    let timeouts = 0;
    let clientCpuTotal = 0;
    let serverCpuTotal = 0;
    let missed = 0;
    let settleTimeouts = 0;

    for (let i = 0; i < orders; i++) {
      throwIfInterrupted();
      const idempotencyKey = `bench-${randomUUID()}`;
      // Listen before placing: the order_updated may arrive before the response does.
      // Orders go one at a time, so an order_updated seen before the id is known is this one's.
      /** @type {string | null} */
      let placedId = null;
      const settled = awaitOnAll(
        terminals,
        (frame) =>
          frame?.type === "order_updated" &&
          (placedId === null || frame?.data?.order?.id === placedId),
        orderTimeoutMs,
      );
      // Each order from a new customer's address, as in a real rush (README "Rate limits").
      const placed = await api(base, `/v1/stores/${tenant.slug}/orders`, {
        headers: { "idempotency-key": idempotencyKey, "cf-connecting-ip": nextCustomerAddress() },
        body: {
          orderType: "pickup",
          items: [{ menuItemId: tenant.menuItemId, quantity: 1 }],
          customer: { name: "Bench" },
        },
        expect: 201,
      });
      const orderId = /** @type {string} */ (placed.order.id);
      placedId = orderId;
      const settle = await settled.done;
      throwIfInterrupted();
      if (settle.received < terminals.length) {
        settleTimeouts += 1;
        console.error(
          `  N=${n} order ${i + 1}: order_updated reached ${settle.received}/${terminals.length} sockets within ${orderTimeoutMs} ms`,
        );
      }

      const confirmed = awaitOnAll(
        terminals,
        (frame) => frame?.type === "new_order" && frame?.data?.id === orderId,
        orderTimeoutMs,
      );
      const serverCpuBefore = serverCpuMs();
      const clientCpuBefore = process.cpuUsage();
      const t0 = performance.now();
      await api(base, `/v1/admin/${tenant.slug}/orders/${orderId}/mark-paid`, {
        token: tenant.ownerKey,
        body: {},
        expect: 200,
      });
      const requestMs = performance.now() - t0;
      const { times, received } = await confirmed.done;
      throwIfInterrupted();
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const serverCpuAfter = serverCpuMs();
      clientCpuTotal += (clientCpu.user + clientCpu.system) / 1000;
      if (serverCpuBefore !== null && serverCpuAfter !== null) {
        serverCpuTotal += serverCpuAfter - serverCpuBefore;
      } else {
        serverCpuTotal = Number.NaN;
      }
      requestTimes.push(requestMs);
      const got = /** @type {number[]} */ (times.filter((t) => t !== undefined));
      if (got.length > 0) firstLatencies.push(Math.min(...got) - t0);
      if (received === terminals.length) {
        lastLatencies.push(Math.max(...got) - t0);
      } else {
        timeouts += 1;
        missed += terminals.length - received;
        console.error(
          `  N=${n} order ${i + 1}: new_order reached ${received}/${terminals.length} sockets within ${orderTimeoutMs} ms`,
        );
      }
    }

    const unclosed = await closeTerminals(terminals);
    const byAsc = (/** @type {number} */ a, /** @type {number} */ b) => a - b;
    lastLatencies.sort(byAsc);
    firstLatencies.sort(byAsc);
    requestTimes.sort(byAsc);
    return {
      n,
      orders,
      connectMs,
      p50: percentile(lastLatencies, 50),
      p95: percentile(lastLatencies, 95),
      p99: percentile(lastLatencies, 99),
      max: lastLatencies.at(-1) ?? Number.NaN,
      firstP50: percentile(firstLatencies, 50),
      requestP50: percentile(requestTimes, 50),
      clientCpuPerOrder: clientCpuTotal / orders,
      serverCpuPerOrder: serverCpuTotal / orders,
      timeouts,
      missed,
      settleTimeouts,
      unclosed,
    };
  } catch (err) {
    // A request that failed because the server went away is part of the same interruption;
    // the socket closes (or wrangler's reload message) may come a moment after the failure.
    if (!(err instanceof Interrupted) && disturbance.reason === null) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    if (disturbance.reason !== null && !(err instanceof Interrupted)) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new Interrupted(`${disturbance.reason}; then: ${detail}`);
    }
    throw err;
  } finally {
    await closeTerminals(terminals);
    live.delete(terminals);
  }
}

// ---- main ----

async function main() {
  const options = readOptions();
  /** @type {Set<Terminal[]>} */
  const live = new Set();
  /** @type {import("../tools/dev-server.mjs").DevServer | undefined} */
  let server;
  /** @type {string | undefined} */
  let persistDir;
  let cleaning = false;
  const cleanup = async () => {
    if (cleaning) return;
    cleaning = true;
    for (const terminals of live) {
      for (const t of terminals) {
        try {
          t.ws.close();
        } catch {
          // ignore
        }
      }
    }
    await server?.stop();
    if (persistDir) await rm(persistDir, { recursive: true, force: true }).catch(() => {});
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    if (cleaning) process.exit(130); // second Ctrl-C: the exit hook kills what is left
    console.error(`\nbench:fanout: ${signal}, stopping the server…`);
    cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    console.error(`bench:fanout: still running after ${options.maxMinutes} min; giving up`);
    cleanup().finally(() => process.exit(1));
  }, options.maxMinutes * 60_000);
  watchdog.unref();

  const startLoad = os.loadavg();
  console.error(
    `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}`,
  );
  // wrangler's output says when it reloads the Worker (a watched file changed): that drops
  // every socket and restarts the hub, so the terminal count being measured is interrupted.
  let ready = false;
  let reloading = false;
  let reloads = 0;
  let scan = "";
  /** @param {string} chunk */
  const watchOutput = (chunk) => {
    if (options.verbose) process.stderr.write(chunk);
    scan += chunk;
    for (let guard = 0; guard < 1000; guard++) {
      const reloadAt = scan.indexOf(RELOAD_MARK);
      const readyAt = scan.indexOf(RELOADED_MARK);
      if (reloadAt === -1 && readyAt === -1) break;
      if (reloadAt !== -1 && (readyAt === -1 || reloadAt < readyAt)) {
        reloading = true;
        if (ready) {
          reloads += 1;
          interrupt("wrangler dev reloaded the Worker (a watched file changed)");
        }
        scan = scan.slice(reloadAt + RELOAD_MARK.length);
      } else {
        reloading = false;
        scan = scan.slice(readyAt + RELOADED_MARK.length);
      }
    }
    scan = scan.slice(-200);
  };

  try {
    let base;
    let adminToken;
    if (options.url) {
      base = options.url;
      adminToken = /** @type {string} */ (options.adminToken);
    } else {
      adminToken = `bench-admin-${randomUUID()}`;
      persistDir = await mkdtemp(path.join(os.tmpdir(), "orderlane-bench-"));
      const port = await getFreePort();
      const maxN = Math.max(...options.terminals);
      console.error(`starting wrangler dev on 127.0.0.1:${port} (state in ${persistDir})…`);
      server = await startDevServer({
        port,
        persistTo: persistDir,
        vars: {
          ADMIN_TOKEN: adminToken,
          CREDENTIALS_KEY: randomBytes(32).toString("base64"),
          STRIPE_WEBHOOK_SECRET: "whsec_bench_local_secret",
          STRIPE_SECRET_KEY: "",
          MAX_TERMINALS_PER_TENANT: String(Math.max(5000, maxN)),
          // Each measurement opens its N sockets with one fresh tenant's one terminal key, a
          // ticket each, and retries a socket once: the exact per-key and per-tenant limits
          // (sliding minute) are raised to that, not turned off.
          ...Object.fromEntries(
            [
              "TICKETS_PER_KEY_PER_MINUTE",
              "SOCKETS_PER_KEY_PER_MINUTE",
              "SOCKETS_PER_TENANT_PER_MINUTE",
            ].map((name) => [name, String(Math.max(600, maxN * CONNECT_ATTEMPTS))]),
          ),
        },
        log: watchOutput,
      });
      base = server.url;
      ready = true;
      console.error(`wrangler dev ready at ${base}`);
    }

    const results = [];
    for (const n of options.terminals) {
      for (let attempt = 1; ; attempt++) {
        console.error(
          `measuring N=${n} terminals, ${options.orders} orders` +
            `${attempt > 1 ? ` (attempt ${attempt})` : ""}…`,
        );
        try {
          const result = await measure({
            base,
            adminToken,
            n,
            orders: options.orders,
            orderTimeoutMs: options.orderTimeoutMs,
            connectConcurrency: options.connectConcurrency,
            live,
            serverCpuMs: () => (server ? groupCpuMs(server.port) : null),
          });
          results.push({ ...result, attempts: attempt });
          break;
        } catch (err) {
          if (!(err instanceof Interrupted) || attempt > options.retries) throw err;
          console.error(`  N=${n} interrupted: ${err.message}; measuring it again`);
          await waitForServer(base, () => reloading);
        }
      }
    }

    const lines = [
      `Node ${process.version}, ${os.cpus().length} CPUs, ${options.orders} orders per N, ` +
        `${options.url ? `server ${options.url}` : "server: local wrangler dev (workerd)"}`,
      "",
      "| Terminals | Orders | Fan-out p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | First terminal p50 (ms) | mark-paid request p50 (ms) | Timeouts / missed deliveries | Client CPU / order (ms) | Server CPU / order (ms) | Connect all (ms) |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...results.map(
        (r) =>
          `| ${r.n} | ${r.orders} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} | ` +
          `${fmt(r.firstP50)} | ${fmt(r.requestP50)} | ${r.timeouts} / ${r.missed} | ` +
          `${fmt(r.clientCpuPerOrder)} | ${fmt(r.serverCpuPerOrder)} | ${fmt(r.connectMs)} |`,
      ),
    ];
    const load = (/** @type {number[]} */ l) => l.map((x) => x.toFixed(2)).join(", ");
    lines.push(
      "",
      `Load average (1, 5, 15 min): ${load(startLoad)} at start, ${load(os.loadavg())} at end`,
    );
    console.log(lines.join("\n"));
    for (const r of results) {
      if (r.settleTimeouts === 0 && r.unclosed === 0 && r.attempts === 1) continue;
      console.log(
        `\nN=${r.n}: measured on attempt ${r.attempts}; ` +
          `${r.settleTimeouts} order_updated waits timed out; ` +
          `${r.unclosed} sockets did not finish closing within ${CLOSE_TIMEOUT_MS} ms`,
      );
    }
    if (reloads > 0)
      console.log(`\nwrangler dev reloaded the Worker ${reloads} time(s) during the run`);
    process.exitCode = results.some((r) => r.timeouts > 0) ? 1 : 0;
  } catch (err) {
    console.error(`bench:fanout failed: ${err instanceof Error ? err.stack : String(err)}`);
    if (server && !options.verbose) {
      console.error(`--- last wrangler output ---\n${server.output().slice(-4000)}`);
    }
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  // Sockets and keep-alive connections must not keep the process up.
  process.exit(process.exitCode ?? 0);
}

await main();
