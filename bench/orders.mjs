// Order creation benchmark: how many storefront orders per second the platform takes, and how
// long each takes to answer.
//
//   npm run bench:orders -- [--orders 500] [--concurrency 1,10] [--warmup 50] [--max-minutes 10]
//                           [--verbose]
//
// It starts the POS vendor double (Square) in this process and its own `wrangler dev --local`
// (workerd, local D1) on a free loopback port with a fresh temporary state directory, and stops
// both (and removes the directory) when done, on error, on Ctrl-C and when --max-minutes runs
// out. One tenant with Square connected (autoSync, so order creation reads the integration as in
// production) and one mapped item. --warmup orders are placed first and not measured (the
// isolate is warm afterwards, as in production). Then, per concurrency C, --orders orders are
// placed with C requests in flight (each a new Idempotency-Key from its own customer address, so
// the per-client rate limit is not what is measured). Latency = answer received - request sent,
// in this process; throughput = orders / wall time of the run. Percentiles are nearest-rank.

import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  createSquareTenant,
  inPool,
  percentile,
  placeOrder,
  startPosStack,
} from "../test/e2e/pos-harness.ts";
import { benchCli } from "./cli.mjs";

const HELP = `Usage: npm run bench:orders -- [options]

  --orders N          orders placed per concurrency (default 500)
  --concurrency LIST  requests in flight, one run per value (default 1,10)
  --warmup N          orders placed first, not measured (default 50)
  --max-minutes M     hard limit for the whole run (default 10)
  --verbose           show wrangler's output
  --help              this text`;

const { fail, numberOption: intOption, guardRun } = benchCli("orders");

function readOptions() {
  const { values } = parseArgs({
    options: {
      orders: { type: "string" },
      concurrency: { type: "string" },
      warmup: { type: "string" },
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
  const concurrency = (values.concurrency ?? "1,10")
    .split(",")
    .map((c) => intOption(c.trim(), 1, 1, 100, "concurrency"));
  return {
    orders: intOption(values.orders, 500, 1, 20_000, "orders"),
    concurrency,
    warmup: intOption(values.warmup, 50, 0, 10_000, "warmup"),
    maxMinutes: intOption(values["max-minutes"], 10, 1, 240, "max-minutes"),
    verbose: values.verbose ?? false,
  };
}

/** @param {number} ms */
function fmt(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

async function main() {
  const options = readOptions();
  /** @type {import("../test/e2e/pos-harness.ts").PosStack | undefined} */
  let stack;
  const cleanup = guardRun(options.maxMinutes, async () => stack?.stop());

  console.error(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), ` +
      `load average ${os.loadavg()[0].toFixed(2)} at start`,
  );
  try {
    stack = await startPosStack({
      log: options.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    const running = stack;
    const tenant = await createSquareTenant(running, "orders");
    await inPool(options.warmup, 5, () => placeOrder(running, tenant));
    const rows = [];
    for (const concurrency of options.concurrency) {
      /** @type {number[]} */
      const latencies = [];
      const started = performance.now();
      await inPool(options.orders, concurrency, async () => {
        const sent = performance.now();
        await placeOrder(running, tenant);
        latencies.push(performance.now() - sent);
      });
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      rows.push({
        concurrency,
        orders: options.orders,
        perSecond: options.orders / seconds,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        max: latencies.at(-1) ?? 0,
      });
      console.error(
        `concurrency ${concurrency}: ${(options.orders / seconds).toFixed(1)} orders/s`,
      );
    }
    if (stack.reloads() > 0) fail("wrangler reloaded the Worker during the run: it is void");
    console.log("| Concurrency | Orders | Orders/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |");
    console.log("| ----------: | -----: | -------: | -------: | -------: | -------: | -------: |");
    for (const r of rows) {
      console.log(
        `| ${r.concurrency} | ${r.orders} | ${r.perSecond.toFixed(1)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} |`,
      );
    }
    console.error(`load average ${os.loadavg()[0].toFixed(2)} at end`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
