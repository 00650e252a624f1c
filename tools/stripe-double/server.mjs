// @ts-check
// A local stand-in for the Stripe API: the endpoints Orderlane's gateway
// calls, in Stripe's wire format (form-encoded bodies with bracket notation,
// JSON objects and error envelopes shaped like Stripe's, real idempotency),
// plus signed webhook events. Tests start it in-process; the demo runs it:
//
//   node tools/stripe-double/server.mjs --port 12111 \
//     --webhook-url http://127.0.0.1:8787/webhooks/stripe --webhook-secret whsec_… \
//     [--state .wrangler/state/stripe-double/state.json]
//
// Endpoints (https://docs.stripe.com/api):
//   POST /v1/payment_intents                 create
//   GET  /v1/payment_intents/:id             retrieve
//   POST /v1/payment_intents/:id/capture     capture (requires_capture → succeeded)
//   POST /v1/payment_intents/:id/cancel      cancel
//   POST /v1/payment_intents/:id/confirm     confirm, as Stripe.js does in the customer's browser:
//                                            with a publishable key (pk_test_…) and the intent's
//                                            client_secret; payment_method pm_card_visa (the
//                                            default) pays or authorises it, pm_card_chargeDeclined
//                                            declines it; each sends its webhook
//   POST /v1/refunds                         create (PaymentIntent must be succeeded)
//   GET  /v1/refunds?payment_intent=…        list, newest first
//
// Control API (JSON), for processes that do not hold the object:
//   GET  /_control/requests                       requests received, oldest first
//   POST /_control/faults  Fault[]                queue faults
//   POST /_control/payment_intents/:id/succeed    pay it, send payment_intent.succeeded
//   POST /_control/payment_intents/:id/authorize  make it capturable, send amount_capturable_updated
//   POST /_control/payment_intents/:id/fail       fail it, send payment_intent.payment_failed
//     (these act for the customer: an intent no longer awaiting payment answers 400
//      payment_intent_unexpected_state, as Stripe.js's confirm does)
//   POST /_control/payment_intents/:id/pending_refunds  refunds of it start `pending`, as with
//                                                 Stripe's test card 4000000000007726
//   POST /_control/refunds/:id/settle  {status}   a pending refund ends `succeeded` or `failed`;
//                                                 sends refund.updated
//   POST /_control/reset                          forget everything
//   POST /_control/namespaces                     → 201 { url }: a namespace, a fresh double on a port
//                                                 of its own with its own objects, requests, faults
//                                                 and idempotency keys (in memory, never the state
//                                                 file), signing with the same secret and sending
//                                                 its webhooks where this one sends them; it stops
//                                                 with this one. Stripe's API base is an origin
//                                                 (stripe-node takes a host and a port), so a
//                                                 namespace is a port rather than a path.
//
// State: in memory, unless `stateFile` (the CLI's --state) names a JSON file. Then what Stripe
// would keep (PaymentIntents, refunds, which intents refund `pending`, idempotency keys and
// their saved answers) is loaded from it on start and written to it, whole and atomically (a
// temporary file renamed over it), after every change and before the change is answered or
// its webhook sent; so `npm start` can refund after a restart what it was paid before it. The
// request log and queued faults are for tests and stay in memory. A file that cannot be read
// is moved aside with a warning and the double starts empty.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** The API version the double claims (stripe-node 23 pins the same one). */
export const API_VERSION = "2026-10-28.endive";

/**
 * @typedef {object} Fault
 * @property {string | RegExp} path   request path (no query) it applies to, exact or a pattern
 * @property {string} [method]        only for this method
 * @property {number} [status]        answer this status with Stripe's error for it, without handling
 * @property {string} [code]          the error `code` to put in that answer
 * @property {number} [delayMs]       handle normally (or fail, with `status`) after this delay
 * @property {Record<string, string>} [form]  only for requests whose form has these values, keys
 *   as sent (`payment_intent`, `metadata[tenant_id]`), so concurrent tests do not take each other's
 * @property {Record<string, string>} [query] only for requests whose query string has these values
 */

/**
 * @typedef {object} Recorded
 * @property {string} method
 * @property {string} path        with query
 * @property {Record<string, string>} headers  names lower-case
 * @property {string} body        as received
 * @property {Record<string, unknown>} form  the body parsed the way Stripe reads it
 * @property {number} at          ms since the epoch
 */

/** @typedef {Record<string, unknown>} StripeObject */
/** @typedef {{ status: number, body: unknown, headers?: Record<string, string> }} Answer */

