// @ts-check
// `npm run pay`: places a demo order at the Orderlane `npm start` runs and pays it through the
// local Stripe double, then follows the order until the demo POS has it.
//
//   npm run pay                                          place a demo order and pay it
//   npm run pay -- <order id> --client-secret <secret>   pay an order placed some other way
//
// Paying means asking the double (POST /_control/payment_intents/<id>/succeed) to do what a
// customer's card would: the PaymentIntent succeeds and the double sends a signed
// payment_intent.succeeded to the Worker's /webhooks/stripe, which confirms the order and queues it
// for the POS. Orderlane's port is PORT (else the one `npm start` recorded, else 8787).

import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEMO_TENANT } from "./seed-demo.mjs";

// Not imported from dev-server.mjs, which installs process-wide exit and signal hooks.
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STATE_DIR = path.join(PROJECT_ROOT, ".wrangler/state");
const PAYMENTS_STATE = path.join(STATE_DIR, "stripe-double.json");
const SEED_STATE = path.join(STATE_DIR, "demo-seed.json");
/** Where the double listens when `npm start` did not say (its CLI's default). */
const DEFAULT_DOUBLE_URL = "http://127.0.0.1:12111";
/** The double accepts any sk_test_ key; the same one `npm start` gives the Worker. */
const DOUBLE_KEY = "sk_test_orderlane_double";
const REQUEST_TIMEOUT_MS = 20_000;
/** How long the payment webhook may take to confirm the order. */
const PAYMENT_TIMEOUT_MS = 15_000;
/** How long to keep watching the POS take the order once it is paid (retries take seconds). */
const POS_TIMEOUT_MS = 30_000;
const POLL_MS = 300;

const USAGE = `Usage:
  npm run pay                                          place a demo order and pay it
  npm run pay -- <order id> --client-secret <secret>   pay an order you placed (the secret is
                                                       payment.clientSecret in its 201 answer)
Options:
  --client-secret <pi_…_secret_…>  the order's PaymentIntent client secret
  --token <accessToken>            follow the order with its access token (default: the demo
                                   staff key from ${path.relative(process.cwd(), SEED_STATE)})
Environment: PORT, Orderlane's port (default: the one npm start recorded, else 8787).`;

class UsageError extends Error {}

