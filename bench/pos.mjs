// POS submission benchmark: how long a confirmed order takes to reach the restaurant's POS.
//
//   npm run bench:pos -- [--orders 100] [--fault-rate 0.3] [--concurrency 1] [--seed N]
//                        [--settle-timeout-s 180] [--max-minutes 10] [--verbose]
//
// It starts the POS vendor double (Square) in this process and its own `wrangler dev --local`
// (workerd, local D1 and queues) on a free loopback port with a fresh temporary state directory
// and POS_SQUARE_BASE_URL pointed at the double, and stops both (and removes the directory) when
// done, on error, on Ctrl-C and when --max-minutes runs out.
//
// Two scenarios, each on a fresh tenant with Square connected (autoSync) and one mapped item:
//   (a) no faults;
//   (b) --fault-rate of the CreateOrder calls fail retryably (500/503/429 with Retry-After 1, or
//       accepted-then-502), as a seeded, shuffled plan queued in the double before confirming.
// The orders are placed first (not measured). Then they are confirmed with `mark-paid`,
// --concurrency at a time (default 1: one after the other, the next sent as soon as the previous
// answers, without waiting for its submission). t0 = Date.now() just before each `mark-paid` is
// sent; the double stamps each request's arrival with Date.now() in this same process. Latency =
// arrival of the CreateOrder call (POST /v2/orders, idempotency_key = our order id) - t0:
//   - "successful call": the last CreateOrder call for the order, the one Orderlane got its 2xx
//     from (no call follows a success), so it includes every failed try and backoff;
//   - "first call": the first CreateOrder call for the order (the queue + consumer path only).
// A scenario ends when every order is `synced` or `failed` (polled every 250 ms), bounded by
// --settle-timeout-s. Percentiles are nearest-rank.

import os from "node:os";
import { parseArgs } from "node:util";
import {
  countByPosStatus,
  createSquareTenant,
  faultPlan,
  inPool,
  isFault,
  markPaid,
  percentile,
  placeOrder,
  squareCreateCalls,
  startPosStack,
  syncHistory,
  waitForFinalPosStatus,
} from "../test/e2e/pos-harness.ts";
import { benchCli } from "./cli.mjs";

const HELP = `Usage: npm run bench:pos -- [options]

  --orders N            orders per scenario (default 100; under 100 the p99 is the max)
  --fault-rate R        share of CreateOrder calls failing retryably in scenario (b) (default 0.3)
  --concurrency N       mark-paid requests in flight (default 1: one after the other)
  --seed N              seed of the fault plan (default 20261117)
  --settle-timeout-s S  longest wait for a scenario's orders to be synced (default 180)
  --max-minutes M       hard limit for the whole run (default 10)
  --verbose             show wrangler's output
  --help                this text`;

const PLACE_CONCURRENCY = 8;

const { numberOption } = benchCli("pos");

