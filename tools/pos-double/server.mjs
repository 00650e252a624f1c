// @ts-check
// A local stand-in for the POS vendors' APIs: one HTTP server that speaks the
// Toast, Clover and Square wire formats closely enough for the real adapters
// (each vendor in its own module, mounted under /toast, /clover, /square),
// records what it received, and injects faults on demand. Tests, the demo and
// the benchmarks point the adapters' base URLs at it.
//
// Control API (JSON), for processes that do not hold the object:
//   GET  /_control/received?vendor=toast   requests received, oldest first
//   GET  /_control/orders?vendor=toast     orders the vendor holds
//   POST /_control/faults { vendor, faults: Fault[] }   queue faults for create-order calls
//   POST /_control/mode { vendor, mode: Fault | null }   a fault applied to every create-order call
//   POST /_control/state { vendor, key, value }   set one key of that vendor's free state (what the
//                                          vendor module reads, e.g. Toast's `menu` or `restaurants`)
//   POST /_control/reset                   forget requests, orders, faults, state
//   POST /_control/webhook { vendor, url, secret, body }   send a correctly signed status webhook
//   POST /_control/namespaces              → 201 { url }: a namespace, a fresh double on a port of its
//                                          own with its own requests, orders, faults and modes (and its
//                                          own control API); it stops with this one. Test files that run
//                                          at the same time each take one, so a reset or a fault in one
//                                          never reaches another.
import { createServer } from "node:http";

/**
 * @typedef {{ kind: "status", status: number, retryAfter?: number | string, body?: unknown }
 *   | { kind: "delay", ms: number }
 *   | { kind: "accept_then_fail", status?: number }
 *   | { kind: "unauthorized_once" }} Fault
 *   `status`: answer with that status (and Retry-After) instead of handling;
 *   `delay`: handle normally after `ms`;
 *   `accept_then_fail`: create the order, then answer `status` (default 500) as if the response was lost;
 *   `unauthorized_once`: answer 401 until the client refreshes its token (the vendor module decides what a refresh is).
 */

/**
 * @typedef {object} Recorded
 * @property {string} vendor
 * @property {string} method
 * @property {string} path  path below the vendor prefix, with query
 * @property {Record<string, string>} headers
 * @property {string} body
 * @property {number} at    ms since the epoch
 */

/**
 * @typedef {object} VendorContext
 * @property {Map<string, any>} orders       this vendor's orders by its own id
 * @property {() => Fault | undefined} takeFault  the next fault for a create-order call, if any
 * @property {(status: number, body: unknown, headers?: Record<string, string>) => { status: number, body: unknown, headers?: Record<string, string> }} reply
 * @property {Record<string, unknown>} state  free per-vendor state (tokens issued, …)
 */

/**
 * @typedef {object} VendorModule
 * @property {string} name
 * @property {(body: string, secret: string, url: string) => Record<string, string>} [signWebhook]
 *   the headers the vendor sends with a status webhook (its signature scheme)
 * @property {(req: { method: string, path: string, query: URLSearchParams, headers: Record<string, string>, body: string, json: any }, ctx: VendorContext) => Promise<{ status: number, body: unknown, headers?: Record<string, string> } | null>} handle
 *   null when the path is not one of this vendor's.
 */

/**
 * Starts the double on 127.0.0.1.
 * @param {{ port?: number, vendors: VendorModule[] }} options
 */
