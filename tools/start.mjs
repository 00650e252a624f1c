// @ts-check
// `npm start`: a local Orderlane with a seeded demo tenant, ready to click through.
//
//   npm start [-- [--port <port>] [--persist-to <dir>]]
//
// Data lives in .wrangler/state (gitignored), so orders and keys survive restarts; delete
// that directory to start from scratch. `--persist-to` keeps a run's data elsewhere (the
// end-to-end test uses a temporary directory); `npm run pay` only looks in .wrangler/state.
//
// Payments: with no STRIPE_SECRET_KEY in .dev.vars (the default), a local Stripe double runs in
// this process, keeping its PaymentIntents and refunds beside the local data, and the Worker is
// pointed at it; `npm run pay` places a demo order and pays it through the double, which sends
// a signed payment_intent.succeeded to /webhooks/stripe. With a real sk_test_ key, the Worker
// talks to Stripe itself and nothing is started here.
//
// Cron: `wrangler dev` does not fire Cron Triggers, so this process fires the Worker's scheduled
// handler on wrangler.toml's `[triggers] crons` schedule (tools/cron.mjs), as the platform would.

import {
  constants,
  copyFileSync,
  existsSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { startCronScheduler } from "./cron.mjs";
import { PROJECT_ROOT, readCronTriggers, startDevServer, triggerScheduled } from "./dev-server.mjs";
import { DEMO_TENANT, seedDemo } from "./seed-demo.mjs";
import { startStripeDouble } from "./stripe-double/server.mjs";

const USAGE = `Usage: npm start [-- [--port <port>] [--persist-to <dir>]]
  --port <port>        Orderlane's port on 127.0.0.1 (default: PORT, else 8787)
  --persist-to <dir>   where the local data lives (default: .wrangler/state)`;

const options = readOptions();
const DEV_VARS = path.join(PROJECT_ROOT, ".dev.vars");
const DEV_VARS_EXAMPLE = path.join(PROJECT_ROOT, ".dev.vars.example");
const PERSIST_DIR = options.persistTo;
// Beside the data it unlocks: removing .wrangler/state removes both.
const SEED_STATE = path.join(PERSIST_DIR, "demo-seed.json");
// Where `npm run pay` finds this run's Orderlane and Stripe double; removed when we stop.
const PAYMENTS_STATE = path.join(PERSIST_DIR, "stripe-double.json");
// What the Stripe double holds (PaymentIntents, refunds, idempotency keys), kept across runs.
const STRIPE_DOUBLE_STATE = path.join(PERSIST_DIR, "stripe-double/state.json");
// The port stripe-mock and the double's CLI use; any free port when it is taken.
const STRIPE_DOUBLE_PORT = 12111;
// Any sk_test_ key is accepted by the double; this one says where it came from in logs.
const STRIPE_DOUBLE_KEY = "sk_test_orderlane_double";
// Its publishable twin, which storefronts get from GET /v1/stores/:tenant.
const STRIPE_DOUBLE_PUBLISHABLE_KEY = "pk_test_orderlane_double";

/** @type {import("./dev-server.mjs").DevServer | undefined} */
let server;
/** @type {Awaited<ReturnType<typeof startStripeDouble>> | undefined} */
let stripeDouble;
/** @type {import("./cron.mjs").CronScheduler | undefined} */
let cron;
let wrotePaymentsState = false;
let shuttingDown = false;

// Whatever way this process ends, a state file naming it must not outlive it.
process.once("exit", removePaymentsState);

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, () => void shutdown(signal));
}

try {
  await main();
} catch (err) {
  console.error(`\n✖ ${err instanceof Error ? err.message : String(err)}`);
  shuttingDown = true;
  await cron?.stop();
  await server?.stop();
  await stopStripeDouble();
  process.exit(1);
}

async function main() {
  const { port } = options;
  // Read first: a bad expression stops us before anything is started.
  const crons = readCronTriggers();
  const devVars = readDevVars();
  const adminToken = devVars.ADMIN_TOKEN;
  if (!adminToken) throw new Error(`ADMIN_TOKEN is missing from ${relative(DEV_VARS)}`);
  await assertPortFree(port);

  const payments = await preparePayments(devVars, port);
  if (shuttingDown) return;

  console.log(`Starting Orderlane on port ${port} (data in ${relative(PERSIST_DIR)}) …`);
  server = await startDevServer({
    port,
    persistTo: PERSIST_DIR,
    vars: payments.vars,
    log: (chunk) => process.stdout.write(chunk),
    // This process fires the crons; wrangler need not warn that it does not.
    testScheduled: crons.length > 0,
  });
  // A wrangler that dies on its own takes `npm start` down with it.
  server.exited.then((code) => {
    if (shuttingDown) return;
    console.error(`\n✖ wrangler exited unexpectedly (code ${code})`);
    process.exit(1);
  });
  if (shuttingDown) return;

  const keys = await seedDemo(server.url, adminToken, SEED_STATE);
  const example = await exampleLine(server.url);
  writePaymentsState(server.url, payments);
  if (shuttingDown) return;
  cron = crons.length > 0 ? startCron(server.url, crons) : undefined;
  printBanner(server.url, keys, example, payments, crons);
}