function readOptions() {
  const { values } = parseArgs({
    options: {
      orders: { type: "string" },
      "fault-rate": { type: "string" },
      concurrency: { type: "string" },
      seed: { type: "string" },
      "settle-timeout-s": { type: "string" },
      "max-minutes": { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  return {
    orders: numberOption(values.orders, 100, 1, 2000, "orders"),
    faultRate: numberOption(values["fault-rate"], 0.3, 0, 0.9, "fault-rate", false),
    concurrency: numberOption(values.concurrency, 1, 1, 50, "concurrency"),
    seed: numberOption(values.seed, 20_261_117, 0, 2 ** 31, "seed"),
    settleTimeoutS: numberOption(values["settle-timeout-s"], 180, 5, 3600, "settle-timeout-s"),
    maxMinutes: numberOption(values["max-minutes"], 10, 1, 240, "max-minutes"),
    verbose: values.verbose ?? false,
  };
}

/** @param {number} ms */
function fmt(ms) {
  if (!Number.isFinite(ms)) return "–";
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

/** @param {number[]} values */
function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * One scenario on a fresh tenant.
 * @param {import("../test/e2e/pos-harness.ts").PosStack} stack
 * @param {{ name: string, orders: number, faultRate: number, concurrency: number, seed: number, settleTimeoutS: number }} s
 */
async function runScenario(stack, s) {
  const tenant = await createSquareTenant(stack, "bench");
  const ids = await inPool(s.orders, PLACE_CONCURRENCY, () => placeOrder(stack, tenant));
  stack.double.reset();
  const plan = s.faultRate > 0 ? faultPlan(s.orders, s.faultRate, s.seed) : [];
  const injected = plan.filter(isFault).length;
  if (plan.length > 0) stack.double.inject("square", plan);

  /** @type {Map<string, number>} */
  const t0 = new Map();
  /** @type {number[]} */
  const requestMs = [];
  const started = Date.now();
  await inPool(ids.length, s.concurrency, async (i) => {
    const id = /** @type {string} */ (ids[i]);
    const sent = Date.now();
    t0.set(id, sent);
    const order = await markPaid(stack, tenant, id);
    requestMs.push(Date.now() - sent);
    if (order.posStatus !== "queued") {
      throw new Error(`order ${id} was confirmed with posStatus ${order.posStatus}, not queued`);
    }
  });
  const confirmMs = Date.now() - started;
  const settle = await waitForFinalPosStatus(stack, tenant, ids, {
    timeoutMs: s.settleTimeoutS * 1000,
    pollMs: 250,
  });

  /** @type {Map<string, { first: number, last: number, calls: number }>} */
  const calls = new Map();
  for (const c of squareCreateCalls(stack.double)) {
    const seen = calls.get(c.orderId);
    if (seen) {
      seen.last = c.at;
      seen.calls += 1;
    } else calls.set(c.orderId, { first: c.at, last: c.at, calls: 1 });
  }
  /** @type {number[]} */
  const toSuccess = [];
  /** @type {number[]} */
  const toFirst = [];
  let retriedOrders = 0;
  let totalCalls = 0;
  let lastArrival = started;
  for (const id of ids) {
    const c = calls.get(id);
    const sent = /** @type {number} */ (t0.get(id));
    if (!c) continue;
    totalCalls += c.calls;
    if (c.calls > 1) retriedOrders += 1;
    toFirst.push(c.first - sent);
    if (settle.orders.get(id)?.posStatus === "synced") toSuccess.push(c.last - sent);
    lastArrival = Math.max(lastArrival, c.last);
  }
  const squareOrders = [...stack.double.orders("square").values()];
  const distinctReferences = new Set(squareOrders.map((o) => o.reference_id)).size;
  const history = await syncHistory(stack, tenant);
  const retryableAttempts = history.filter((a) => a.status === "retryable_error").length;
  return {
    ...s,
    injected,
    counts: countByPosStatus(settle.orders.values()),
    settled: settle.settled,
    synced: toSuccess.length,
    withoutCall: ids.length - calls.size,
    squareOrders: squareOrders.length,
    distinctReferences,
    totalCalls,
    retriedOrders,
    retryableAttempts,
    success: stats(toSuccess),
    first: stats(toFirst),
    request: stats(requestMs),
    confirmMs,
    spanMs: lastArrival - started,
  };
}

async function main() {
  const options = readOptions();
  if (options.orders < 100) console.error("bench:pos: fewer than 100 orders: the p99 is the max");
  /** @type {import("../test/e2e/pos-harness.ts").PosStack | undefined} */
  let stack;
  let cleaning = false;
  const cleanup = async () => {
    if (cleaning) return;
    cleaning = true;
    await stack?.stop();
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    if (cleaning) process.exit(130); // second Ctrl-C: dev-server's exit hook kills what is left
    console.error(`\nbench:pos: ${signal}, stopping…`);
    cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    console.error(`bench:pos: still running after ${options.maxMinutes} min; giving up`);
    cleanup().finally(() => process.exit(1));
  }, options.maxMinutes * 60_000);
  watchdog.unref();

  const machine =
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}`;
  console.error(machine);
  const startLoad = os.loadavg();
  try {
    console.error("starting the POS double and wrangler dev…");
    stack = await startPosStack({
      posTimeoutMs: 3000,
      log: options.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    console.error(
      `wrangler dev ready at ${stack.url}; Square double at ${stack.double.baseUrl("square")}`,
    );

    const scenarios = [
      { name: "(a) no faults", faultRate: 0 },
      {
        name: `(b) ${Math.round(options.faultRate * 100)}% retryable faults`,
        faultRate: options.faultRate,
      },
    ];
    const results = [];
    for (const scenario of scenarios) {
      console.error(`measuring ${scenario.name}, ${options.orders} orders…`);
      const result = await runScenario(stack, {
        ...scenario,
        orders: options.orders,
        concurrency: options.concurrency,
        seed: options.seed,
        settleTimeoutS: options.settleTimeoutS,
      });
      console.error(
        `  ${JSON.stringify(result.counts)}; ${result.totalCalls} CreateOrder calls, ` +
          `${result.injected} faults injected, ${result.retriedOrders} orders retried`,
      );
      results.push(result);
    }

    const confirmed =
      options.concurrency === 1
        ? "confirmed one at a time (each mark-paid sent when the previous answered)"
        : `confirmed ${options.concurrency} at a time`;
    const lines = [
      `${machine}; ${options.orders} orders per scenario, ${confirmed}; ` +
        "server: local wrangler dev (workerd, local queue)",
      "",
      "| Scenario | Orders synced | CreateOrder calls (faulted) | Orders retried | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | First call p50 / p95 / max (ms) | mark-paid p50 (ms) | Last order at POS after (s) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...results.map(
        (r) =>
          `| ${r.name} | ${r.synced}/${r.orders} | ${r.totalCalls} (${r.injected}) | ${r.retriedOrders} | ` +
          `${fmt(r.success.p50)} | ${fmt(r.success.p95)} | ${fmt(r.success.p99)} | ${fmt(r.success.max)} | ` +
          `${fmt(r.first.p50)} / ${fmt(r.first.p95)} / ${fmt(r.first.max)} | ${fmt(r.request.p50)} | ` +
          `${(r.spanMs / 1000).toFixed(1)} |`,
      ),
      "",
      "p50–max: mark-paid sent → the successful CreateOrder call reaches the double (retries and backoff included).",
    ];
    const load = (/** @type {number[]} */ l) => l.map((x) => x.toFixed(2)).join(", ");
    lines.push(
      `Load average (1, 5, 15 min): ${load(startLoad)} at start, ${load(os.loadavg())} at end`,
    );
    const problems = [];
    for (const r of results) {
      if (!r.settled || r.synced !== r.orders)
        problems.push(`${r.name}: not all orders synced: ${JSON.stringify(r.counts)}`);
      if (r.withoutCall > 0)
        problems.push(`${r.name}: ${r.withoutCall} orders never reached the double`);
      if (r.squareOrders !== r.orders || r.distinctReferences !== r.orders)
        problems.push(
          `${r.name}: the double holds ${r.squareOrders} orders (${r.distinctReferences} distinct reference_id) for ${r.orders}`,
        );
    }
    if (stack.reloads() > 0)
      problems.push(
        `wrangler reloaded the Worker ${stack.reloads()} time(s) (a watched file changed): the run is void`,
      );
    if (problems.length > 0) lines.push("", ...problems.map((p) => `PROBLEM: ${p}`));
    console.log(lines.join("\n"));
    process.exitCode = problems.length > 0 ? 1 : 0;
  } catch (err) {
    console.error(`bench:pos failed: ${err instanceof Error ? err.stack : String(err)}`);
    if (stack && !options.verbose) {
      console.error(`--- last wrangler output ---\n${stack.server.output().slice(-4000)}`);
    }
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  // Keep-alive connections must not keep the process up.
  process.exit(process.exitCode ?? 0);
}

await main();