/** The layout of the state file; a file of another version is not read. */
const STATE_VERSION = 1;
/** Stripe prunes idempotency keys once they are at least 24 hours old. */
const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * @typedef {object} SavedAnswer an idempotency key's slot
 * @property {string} fingerprint the request it was first used with
 * @property {Answer | null} answer null while that request is under way
 * @property {number} at when the key was first used, ms since the epoch
 */

/**
 * @typedef {object} DoubleState what the state file holds
 * @property {Map<string, StripeObject>} paymentIntents
 * @property {Map<string, StripeObject>} refunds
 * @property {Set<string>} pendingRefunds
 * @property {Map<string, SavedAnswer>} idempotency
 */

/** @returns {DoubleState} */
function emptyState() {
  return {
    paymentIntents: new Map(),
    refunds: new Map(),
    pendingRefunds: new Set(),
    idempotency: new Map(),
  };
}

/**
 * Reads the state file. A missing file is an empty state; one that is not valid JSON of the
 * current layout is moved aside (`<file>.corrupt`) and reported to `warn`, and the double
 * starts empty, so a bad file never stops `npm start`.
 * @param {string} file
 * @param {(message: string) => void} warn
 * @param {number} now ms since the epoch
 * @returns {DoubleState}
 */
export function loadDoubleState(file, warn, now = Date.now()) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === "ENOENT") return emptyState();
    throw err;
  }
  try {
    return parseState(text, now);
  } catch (err) {
    const aside = `${file}.corrupt`;
    renameSync(file, aside);
    warn(
      `stripe-double: ignored the unreadable state in ${file} (${err instanceof Error ? err.message : String(err)}); ` +
        `moved it to ${aside} and started empty`,
    );
    return emptyState();
  }
}

/**
 * @param {string} text
 * @param {number} now
 * @returns {DoubleState}
 */
function parseState(text, now) {
  const data = asRecord(JSON.parse(text));
  if (!data) throw new Error("not a JSON object");
  if (data.version !== STATE_VERSION) throw new Error(`layout version ${String(data.version)}`);
  /** @param {unknown} list @param {string} what */
  const objects = (list, what) => {
    if (!Array.isArray(list)) throw new Error(`${what} is not a list`);
    return new Map(
      list.map((item) => {
        const object = asRecord(item);
        if (typeof object?.id !== "string") throw new Error(`a ${what} entry has no id`);
        return [object.id, object];
      }),
    );
  };
  const state = emptyState();
  state.paymentIntents = objects(data.paymentIntents, "paymentIntents");
  state.refunds = objects(data.refunds, "refunds");
  if (!Array.isArray(data.pendingRefunds)) throw new Error("pendingRefunds is not a list");
  state.pendingRefunds = new Set(data.pendingRefunds.map(String));
  if (!Array.isArray(data.idempotencyKeys)) throw new Error("idempotencyKeys is not a list");
  for (const item of data.idempotencyKeys) {
    const entry = asRecord(item);
    const answer = asRecord(entry?.answer);
    if (
      typeof entry?.slot !== "string" ||
      typeof entry.fingerprint !== "string" ||
      typeof entry.at !== "number" ||
      typeof answer?.status !== "number"
    ) {
      throw new Error("an idempotencyKeys entry is malformed");
    }
    if (now - entry.at >= IDEMPOTENCY_KEY_TTL_MS) continue;
    state.idempotency.set(entry.slot, {
      fingerprint: entry.fingerprint,
      answer: /** @type {Answer} */ (/** @type {unknown} */ (answer)),
      at: entry.at,
    });
  }
  return state;
}

/**
 * Writes the state file whole: to a temporary file beside it, then renamed over it, so a
 * reader (or a crash) sees the old state or the new one, never half of one.
 * @param {string} file
 * @param {DoubleState} state
 */