/**
 * Reads the command line (and PORT).
 * @returns {{ port: number, persistTo: string }}
 */
function readOptions() {
  const parse = () =>
    parseArgs({
      options: {
        port: { type: "string" },
        "persist-to": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  /** @type {ReturnType<typeof parse>} */
  let parsed;
  try {
    parsed = parse();
  } catch (err) {
    console.error(`✖ ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const text = values.port ?? process.env.PORT ?? "8787";
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    console.error(`✖ the port must be a TCP port number, got "${text}"\n\n${USAGE}`);
    process.exit(2);
  }
  const persistTo = path.resolve(
    values["persist-to"] ?? path.join(PROJECT_ROOT, ".wrangler/state"),
  );
  return { port, persistTo };
}

/**
 * Fires the Worker's scheduled handler on the crons' schedule, as the platform would. The first
 * pass and every failure are reported; the Worker itself logs a "cron pass" line whenever a pass
 * did something.
 * @param {string} url
 * @param {string[]} crons
 */
function startCron(url, crons) {
  /** Expressions whose last pass failed, so a success after them is reported. */
  const failing = new Set();
  let reported = false;
  return startCronScheduler({
    expressions: crons,
    run: async (expression, scheduledTime, signal) => {
      const at = scheduledTime.toISOString().replace(/:00\.000Z$/, "Z");
      let outcome;
      try {
        outcome = await triggerScheduled({ url, cron: expression, scheduledTime, signal });
      } catch (err) {
        if (signal.aborted || shuttingDown) return;
        outcome = err instanceof Error ? err.message : String(err);
      }
      if (outcome === "ok") {
        if (!reported) {
          console.log(
            `cron "${expression}": the scheduled handler ran for ${at} (ok); ` +
              "from now on only failures are reported here",
          );
        } else if (failing.has(expression)) {
          console.log(`cron "${expression}": the scheduled handler ran for ${at} (ok again)`);
        }
        reported = true;
        failing.delete(expression);
        return;
      }
      failing.add(expression);
      console.error(
        `✖ cron "${expression}": the scheduled handler for ${at} failed: ${outcome}` +
          (outcome === "exception" ? " (the Worker's error is above)" : ""),
      );
    },
    onSkip: (expression, scheduledTime, reason) => {
      console.error(
        reason === "running"
          ? `✖ cron "${expression}": skipped ${scheduledTime.toISOString()}, the previous pass is still running`
          : `cron "${expression}": missed ${scheduledTime.toISOString()} while this process was suspended`,
      );
    },
  });
}

/** Copies .dev.vars.example to .dev.vars on first run and returns what it sets. */
function readDevVars() {
  if (!existsSync(DEV_VARS)) {
    copyFileSync(DEV_VARS_EXAMPLE, DEV_VARS, constants.COPYFILE_EXCL);
    console.log(`Created ${relative(DEV_VARS)} from ${relative(DEV_VARS_EXAMPLE)}.`);
  }
  return parseEnv(readFileSync(DEV_VARS, "utf8"));
}

/**
 * @typedef {object} Payments
 * @property {"double" | "stripe"} mode
 * @property {Record<string, string>} vars passed to wrangler as --var (they beat .dev.vars)
 * @property {string} [doubleUrl] the Stripe double's base URL (mode "double")
 * @property {string} webhookUrl where Stripe's events must arrive
 * @property {boolean} [live] a sk_live_ key is configured (mode "stripe")
 */

/**
 * Without a Stripe key, starts the Stripe double (webhooks to the Worker about to start on
 * `port`, signed with STRIPE_WEBHOOK_SECRET) and returns the vars that point the Worker at it.
 * With a key, starts nothing: the Worker talks to Stripe.
 * @param {Record<string, string | undefined>} devVars
 * @param {number} port Orderlane's port
 * @returns {Promise<Payments>}
 */
async function preparePayments(devVars, port) {
  const webhookUrl = `http://127.0.0.1:${port}/webhooks/stripe`;
  const secretKey = devVars.STRIPE_SECRET_KEY?.trim() ?? "";
  if (secretKey) {
    return { mode: "stripe", vars: {}, webhookUrl, live: secretKey.startsWith("sk_live_") };
  }
  const webhookSecret = devVars.STRIPE_WEBHOOK_SECRET;
  if (!webhookSecret) {
    throw new Error(
      `STRIPE_WEBHOOK_SECRET is missing from ${relative(DEV_VARS)} (the Stripe double signs its ` +
        `webhooks with it; ${relative(DEV_VARS_EXAMPLE)} has a local value)`,
    );
  }
  const doublePort = (await isPortFree(STRIPE_DOUBLE_PORT)) ? STRIPE_DOUBLE_PORT : 0;
  stripeDouble = await startStripeDouble({
    port: doublePort,
    webhookSecret,
    webhookUrl,
    stateFile: STRIPE_DOUBLE_STATE,
  });
  console.log(
    `Stripe double listening on ${stripeDouble.url} (webhooks to ${webhookUrl}; ` +
      `${stripeDouble.paymentIntents.size} PaymentIntent(s) kept in ${relative(STRIPE_DOUBLE_STATE)}).`,
  );
  return {
    mode: "double",
    vars: {
      STRIPE_SECRET_KEY: STRIPE_DOUBLE_KEY,
      STRIPE_API_BASE: stripeDouble.url,
      STRIPE_PUBLISHABLE_KEY: STRIPE_DOUBLE_PUBLISHABLE_KEY,
    },
    doubleUrl: stripeDouble.url,
    webhookUrl,
  };
}

/**
 * Tells `npm run pay` where this run's Orderlane and Stripe double are.
 * @param {string} url Orderlane's base URL
 * @param {Payments} payments
 */
function writePaymentsState(url, payments) {
  const state = {
    pid: process.pid,
    orderlaneUrl: url,
    mode: payments.mode,
    stripeDoubleUrl: payments.doubleUrl ?? null,
    webhookUrl: payments.webhookUrl,
  };
  writeFileSync(PAYMENTS_STATE, `${JSON.stringify(state, null, 2)}\n`);
  wrotePaymentsState = true;
}

/** Removes the state file if this process wrote it (synchronous: also runs on "exit"). */
function removePaymentsState() {
  if (!wrotePaymentsState) return;
  wrotePaymentsState = false;
  try {
    const state = JSON.parse(readFileSync(PAYMENTS_STATE, "utf8"));
    if (state?.pid === process.pid) unlinkSync(PAYMENTS_STATE);
  } catch {
    // Already gone, or replaced by another run: not ours to remove.
  }
}

/** Stops the in-process Stripe double, if running; never waits long on a lingering client. */
async function stopStripeDouble() {
  const double = stripeDouble;
  stripeDouble = undefined;
  if (!double) return;
  await Promise.race([double.stop(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
}

/**
 * @param {number} port
 * @returns {Promise<boolean>} whether 127.0.0.1:`port` can be listened on right now
 */
async function isPortFree(port) {
  try {
    await assertPortFree(port);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fails early with a useful message instead of a wrangler stack trace.
 * @param {number} port
 * @returns {Promise<void>}
 */
function assertPortFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err) => {
      const inUse = /** @type {NodeJS.ErrnoException} */ (err).code === "EADDRINUSE";
      reject(
        inUse
          ? new Error(`port ${port} is already in use; try npm start -- --port ${port + 1}`)
          : err,
      );
    });
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/**
 * A real menu item (one with a modifier if possible) for the curl example.
 * @param {string} url
 * @returns {Promise<ExampleLine>}
 */
async function exampleLine(url) {
  const res = await fetch(`${url}/v1/stores/${DEMO_TENANT}/menu`);
  if (!res.ok) throw new Error(`GET the demo menu answered ${res.status}: ${await res.text()}`);
  /** @type {{ items: { id: string, name: string, modifiers: { id: string, name: string }[] }[] }} */
  const menu = await res.json();
  const item = menu.items.find((i) => i.modifiers.length > 0) ?? menu.items[0];
  if (!item) throw new Error("the demo menu is empty");
  return {
    menuItemId: item.id,
    quantity: 1,
    modifierIds: item.modifiers.slice(0, 1).map((m) => m.id),
    label: [item.name, ...item.modifiers.slice(0, 1).map((m) => m.name)].join(", "),
  };
}

/**
 * @typedef {object} ExampleLine
 * @property {string} menuItemId
 * @property {number} quantity
 * @property {string[]} modifierIds
 * @property {string} label what the line is, for people
 */

/**
 * @param {string} url
 * @param {Awaited<ReturnType<typeof seedDemo>>} keys
 * @param {ExampleLine} example
 * @param {Payments} payments
 * @param {string[]} crons
 */
function printBanner(url, keys, example, payments, crons) {
  const { label, ...line } = example;
  const draft = {
    orderType: "pickup",
    items: [line],
    customer: { name: "Ada Lovelace" },
  };
  const seeded = keys.created
    ? "Seeded a fresh demo tenant."
    : "Reusing the demo tenant and data from an earlier run.";
  const rule = "─".repeat(78);
  const text = [
    "",
    rule,
    `  Orderlane is running at ${url}`,
    "",
    `  Storefront menu   ${url}/v1/stores/${DEMO_TENANT}/menu`,
    `  API reference     ${url}/docs`,
    `  Terminal          ${url}/terminal/?tenant=${DEMO_TENANT} (sign in with the terminal key)`,
    ...cronLines(crons),
    "",
    `  Keys for ${DEMO_TENANT} (saved in ${relative(SEED_STATE)}):`,
    `    owner     ${keys.ownerKey}`,
    `    staff     ${keys.staffKey}`,
    `    terminal  ${keys.terminalKey}`,
    `  Platform admin token: ADMIN_TOKEN in ${relative(DEV_VARS)}`,
    "",
    `  Place an order (${label}):`,
    "",
    `    curl -sS -X POST ${url}/v1/stores/${DEMO_TENANT}/orders \\`,
    `      -H "Content-Type: application/json" \\`,
    `      -H "Idempotency-Key: demo-$(date +%s%N)" \\`,
    `      -d '${JSON.stringify(draft)}'`,
    "",
    ...paymentLines(url, payments),
    "",
    "  Discount code WELCOME10 takes 10% off orders from $15.00.",
    `  ${seeded} Press Ctrl-C to stop.`,
    rule,
    "",
  ];
  console.log(text.join("\n"));
}

/**
 * The cron schedule this run follows.
 * @param {string[]} crons
 * @returns {string[]}
 */
function cronLines(crons) {
  if (crons.length === 0) {
    return ["  Cron              none ([triggers] crons in wrangler.toml is empty)"];
  }
  const next = cron
    ?.nextRun()
    ?.toISOString()
    .replace("T", " ")
    .replace(/:00\.000Z$/, " UTC");
  return [
    `  Cron              ${crons.map((c) => `"${c}"`).join(", ")} (wrangler.toml [triggers], UTC):`,
    `                    npm start fires the scheduled handler${next ? `; next at ${next}` : ""}`,
  ];
}

/**
 * How payments work in this run, and how to pay a demo order.
 * @param {string} url
 * @param {Payments} payments
 * @returns {string[]}
 */
function paymentLines(url, payments) {
  const port = new URL(url).port;
  const pay = port === "8787" ? "npm run pay" : `PORT=${port} npm run pay`;
  if (payments.mode === "double") {
    return [
      `  Payments: the local Stripe double at ${payments.doubleUrl}; its webhooks go to`,
      `  ${payments.webhookUrl}, signed with STRIPE_WEBHOOK_SECRET.`,
      `  Place and pay a demo order, then watch it arrive on the terminal:`,
      "",
      `    ${pay}`,
      "",
      "  To pay an order you placed yourself (the curl above answers payment.clientSecret):",
      `    ${pay} -- <order id> --client-secret <payment.clientSecret>`,
    ];
  }
  return [
    payments.live
      ? "  Payments: Stripe LIVE mode (STRIPE_SECRET_KEY is sk_live_…): real cards, real money!"
      : "  Payments: Stripe test mode (STRIPE_SECRET_KEY in .dev.vars); no double is running.",
    "  Stripe's webhooks need the Stripe CLI, in another terminal:",
    "",
    `    stripe listen --forward-to ${payments.webhookUrl}`,
    "",
    `  and the whsec_… it prints as STRIPE_WEBHOOK_SECRET in ${relative(DEV_VARS)} (then restart).`,
    `  \`${pay}\` places a demo order and prints the Stripe CLI command that pays it.`,
  ];
}

/**
 * Stops wrangler (and its workerd) before exiting, whatever stage startup reached.
 * @param {NodeJS.Signals} signal
 */
async function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`\nReceived ${signal}, stopping Orderlane …`);
  await cron?.stop();
  // Before the server handle exists, dev-server's exit hook kills the half-started wrangler.
  await server?.stop();
  await stopStripeDouble();
  process.exit(0);
}

/** @param {string} file */
function relative(file) {
  return path.relative(process.cwd(), file) || ".";
}