export async function startPosDouble({ port = 0, vendors }) {
  /** @type {Recorded[]} */
  const received = [];
  /** @type {Map<string, { queue: Fault[], mode: Fault | null, orders: Map<string, any>, state: Record<string, unknown> }>} */
  const perVendor = new Map();
  const slot = (/** @type {string} */ name) => {
    let s = perVendor.get(name);
    if (!s) {
      s = { queue: [], mode: null, orders: new Map(), state: {} };
      perVendor.set(name, s);
    }
    return s;
  };
  for (const v of vendors) slot(v.name);
  /** @type {{ stop: () => Promise<unknown> }[]} the namespaces' doubles */
  const namespaces = [];

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://double.local");
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k] = Array.isArray(v) ? v.join(", ") : String(v ?? "");
    const send = (
      /** @type {number} */ status,
      /** @type {unknown} */ payload,
      /** @type {Record<string, string>} */ extra = {},
    ) => {
      const text = payload === undefined ? "" : JSON.stringify(payload);
      res.writeHead(status, { "content-type": "application/json", ...extra });
      res.end(text);
    };
    try {
      if (url.pathname.startsWith("/_control/")) {
        const json = body ? JSON.parse(body) : {};
        if (url.pathname === "/_control/received") {
          const vendor = url.searchParams.get("vendor");
          return send(
            200,
            received.filter((r) => !vendor || r.vendor === vendor),
          );
        }
        if (url.pathname === "/_control/orders") {
          return send(200, [...slot(url.searchParams.get("vendor") ?? "").orders.values()]);
        }
        if (url.pathname === "/_control/faults") {
          slot(json.vendor).queue.push(...json.faults);
          return send(204, undefined);
        }
        if (url.pathname === "/_control/mode") {
          slot(json.vendor).mode = json.mode ?? null;
          return send(204, undefined);
        }
        if (url.pathname === "/_control/state" && req.method === "POST") {
          if (
            typeof json.vendor !== "string" ||
            typeof json.key !== "string" ||
            !json.key ||
            json.key === "__proto__"
          ) {
            return send(400, { error: "vendor and key are required" });
          }
          slot(json.vendor).state[json.key] = json.value;
          return send(204, undefined);
        }
        if (url.pathname === "/_control/webhook") {
          return send(200, await double.sendWebhook(json.vendor, json));
        }
        if (url.pathname === "/_control/reset") {
          double.reset();
          return send(204, undefined);
        }
        if (url.pathname === "/_control/namespaces" && req.method === "POST") {
          return send(201, { url: await double.namespace() });
        }
        return send(404, { error: "unknown control path" });
      }
      const [, prefix, ...rest] = url.pathname.split("/");
      const vendor = vendors.find((v) => v.name === prefix);
      if (!vendor) return send(404, { error: `no vendor at /${prefix}` });
      const path = `/${rest.join("/")}`;
      received.push({
        vendor: vendor.name,
        method: req.method ?? "GET",
        path: `${path}${url.search}`,
        headers,
        body,
        at: Date.now(),
      });
      let json;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const s = slot(vendor.name);
      /** @type {VendorContext} */
      const ctx = {
        orders: s.orders,
        state: s.state,
        takeFault: () => s.queue.shift() ?? s.mode ?? undefined,
        reply: (status, payload, extra) => ({
          status,
          body: payload,
          ...(extra ? { headers: extra } : {}),
        }),
      };
      const answer = await vendor.handle(
        { method: req.method ?? "GET", path, query: url.searchParams, headers, body, json },
        ctx,
      );
      if (!answer) return send(404, { error: `unknown ${vendor.name} path ${path}` });
      return send(answer.status, answer.body, answer.headers ?? {});
    } catch (err) {
      return send(500, { error: String(err) });
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const url = `http://127.0.0.1:${actualPort}`;

  const double = {
    url,
    port: actualPort,
    /** Base URL to configure for one vendor's adapter. */
    baseUrl: (/** @type {string} */ vendor) => `${url}/${vendor}`,
    received,
    /** Requests one vendor received, optionally only those whose path starts with `pathPrefix`. */
    requests: (/** @type {string} */ vendor, pathPrefix = "") =>
      received.filter((r) => r.vendor === vendor && r.path.startsWith(pathPrefix)),
    /** Orders one vendor holds, by its own id. */
    orders: (/** @type {string} */ vendor) => slot(vendor).orders,
    /** @param {string} vendor @param {Fault[]} faults */
    inject: (vendor, faults) => {
      slot(vendor).queue.push(...faults);
    },
    /** @param {string} vendor @param {Fault | null} mode */
    setMode: (vendor, mode) => {
      slot(vendor).mode = mode;
    },
    state: (/** @type {string} */ vendor) => slot(vendor).state,
    reset: () => {
      received.length = 0;
      for (const s of perVendor.values()) {
        s.queue.length = 0;
        s.mode = null;
        s.orders.clear();
        for (const key of Object.keys(s.state)) delete s.state[key];
      }
    },
    /**
     * Sends a status webhook the way the vendor does: `body` signed with
     * `secret` in the vendor's scheme, POSTed to `url`. Returns the answer.
     * @param {string} vendor @param {{ url: string, secret: string, body: unknown }} webhook
     */
    sendWebhook: async (vendor, { url, secret, body }) => {
      const module = vendors.find((v) => v.name === vendor);
      if (!module?.signWebhook) throw new Error(`${vendor} cannot sign webhooks`);
      const text = typeof body === "string" ? body : JSON.stringify(body);
      const response = await fetch(url, {
        method: "POST",
        headers: module.signWebhook(text, secret, url),
        body: text,
      });
      return { status: response.status, body: await response.text() };
    },
    /**
     * Starts a namespace: a fresh double with the same vendors on a port of its own, stopped with
     * this one. Returns its URL.
     * @returns {Promise<string>}
     */
    namespace: async () => {
      const namespace = await startPosDouble({ vendors });
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

/** Applies a `status` or `delay` fault common to every vendor; returns an answer to send, or null to go on. */
export async function applyCommonFault(/** @type {Fault | undefined} */ fault) {
  if (!fault) return null;
  if (fault.kind === "delay") {
    await new Promise((r) => setTimeout(r, fault.ms));
    return null;
  }
  if (fault.kind === "status") {
    /** @type {Record<string, string>} */
    const headers = {};
    if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
    return {
      status: fault.status,
      body: fault.body ?? { error: `injected ${fault.status}` },
      headers,
    };
  }
  return null;
}