function saveDoubleState(file, state) {
  const data = {
    version: STATE_VERSION,
    apiVersion: API_VERSION,
    savedAt: new Date().toISOString(),
    paymentIntents: [...state.paymentIntents.values()],
    refunds: [...state.refunds.values()],
    pendingRefunds: [...state.pendingRefunds],
    // A key whose request is still under way has no answer to replay yet.
    idempotencyKeys: [...state.idempotency]
      .filter(([, saved]) => saved.answer)
      .map(([slot, saved]) => ({ slot, ...saved })),
  };
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(data)}\n`);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** A Stripe-looking id: prefix, underscore, 24 base62 characters. */
export function stripeId(/** @type {string} */ prefix) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (const b of randomBytes(24)) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

/**
 * Parses a form body the way Stripe does: `a[b][c]=1` → `{ a: { b: { c: "1" } } }`,
 * `a[]=x` and `a[0]=x` → arrays. Values stay strings, as on the wire.
 * @param {string} body
 * @returns {Record<string, unknown>}
 */
export function parseStripeForm(body) {
  /** @type {Record<string, unknown>} */
  const root = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const head = key.split("[", 1)[0] ?? key;
    const rest = [...key.slice(head.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? "");
    const path = [head, ...rest];
    /** @type {Record<string, unknown> | unknown[]} */
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const part = path[i] ?? "";
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(path[i + 1] ?? "");
      if (Array.isArray(node)) {
        const index = part === "" ? node.length : Number(part);
        if (last) node[index] = value;
        else {
          node[index] ??= nextIsIndex ? [] : {};
          node = /** @type {Record<string, unknown> | unknown[]} */ (node[index]);
        }
      } else if (last) {
        node[part] = value;
      } else {
        node[part] ??= nextIsIndex ? [] : {};
        node = /** @type {Record<string, unknown> | unknown[]} */ (node[part]);
      }
    }
  }
  return root;
}

/** Stripe's error envelope (https://docs.stripe.com/api/errors). */
/** A customer action on an intent that no longer awaits payment; `answer` is Stripe's error. */
export class NotAwaitingPayment extends Error {
  /** @param {{ status: number, body: unknown }} answer */
  constructor(answer) {
    super("This PaymentIntent does not await payment");
    this.answer = answer;
  }
}

function stripeError(
  /** @type {number} */ status,
  /** @type {string} */ type,
  /** @type {string} */ message,
  /** @type {{ code?: string, param?: string, decline_code?: string }} */ extra = {},
) {
  return {
    status,
    body: {
      error: {
        type,
        message,
        ...extra,
        request_log_url: "https://dashboard.stripe.com/test/logs",
      },
    },
  };
}

/**
 * A form field by the name it was sent under: `metadata[tenant_id]` reads `form.metadata.tenant_id`.
 * @param {Record<string, unknown>} form @param {string} key
 */
function formValue(form, key) {
  /** @type {unknown} */
  let value = form;
  for (const part of key.split(/\[|\]\[?/).filter(Boolean)) {
    value =
      value && typeof value === "object"
        ? /** @type {Record<string, unknown>} */ (value)[part]
        : undefined;
  }
  return value;
}

/** The error Stripe would give for an injected status. */
function errorForStatus(/** @type {number} */ status, /** @type {string | undefined} */ code) {
  if (status === 402) {
    return stripeError(402, "card_error", "Your card was declined.", {
      code: code ?? "card_declined",
      decline_code: "generic_decline",
    });
  }
  if (status === 429) {
    return stripeError(429, "invalid_request_error", "Too many requests in a period of time.", {
      code: code ?? "rate_limit",
    });
  }
  if (status === 409) {
    return stripeError(
      409,
      "idempotency_error",
      "There is currently another in-progress request using this Idempotent Key.",
      { code: code ?? "idempotency_key_in_use" },
    );
  }
  if (status === 401) {
    return stripeError(401, "invalid_request_error", "Invalid API Key provided.");
  }
  if (status >= 500) {
    return stripeError(status, "api_error", "An unknown error occurred.", code ? { code } : {});
  }
  return stripeError(status, "invalid_request_error", "Invalid request.", code ? { code } : {});
}

/**
 * A JSON text with sorted keys, so two equal parameter sets compare equal.
 * @param {unknown} value
 * @returns {string}
 */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    /** @type {string} */
    const inner = entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",");
    return `{${inner}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Signs a webhook body the way Stripe does (https://docs.stripe.com/webhooks#verify-manually). */
export function stripeSignatureHeader(
  /** @type {string} */ body,
  /** @type {string} */ secret,
  /** @type {number} */ timestamp = Math.floor(Date.now() / 1000),
) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

const asString = (/** @type {unknown} */ v) => (typeof v === "string" ? v : undefined);
const asRecord = (/** @type {unknown} */ v) =>
  v !== null && typeof v === "object" && !Array.isArray(v)
    ? /** @type {Record<string, unknown>} */ (v)
    : undefined;
/** Metadata values as strings, as Stripe stores them. */
const asMetadata = (/** @type {unknown} */ v) =>
  Object.fromEntries(Object.entries(asRecord(v) ?? {}).map(([k, x]) => [k, String(x)]));

/**
 * Starts the double on 127.0.0.1.
 * @param {object} options
 * @param {number} [options.port] 0 (the default) for any free port
 * @param {string} options.webhookSecret signs the webhooks
 * @param {string} [options.webhookUrl] where the webhooks go; none are sent without it
 * @param {string[]} [options.apiKeys] the secret keys accepted; by default any `sk_test_…` key
 * @param {string} [options.stateFile] keep the state in this JSON file (see the top of this
 *   file); without it, as in the tests, the state lives and dies with the process
 * @param {(message: string) => void} [options.warn] where a warning about the state file goes
 */
export async function startStripeDouble({
  port = 0,
  webhookSecret,
  webhookUrl,
  apiKeys,
  stateFile,
  warn = (message) => console.warn(message),
}) {
  if (stateFile) mkdirSync(path.dirname(stateFile), { recursive: true });
  const state = stateFile ? loadDoubleState(stateFile, warn) : emptyState();
  const { paymentIntents, refunds, pendingRefunds, idempotency } = state;
  /** @type {Recorded[]} */
  const requests = [];
  /** @type {Fault[]} */
  const faults = [];
  let webhookTarget = webhookUrl;
  /** @type {{ stop: () => Promise<unknown> }[]} the namespaces' doubles */
  const namespaces = [];
  /** Writes the state file after a change, when there is one. */
  const persist = () => {
    if (stateFile) saveDoubleState(stateFile, state);
  };

  const now = () => Math.floor(Date.now() / 1000);

  /**
   * @param {string} method @param {string} path @param {Record<string, unknown>} form
   * @param {URLSearchParams} query
   */
  const takeFault = (method, path, form, query) => {
    const i = faults.findIndex(
      (f) =>
        (!f.method || f.method.toUpperCase() === method) &&
        (typeof f.path === "string" ? f.path === path : f.path.test(path)) &&
        Object.entries(f.form ?? {}).every(([key, value]) => formValue(form, key) === value) &&
        Object.entries(f.query ?? {}).every(([key, value]) => query.get(key) === value),
    );
    return i === -1 ? undefined : faults.splice(i, 1)[0];
  };

  const missing = (/** @type {string} */ param) =>
    stripeError(400, "invalid_request_error", `Missing required param: ${param}.`, {
      code: "parameter_missing",
      param,
    });
  const noSuch = (/** @type {string} */ what, /** @type {string} */ id) =>
    stripeError(404, "invalid_request_error", `No such ${what}: '${id}'`, {
      code: "resource_missing",
      param: "id",
    });
  const unexpectedState = (/** @type {StripeObject} */ pi, /** @type {string} */ action) =>
    stripeError(
      400,
      "invalid_request_error",
      `This PaymentIntent could not be ${action} because it has a status of ${String(pi.status)}.`,
      { code: "payment_intent_unexpected_state" },
    );

  /**
   * Handles one API request.
   * @param {string} method @param {string} path @param {URLSearchParams} query
   * @param {Record<string, unknown>} form
   * @returns {Answer}
   */
  const handle = (method, path, query, form) => {
    if (method === "POST" && path === "/v1/payment_intents") {
      const amount = Number(form.amount);
      if (form.amount === undefined) return missing("amount");
      if (!Number.isInteger(amount) || amount < 1) {
        return stripeError(400, "invalid_request_error", "Invalid integer: amount", {
          code: "parameter_invalid_integer",
          param: "amount",
        });
      }
      const currency = asString(form.currency);
      if (!currency) return missing("currency");
      if (!/^[a-z]{3}$/.test(currency)) {
        return stripeError(400, "invalid_request_error", `Invalid currency: ${currency}.`, {
          code: "parameter_invalid_string",
          param: "currency",
        });
      }
      const captureMethod = asString(form.capture_method) ?? "automatic_async";
      if (!["automatic", "automatic_async", "manual"].includes(captureMethod)) {
        return stripeError(400, "invalid_request_error", "Invalid capture_method.", {
          code: "parameter_invalid_string",
          param: "capture_method",
        });
      }
      const id = stripeId("pi");
      const apm = asRecord(form.automatic_payment_methods);
      /** @type {StripeObject} */
      const pi = {
        id,
        object: "payment_intent",
        amount,
        amount_capturable: 0,
        amount_received: 0,
        automatic_payment_methods: apm ? { enabled: apm.enabled === "true" } : null,
        canceled_at: null,
        cancellation_reason: null,
        capture_method: captureMethod,
        client_secret: `${id}_secret_${stripeId("x").slice(2, 27)}`,
        confirmation_method: "automatic",
        created: now(),
        currency,
        description: asString(form.description) ?? null,
        last_payment_error: null,
        latest_charge: null,
        livemode: false,
        metadata: asMetadata(form.metadata),
        next_action: null,
        payment_method: null,
        payment_method_types: ["card"],
        status: "requires_payment_method",
      };
      paymentIntents.set(id, pi);
      return { status: 200, body: pi };
    }
    const piMatch = /^\/v1\/payment_intents\/([^/]+)(\/capture|\/cancel)?$/.exec(path);
    if (piMatch) {
      const id = decodeURIComponent(piMatch[1] ?? "");
      const pi = paymentIntents.get(id);
      if (!pi) return noSuch("payment_intent", id);
      const action = piMatch[2];
      if (method === "GET" && !action) return { status: 200, body: pi };
      if (method === "POST" && action === "/capture") {
        if (pi.status !== "requires_capture") return unexpectedState(pi, "captured");
        const amount =
          form.amount_to_capture === undefined ? pi.amount : Number(form.amount_to_capture);
        Object.assign(pi, { status: "succeeded", amount_received: amount, amount_capturable: 0 });
        return { status: 200, body: pi };
      }
      if (method === "POST" && action === "/cancel") {
        if (pi.status === "succeeded" || pi.status === "canceled") {
          return unexpectedState(pi, "canceled");
        }
        Object.assign(pi, {
          status: "canceled",
          canceled_at: now(),
          cancellation_reason: asString(form.cancellation_reason) ?? null,
          amount_capturable: 0,
        });
        return { status: 200, body: pi };
      }
      return stripeError(
        404,
        "invalid_request_error",
        `Unrecognized request URL (${method}: ${path}).`,
      );
    }
    if (method === "POST" && path === "/v1/refunds") {
      const piId = asString(form.payment_intent);
      if (!piId) return missing("payment_intent");
      const pi = paymentIntents.get(piId);
      if (!pi) return noSuch("payment_intent", piId);
      if (pi.status !== "succeeded") {
        return stripeError(
          400,
          "invalid_request_error",
          `This PaymentIntent (${piId}) does not have a successful charge to refund.`,
          { param: "payment_intent" },
        );
      }
      const refunded = [...refunds.values()]
        .filter((r) => r.payment_intent === piId && r.status !== "failed")
        .reduce((sum, r) => sum + Number(r.amount), 0);
      const remaining = Number(pi.amount_received) - refunded;
      if (remaining <= 0) {
        return stripeError(
          400,
          "invalid_request_error",
          `Charge ${String(pi.latest_charge)} has already been refunded.`,
          {
            code: "charge_already_refunded",
          },
        );
      }
      const amount = form.amount === undefined ? remaining : Number(form.amount);
      if (!Number.isInteger(amount) || amount < 1 || amount > remaining) {
        return stripeError(
          400,
          "invalid_request_error",
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining}).`,
          {
            code: "amount_too_large",
            param: "amount",
          },
        );
      }
      /** @type {StripeObject} */
      const refund = {
        id: stripeId("re"),
        object: "refund",
        amount,
        balance_transaction: stripeId("txn"),
        charge: pi.latest_charge,
        created: now(),
        currency: pi.currency,
        metadata: asMetadata(form.metadata),
        payment_intent: piId,
        reason: asString(form.reason) ?? null,
        receipt_number: null,
        status: pendingRefunds.has(piId) ? "pending" : "succeeded",
      };
      refunds.set(String(refund.id), refund);
      return { status: 200, body: refund };
    }
    if (method === "GET" && path === "/v1/refunds") {
      const piId = query.get("payment_intent");
      const limit = Math.min(100, Math.max(1, Number(query.get("limit") ?? 10)));
      let list = [...refunds.values()].filter((r) => !piId || r.payment_intent === piId).reverse();
      const after = query.get("starting_after");
      if (after) list = list.slice(list.findIndex((r) => r.id === after) + 1);
      return {
        status: 200,
        body: {
          object: "list",
          data: list.slice(0, limit),
          has_more: list.length > limit,
          url: "/v1/refunds",
        },
      };
    }
    return stripeError(
      404,
      "invalid_request_error",
      `Unrecognized request URL (${method}: ${path}).`,
    );
  };

  /**
   * `POST /v1/payment_intents/:id/confirm` (https://docs.stripe.com/api/payment_intents/confirm):
   * from the browser with a publishable key and the intent's `client_secret`, as Stripe.js
   * sends it, or from a server with a secret key. The test payment method decides the outcome
   * (https://docs.stripe.com/testing#cards): `pm_card_chargeDeclined` is declined, anything
   * else is paid (authorised, for a manual-capture intent). The webhook goes out before the
   * answer, as Stripe's may.
   * @param {string} id
   * @param {Record<string, string>} headers
   * @param {Record<string, unknown>} form
   */
  const confirmIntent = async (id, headers, form) => {
    const key = /^Bearer (\S+)$/.exec(headers.authorization ?? "")?.[1] ?? asString(form.key);
    const publishable = key !== undefined && /^pk_test_\w+$/.test(key);
    if (!publishable && !authorised(headers.authorization).ok) {
      return stripeError(401, "invalid_request_error", "Invalid API Key provided.");
    }
    const pi = paymentIntents.get(id);
    if (!pi)
      return stripeError(404, "invalid_request_error", `No such payment_intent: '${id}'`, {
        code: "resource_missing",
        param: "intent",
      });
    if (publishable && asString(form.client_secret) !== pi.client_secret) {
      // Stripe.js may only touch an intent whose client secret the page holds.
      return stripeError(
        400,
        "invalid_request_error",
        "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        { param: "client_secret" },
      );
    }
    const method = asString(form.payment_method) ?? "pm_card_visa";
    try {
      if (method === "pm_card_chargeDeclined") await double.fail(id);
      else if (pi.capture_method === "manual") await double.authorize(id);
      else await double.succeed(id);
    } catch (err) {
      if (err instanceof NotAwaitingPayment) return err.answer;
      throw err;
    }
    return { status: 200, body: paymentIntents.get(id) };
  };

  /** Whether the Authorization header carries an accepted secret key. */
  const authorised = (/** @type {string | undefined} */ header) => {
    const key = /^Bearer (\S+)$/.exec(header ?? "")?.[1];
    if (!key) return { ok: false, key: undefined };
    const ok = apiKeys ? apiKeys.includes(key) : /^sk_test_\w+$/.test(key);
    return { ok, key };
  };

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://double.local");
    const method = (req.method ?? "GET").toUpperCase();
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      headers[k] = Array.isArray(v) ? v.join(", ") : String(v ?? "");
    }
    /** @param {Answer} answer */
    const send = (answer) => {
      res.writeHead(answer.status, {
        "content-type": "application/json",
        "request-id": `req_${randomBytes(7).toString("hex")}`,
        "stripe-version": API_VERSION,
        ...(answer.headers ?? {}),
      });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    };
    try {
      if (url.pathname.startsWith("/_control/")) {
        send(await control(method, url.pathname, body));
        return;
      }
      const form = method === "GET" ? {} : parseStripeForm(body);
      requests.push({
        method,
        path: `${url.pathname}${url.search}`,
        headers,
        body,
        form,
        at: Date.now(),
      });

      const confirm = /^\/v1\/payment_intents\/([^/]+)\/confirm$/.exec(url.pathname);
      if (method === "POST" && confirm) {
        send(await confirmIntent(decodeURIComponent(confirm[1] ?? ""), headers, form));
        return;
      }

      const auth = authorised(headers.authorization);
      if (!auth.key) {
        send(
          stripeError(
            401,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
          ),
        );
        return;
      }
      if (!auth.ok) {
        // Stripe shows only the key's last four characters.
        send(
          stripeError(
            401,
            "invalid_request_error",
            `Invalid API Key provided: ${auth.key.slice(0, 8)}****${auth.key.slice(-4)}`,
          ),
        );
        return;
      }

      const fault = takeFault(method, url.pathname, form, url.searchParams);
      /** Applies the fault; true when it answered in place of the endpoint. */
      const faulted = async () => {
        if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (!fault?.status) return false;
        send(errorForStatus(fault.status, fault.code));
        return true;
      };

      // https://docs.stripe.com/api/idempotent_requests
      const idemKey = method === "POST" ? headers["idempotency-key"] : undefined;
      if (!idemKey) {
        if (await faulted()) return;
        const answer = handle(method, url.pathname, url.searchParams, form);
        if (method === "POST") persist();
        send(answer);
        return;
      }
      const slot = `${auth.key}\u0000${idemKey}`;
      const fingerprint = createHash("sha256")
        .update(`${method} ${url.pathname} ${canonical(form)}`)
        .digest("hex");
      const saved = idempotency.get(slot);
      if (saved && saved.fingerprint !== fingerprint) {
        send(
          stripeError(
            400,
            "idempotency_error",
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`,
          ),
        );
        return;
      }
      if (saved && !saved.answer) {
        send(errorForStatus(409, "idempotency_key_in_use"));
        return;
      }
      if (saved?.answer) {
        send({
          ...saved.answer,
          headers: { ...(saved.answer.headers ?? {}), "idempotent-replayed": "true" },
        });
        return;
      }
      // Reserved before any delay, so a concurrent request with the key sees it in progress.
      idempotency.set(slot, { fingerprint, answer: null, at: Date.now() });
      // An injected failure happens before the endpoint runs, so (as at Stripe)
      // no idempotent result is saved and a retry with the same key is handled afresh.
      if (await faulted()) {
        idempotency.delete(slot);
        return;
      }
      const answer = handle(method, url.pathname, url.searchParams, form);
      // Validation failures are not saved either (Stripe saves results only once an endpoint runs).
      if (answer.status === 400 || answer.status === 404) idempotency.delete(slot);
      else
        idempotency.set(slot, {
          fingerprint,
          answer: { ...answer, body: structuredClone(answer.body) },
          at: Date.now(),
        });
      persist();
      send(answer);
    } catch (err) {
      send(stripeError(500, "api_error", `double failure: ${String(err)}`));
    }
  });

  /**
   * The control API.
   * @param {string} method @param {string} path @param {string} body
   * @returns {Promise<Answer>}
   */
  const control = async (method, path, body) => {
    if (method === "GET" && path === "/_control/requests") return { status: 200, body: requests };
    if (method === "POST" && path === "/_control/faults") {
      /** @type {unknown} */
      const list = body ? JSON.parse(body) : [];
      if (!Array.isArray(list)) return { status: 400, body: { error: "expected Fault[]" } };
      double.inject(list);
      return { status: 204, body: undefined };
    }
    const pendingMatch = /^\/_control\/payment_intents\/([^/]+)\/pending_refunds$/.exec(path);
    if (method === "POST" && pendingMatch) {
      pendingRefunds.add(pendingMatch[1] ?? "");
      persist();
      return { status: 204, body: undefined };
    }
    const settleMatch = /^\/_control\/refunds\/([^/]+)\/settle$/.exec(path);
    if (method === "POST" && settleMatch) {
      /** @type {{ status?: unknown }} */
      const wanted = body ? JSON.parse(body) : {};
      const status = wanted.status === "failed" ? "failed" : "succeeded";
      const sent = await double.settleRefund(settleMatch[1] ?? "", status);
      if (!sent) return { status: 404, body: { error: `no pending ${settleMatch[1]}` } };
      return { status: 200, body: sent };
    }
    if (method === "POST" && path === "/_control/reset") {
      double.reset();
      return { status: 204, body: undefined };
    }
    if (method === "POST" && path === "/_control/namespaces") {
      return { status: 201, body: { url: await double.namespace() } };
    }
    const m = /^\/_control\/payment_intents\/([^/]+)\/(succeed|authorize|fail)$/.exec(path);
    if (method === "POST" && m) {
      const id = m[1] ?? "";
      if (!paymentIntents.has(id)) return { status: 404, body: { error: `no ${id}` } };
      let sent;
      try {
        sent =
          m[2] === "succeed"
            ? await double.succeed(id)
            : m[2] === "authorize"
              ? await double.authorize(id)
              : await double.fail(id);
      } catch (err) {
        if (err instanceof NotAwaitingPayment) return err.answer;
        throw err;
      }
      return { status: 200, body: { payment_intent: paymentIntents.get(id), webhook: sent } };
    }
    return { status: 404, body: { error: "unknown control path" } };
  };

  await new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;

  /** @param {string} id */
  const mustGet = (id) => {
    const pi = paymentIntents.get(id);
    if (!pi) throw new Error(`the double holds no PaymentIntent ${id}`);
    return pi;
  };

  /**
   * The intent the customer is paying, as Stripe.js's confirm sees it: only one still
   * awaiting payment takes a card; a paid, authorised or cancelled one is refused.
   * @param {string} id
   */
  const awaitingPayment = (id) => {
    const pi = mustGet(id);
    if (pi.status !== "requires_payment_method" && pi.status !== "requires_confirmation") {
      throw new NotAwaitingPayment(unexpectedState(pi, "confirmed"));
    }
    return pi;
  };

  const double = {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    /** PaymentIntents by id, as the double holds them. */
    paymentIntents,
    /** Refunds by id. */
    refunds,
    /** Every API request received, oldest first. */
    requests,
    /** Queues faults; each applies to one matching request. @param {Fault[]} list */
    inject: (list) => {
      faults.push(...list);
    },
    /** Where `sendEvent` posts; null stops sending. @param {string | undefined} url */
    setWebhookUrl: (url) => {
      webhookTarget = url;
    },
    /**
     * Builds a Stripe event around `object`, signs it with the webhook secret
     * and POSTs it to the webhook URL. Returns the answer, or null when no URL is set.
     * @param {string} type @param {unknown} object
     * @param {{ timestamp?: number }} [options]
     */
    sendEvent: async (type, object, options = {}) => {
      const event = {
        id: stripeId("evt"),
        object: "event",
        api_version: API_VERSION,
        created: now(),
        data: { object },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
      };
      if (!webhookTarget) return null;
      const text = JSON.stringify(event, null, 2);
      const response = await fetch(webhookTarget, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": stripeSignatureHeader(text, webhookSecret, options.timestamp),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body: text,
      });
      return { eventId: event.id, status: response.status, body: await response.text() };
    },
    /** The customer paid: `succeeded`, then `payment_intent.succeeded`. @param {string} id */
    succeed: async (id) => {
      const pi = awaitingPayment(id);
      Object.assign(pi, {
        status: "succeeded",
        amount_received: pi.amount,
        amount_capturable: 0,
        latest_charge: pi.latest_charge ?? stripeId("ch"),
        payment_method: pi.payment_method ?? stripeId("pm"),
      });
      persist();
      return double.sendEvent("payment_intent.succeeded", structuredClone(pi));
    },
    /** The card was authorised: `requires_capture`, then `payment_intent.amount_capturable_updated`. @param {string} id */
    authorize: async (id) => {
      const pi = awaitingPayment(id);
      Object.assign(pi, {
        status: "requires_capture",
        amount_capturable: pi.amount,
        latest_charge: pi.latest_charge ?? stripeId("ch"),
        payment_method: pi.payment_method ?? stripeId("pm"),
      });
      persist();
      return double.sendEvent("payment_intent.amount_capturable_updated", structuredClone(pi));
    },
    /** The card was declined: back to `requires_payment_method`, then `payment_intent.payment_failed`. @param {string} id */
    fail: async (id) => {
      const pi = awaitingPayment(id);
      Object.assign(pi, {
        status: "requires_payment_method",
        last_payment_error: {
          type: "card_error",
          code: "card_declined",
          decline_code: "generic_decline",
          message: "Your card was declined.",
        },
      });
      persist();
      return double.sendEvent("payment_intent.payment_failed", structuredClone(pi));
    },
    /**
     * A pending refund ends: its status changes and `refund.updated` is sent.
     * Returns null when there is no such pending refund.
     * @param {string} id @param {"succeeded" | "failed"} status
     */
    settleRefund: async (id, status) => {
      const refund = refunds.get(id);
      if (refund?.status !== "pending") return null;
      Object.assign(refund, {
        status,
        ...(status === "failed" ? { failure_reason: "expired_or_canceled_card" } : {}),
      });
      persist();
      return {
        refund: structuredClone(refund),
        webhook: await double.sendEvent("refund.updated", structuredClone(refund)),
      };
    },
    /** Forgets every idempotency key, as Stripe does after about 24 h. */
    expireIdempotencyKeys: () => {
      idempotency.clear();
      persist();
    },
    reset: () => {
      paymentIntents.clear();
      refunds.clear();
      requests.length = 0;
      faults.length = 0;
      pendingRefunds.clear();
      idempotency.clear();
      persist();
    },
    /**
     * Starts a namespace: a fresh double on a port of its own, with the same keys and webhook
     * secret and this one's webhook URL, its state in memory, stopped with this one. Returns
     * its URL.
     * @returns {Promise<string>}
     */
    namespace: async () => {
      const namespace = await startStripeDouble({
        webhookSecret,
        webhookUrl: webhookTarget,
        apiKeys,
        warn,
      });
      namespaces.push(namespace);
      return namespace.url;
    },
    stop: async () => {
      await Promise.all(namespaces.splice(0).map((namespace) => namespace.stop()));
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
  return double;
}

// The CLI: runs until killed.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "12111" },
      "webhook-url": { type: "string" },
      "webhook-secret": { type: "string" },
      state: { type: "string" },
    },
  });
  const webhookSecret = values["webhook-secret"] ?? process.env.STRIPE_WEBHOOK_SECRET;
  if (!webhookSecret) {
    console.error("stripe-double: --webhook-secret (or STRIPE_WEBHOOK_SECRET) is required");
    process.exit(2);
  }
  const double = await startStripeDouble({
    port: Number(values.port),
    webhookSecret,
    webhookUrl: values["webhook-url"],
    stateFile: values.state,
  });
  console.log(
    `stripe-double listening on ${double.url}${values["webhook-url"] ? `, webhooks to ${values["webhook-url"]}` : ""}`,
  );
  const shutdown = () => {
    double.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