try {
  await main();
} catch (err) {
  console.error(`\n✖ ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof UsageError) console.error(`\n${USAGE}`);
  process.exit(1);
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "client-secret": { type: "string" },
      token: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length > 1) throw new UsageError("at most one order id");

  const run = readRunState();
  const baseUrl = orderlaneUrl(run);
  const api = client(baseUrl);
  await api.reachable();

  /** @type {OrderRef} */
  let ref;
  /** @type {string} */
  let clientSecret;
  const [orderId] = positionals;
  if (orderId) {
    const secret = values["client-secret"];
    if (!secret) {
      throw new UsageError(
        `paying order ${orderId} needs its client secret (payment.clientSecret in the answer ` +
          "that placed it); or run `npm run pay` alone to place and pay a new demo order",
      );
    }
    paymentIntentOf(secret); // a malformed secret fails before anything is fetched
    clientSecret = secret;
    ref = { id: orderId, token: values.token };
    const order = await fetchOrder(api, ref);
    console.log(`Order #${order.number} (${order.id}), ${money(order.total)}.`);
  } else {
    if (values["client-secret"]) throw new UsageError("--client-secret needs an order id");
    const placed = await placeDemoOrder(api);
    ref = { id: placed.order.id, token: placed.accessToken };
    if (placed.payment.provider !== "stripe" || !placed.payment.clientSecret) {
      throw new Error(
        `the Worker placed order #${placed.order.number} without a PaymentIntent (payment ` +
          `provider "${placed.payment.provider}"): it has no STRIPE_SECRET_KEY. npm start gives ` +
          "it the Stripe double's key; is this Orderlane running under npm start (with " +
          "Stripe payments in the Worker)?",
      );
    }
    clientSecret = placed.payment.clientSecret;
  }

  const paymentIntentId = paymentIntentOf(clientSecret);
  if (run?.mode === "stripe") {
    printStripeInstructions(paymentIntentId, baseUrl);
    return;
  }
  await payWithDouble(run?.stripeDoubleUrl ?? DEFAULT_DOUBLE_URL, paymentIntentId, ref.id, !run);
  await follow(api, ref);
  printTerminalHint(baseUrl);
}

// ---- where things run ----

/**
 * @typedef {object} RunState what `npm start` wrote for this run
 * @property {number} pid
 * @property {string} orderlaneUrl
 * @property {"double" | "stripe"} mode
 * @property {string | null} stripeDoubleUrl
 * @property {string} webhookUrl
 */

/** @returns {RunState | undefined} the running `npm start`'s state, if there is one */
function readRunState() {
  if (!existsSync(PAYMENTS_STATE)) return undefined;
  try {
    /** @type {RunState} */
    const state = JSON.parse(readFileSync(PAYMENTS_STATE, "utf8"));
    return isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** @param {unknown} pid */
function isAlive(pid) {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === "EPERM";
  }
}

/** @param {RunState | undefined} run */
function orderlaneUrl(run) {
  const raw = process.env.PORT;
  if (raw) {
    const port = Number(raw);
    if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
      throw new UsageError(`PORT must be a TCP port number, got "${raw}"`);
    }
    return `http://127.0.0.1:${port}`;
  }
  return run?.orderlaneUrl ?? "http://127.0.0.1:8787";
}

// ---- Orderlane ----

/**
 * @typedef {{ amount: number, currency: string }} Money
 * @typedef {object} Order
 * @property {string} id
 * @property {number} number
 * @property {string} status
 * @property {string} paymentStatus
 * @property {string} posStatus
 * @property {Money} total
 * @typedef {{ id: string, token?: string | undefined }} OrderRef
 * @typedef {{ id: string, name: string, modifiers: { id: string, name: string }[] }} MenuItem
 * @typedef {object} Placed
 * @property {Order} order
 * @property {string} accessToken
 * @property {{ provider: string, clientSecret: string | null }} payment
 */

/**
 * @typedef {object} Api
 * @property {() => Promise<void>} reachable
 * @property {(method: string, urlPath: string, init?: { body?: unknown, headers?: Record<string, string> }) => Promise<{ status: number, body: any }>} call
 */

/**
 * A small JSON client for Orderlane that turns "nothing listens there" into a useful message.
 * @param {string} baseUrl
 * @returns {Api}
 */
function client(baseUrl) {
  /** @type {Api["call"]} */
  const call = async (method, urlPath, init = {}) => {
    let res;
    try {
      res = await fetch(`${baseUrl}${urlPath}`, {
        method,
        headers: {
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Error(
        `Orderlane does not answer at ${baseUrl} (${causeOf(err)}). Is \`npm start\` running? ` +
          "If it runs on another port, set PORT (e.g. PORT=8788 npm run pay).",
      );
    }
    const text = await res.text();
    /** @type {any} */
    let body = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: keep the text for the error message.
    }
    return { status: res.status, body };
  };
  return {
    call,
    reachable: async () => {
      const { status } = await call("GET", "/openapi.json");
      if (status !== 200) {
        throw new Error(
          `${baseUrl} answered ${status} to GET /openapi.json: that is not Orderlane (is \`npm start\` running on this port?)`,
        );
      }
    },
  };
}

/**
 * Reads the demo menu and places a pickup order of two lines (one with a modifier).
 * @param {Api} api
 * @returns {Promise<Placed>}
 */
async function placeDemoOrder(api) {
  const menu = await api.call("GET", `/v1/stores/${DEMO_TENANT}/menu`);
  if (menu.status === 404) {
    throw new Error(`there is no ${DEMO_TENANT} tenant here; npm start seeds it when it starts`);
  }
  expect(menu, 200, `GET /v1/stores/${DEMO_TENANT}/menu`);
  /** @type {MenuItem[]} */
  const items = menu.body.items;
  const main = items.find((i) => i.modifiers.length > 0) ?? items[0];
  if (!main) throw new Error(`the ${DEMO_TENANT} menu has no available items`);
  const side = items.find((i) => i.id !== main.id && i.modifiers.length === 0);
  const lines = [
    { menuItemId: main.id, quantity: 1, modifierIds: main.modifiers.slice(0, 1).map((m) => m.id) },
    ...(side ? [{ menuItemId: side.id, quantity: 1, modifierIds: [] }] : []),
  ];
  const label = [
    [main.name, ...main.modifiers.slice(0, 1).map((m) => m.name)].join(" + "),
    ...(side ? [side.name] : []),
  ].join(", ");

  const placed = await api.call("POST", `/v1/stores/${DEMO_TENANT}/orders`, {
    headers: { "idempotency-key": `demo-pay-${randomUUID()}` },
    body: { orderType: "pickup", items: lines, customer: { name: "Ada Lovelace" } },
  });
  expect(placed, 201, `POST /v1/stores/${DEMO_TENANT}/orders`);
  /** @type {Placed} */
  const body = placed.body;
  console.log(
    `Placed order #${body.order.number} (${body.order.id}): ${label}, ${money(body.order.total)}.`,
  );
  return body;
}

/**
 * The order as the storefront (with its access token) or the demo staff key sees it.
 * @param {Api} api
 * @param {OrderRef} ref
 * @returns {Promise<Order>}
 */
async function fetchOrder(api, ref) {
  const id = encodeURIComponent(ref.id);
  if (ref.token) {
    const what = `GET /v1/stores/${DEMO_TENANT}/orders/${ref.id}`;
    const res = await api.call(
      "GET",
      `/v1/stores/${DEMO_TENANT}/orders/${id}?token=${encodeURIComponent(ref.token)}`,
    );
    if (res.status === 404) throw new Error(`${what}: no such order, or the token is not its own`);
    expect(res, 200, what);
    return res.body.order;
  }
  const staffKey = readStaffKey();
  const what = `GET /v1/admin/${DEMO_TENANT}/orders/${ref.id}`;
  const res = await api.call("GET", `/v1/admin/${DEMO_TENANT}/orders/${id}`, {
    headers: { authorization: `Bearer ${staffKey}` },
  });
  if (res.status === 404) throw new Error(`${what}: ${DEMO_TENANT} has no order ${ref.id}`);
  if (res.status === 401) {
    throw new Error(
      `${what} refused the staff key from ${relative(SEED_STATE)}; pass --token <accessToken>`,
    );
  }
  expect(res, 200, what);
  return res.body.order;
}

/** The demo staff key `npm start` saved, to follow an order placed elsewhere. */
function readStaffKey() {
  try {
    const key = JSON.parse(readFileSync(SEED_STATE, "utf8")).staffKey;
    if (typeof key === "string" && key) return key;
  } catch {
    // Fall through to the error below.
  }
  throw new Error(
    `no demo staff key in ${relative(SEED_STATE)} to follow the order with; pass --token <accessToken>`,
  );
}

/**
 * Polls the order and prints each change: until it is paid (or stops waiting for payment), then
 * until the POS has it (or gave up), each phase bounded.
 * @param {Api} api
 * @param {OrderRef} ref
 */
async function follow(api, ref) {
  /** @type {string | undefined} */
  let last;
  const poll = async () => {
    const order = await fetchOrder(api, ref);
    const line = `  #${order.number}  status ${order.status} · payment ${order.paymentStatus} · POS ${order.posStatus}`;
    if (line !== last) console.log(line);
    last = line;
    return order;
  };

  let order = await poll();
  let deadline = Date.now() + PAYMENT_TIMEOUT_MS;
  while (order.status === "pending_payment" && order.paymentStatus === "unpaid") {
    if (Date.now() > deadline) {
      throw new Error(
        `order #${order.number} is still pending_payment/unpaid ${PAYMENT_TIMEOUT_MS / 1000} s ` +
          "after the payment: the Worker took the webhook but did not confirm the order (see the " +
          "npm start output)",
      );
    }
    await sleep(POLL_MS);
    order = await poll();
  }
  if (order.paymentStatus !== "paid") {
    throw new Error(`order #${order.number} ended up ${order.status}/${order.paymentStatus}`);
  }

  const settled = new Set(["synced", "failed", "not_required"]);
  deadline = Date.now() + POS_TIMEOUT_MS;
  while (!settled.has(order.posStatus) && Date.now() < deadline) {
    await sleep(POLL_MS);
    order = await poll();
  }
  const pos = {
    synced: "The demo POS has it.",
    not_required: "The tenant has no POS connected, so nothing is sent to one.",
    failed: "The POS gave up on it: the terminal shows a pos_sync_failed alert (staff can retry).",
  }[order.posStatus];
  console.log(
    `\nPaid: order #${order.number} is ${order.status}. ${pos ?? `The POS is still on it (${order.posStatus}); the terminal will show when it lands.`}`,
  );
}

// ---- the Stripe double ----

/**
 * `pi_XXX_secret_YYY` → `pi_XXX` (Stripe's client secrets start with their PaymentIntent's id).
 * @param {string} clientSecret
 */
function paymentIntentOf(clientSecret) {
  const id = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret.trim())?.[1];
  if (!id) {
    throw new UsageError(`"${clientSecret}" is not a PaymentIntent client secret (pi_…_secret_…)`);
  }
  return id;
}

/**
 * Pays the PaymentIntent the way a customer would: succeeds it (authorises it, when the intent
 * is captured manually), which makes the double send the signed webhook to the Worker.
 * @param {string} doubleUrl
 * @param {string} id the PaymentIntent
 * @param {string} orderId the order it should pay
 * @param {boolean} guessed whether `doubleUrl` is a default rather than what npm start recorded
 */
async function payWithDouble(doubleUrl, id, orderId, guessed) {
  /** @param {string} urlPath @param {RequestInit} [init] */
  const call = async (urlPath, init = {}) => {
    try {
      const res = await fetch(`${doubleUrl}${urlPath}`, {
        ...init,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    } catch (err) {
      throw new Error(
        `the Stripe double does not answer at ${doubleUrl} (${causeOf(err)}). ` +
          (guessed
            ? "npm start runs it (and records where in .wrangler/state/stripe-double.json); " +
              "is this Orderlane running under npm start?"
            : "It runs inside npm start: restart npm start."),
      );
    }
  };

  const intent = await call(`/v1/payment_intents/${id}`, {
    headers: { authorization: `Bearer ${DOUBLE_KEY}` },
  });
  if (intent.status === 404) {
    throw new Error(
      `the Stripe double at ${doubleUrl} holds no ${id}: the Worker created it elsewhere ` +
        "(is STRIPE_API_BASE the double's URL? npm start sets it when STRIPE_SECRET_KEY is empty)",
    );
  }
  if (intent.status !== 200) {
    throw new Error(`the Stripe double answered ${intent.status}: ${JSON.stringify(intent.body)}`);
  }
  const forOrder = intent.body.metadata?.order_id;
  if (forOrder && forOrder !== orderId) {
    throw new Error(`${id} pays order ${forOrder}, not ${orderId}: check the client secret`);
  }
  const status = intent.body.status;
  if (status === "succeeded" || status === "requires_capture") {
    console.log(`${id} is already ${status}; not paying it again.`);
    return;
  }
  if (status === "canceled") throw new Error(`${id} was canceled; it can no longer be paid`);

  const manual = intent.body.capture_method === "manual";
  const action = manual ? "authorize" : "succeed";
  const paid = await call(`/_control/payment_intents/${id}/${action}`, { method: "POST" });
  if (paid.status !== 200) {
    throw new Error(`the Stripe double could not pay ${id}: ${JSON.stringify(paid.body)}`);
  }
  const event = manual ? "payment_intent.amount_capturable_updated" : "payment_intent.succeeded";
  console.log(
    `Paid ${id} with the Stripe double (${manual ? "card authorised, captured later" : "card charged"}).`,
  );
  /** @type {{ eventId: string, status: number, body: string } | null} */
  const webhook = paid.body.webhook;
  if (!webhook) throw new Error("the Stripe double has no webhook URL, so the Worker never heard");
  if (webhook.status < 200 || webhook.status > 299) {
    const hint =
      webhook.status === 404
        ? " (does the Worker have the POST /webhooks/stripe route yet?)"
        : webhook.status === 400
          ? " (is STRIPE_WEBHOOK_SECRET the same for the double and the Worker? npm start gives both the one in .dev.vars)"
          : "";
    throw new Error(
      `the Worker answered ${webhook.status} to ${event}${hint}: ${webhook.body.slice(0, 500)}`,
    );
  }
  console.log(`The Worker accepted ${event} (${webhook.eventId}).`);
}

/**
 * With real Stripe there is no double to pay through: the Stripe CLI confirms test intents.
 * @param {string} id
 * @param {string} baseUrl
 */
function printStripeInstructions(id, baseUrl) {
  console.log(
    [
      "",
      "npm start runs against Stripe itself (STRIPE_SECRET_KEY in .dev.vars), so pay the order",
      "with a test card through the Stripe CLI:",
      "",
      `  stripe payment_intents confirm ${id} -d payment_method=pm_card_visa -d return_url=https://example.com`,
      "",
      "Stripe's webhook reaches this Worker only while the CLI forwards it:",
      "",
      `  stripe listen --forward-to ${baseUrl}/webhooks/stripe`,
    ].join("\n"),
  );
  printTerminalHint(baseUrl);
}

// ---- helpers ----

/** @param {string} baseUrl */
function printTerminalHint(baseUrl) {
  let key = "";
  try {
    key = JSON.parse(readFileSync(SEED_STATE, "utf8")).terminalKey ?? "";
  } catch {
    // No saved key: the hint still says where to look.
  }
  console.log(
    `\nTerminal: ${baseUrl}/terminal/?tenant=${DEMO_TENANT}, signed in with the terminal key` +
      (key ? ` ${key}` : ` in ${relative(SEED_STATE)}`),
  );
}

/**
 * @param {{ status: number, body: unknown }} res
 * @param {number} status
 * @param {string} what
 */
function expect(res, status, what) {
  if (res.status !== status) {
    const body = typeof res.body === "string" ? res.body : JSON.stringify(res.body);
    throw new Error(`${what} answered ${res.status}: ${body.slice(0, 500)}`);
  }
}

/** @param {Money} m */
function money(m) {
  return `${(m.amount / 100).toFixed(2)} ${m.currency}`;
}

/** @param {unknown} err */
function causeOf(err) {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = /** @type {NodeJS.ErrnoException} */ (cause)?.code;
  return code ?? (cause instanceof Error ? cause.message : String(cause));
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {string} file */
function relative(file) {
  return path.relative(process.cwd(), file) || ".";
}
