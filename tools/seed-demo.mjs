// @ts-check
// Seeds the `demo-bistro` tenant through the public HTTP API, the way an operator would.
//
// API keys are shown only once, so they are kept in a state file next to the local data.
// Every step checks what already exists first, so a run that was interrupted half-way
// finishes the job on the next start instead of failing or duplicating items.

import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export const DEMO_TENANT = "demo-bistro";

const CURRENCY = "USD";

/** @param {number} amount minor units */
const usd = (amount) => ({ amount, currency: CURRENCY });

/**
 * A small bistro menu; prices in cents. The POS ids look like the GUIDs Toast hands out,
 * so the menu can be mapped by a sandbox POS integration.
 */
const MENU = [
  {
    name: "Classic Smash Burger",
    description: "Two smashed beef patties, pickles, onion and house sauce on a brioche bun.",
    price: 1395,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0001",
    modifiers: [
      { name: "Add cheese", price: 150, posModifierId: "toast-guid-mod-cheese-0001" },
      { name: "Add bacon", price: 250, posModifierId: "toast-guid-mod-bacon-0002" },
      { name: "Gluten-free bun", price: 200, posModifierId: "toast-guid-mod-gfbun-0003" },
    ],
  },
  {
    name: "Mushroom Swiss Burger",
    description: "Beef patty, roasted mushrooms, Swiss cheese and garlic aioli.",
    price: 1495,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0002",
    modifiers: [
      { name: "Add bacon", price: 250, posModifierId: "toast-guid-mod-bacon-0002" },
      { name: "Add fried egg", price: 175, posModifierId: "toast-guid-mod-egg-0004" },
    ],
  },
  {
    name: "Hand-cut Fries",
    description: "Twice-fried russet potatoes with sea salt.",
    price: 495,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0003",
    modifiers: [
      { name: "Regular", price: 0, posModifierId: "toast-guid-mod-size-regular" },
      { name: "Large", price: 200, posModifierId: "toast-guid-mod-size-large" },
      { name: "Truffle parmesan", price: 300, posModifierId: "toast-guid-mod-truffle-0005" },
    ],
  },
  {
    name: "Sweet Potato Fries",
    description: "Crispy sweet potato fries with chipotle mayo.",
    price: 595,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0004",
    modifiers: [
      { name: "Regular", price: 0, posModifierId: "toast-guid-mod-size-regular" },
      { name: "Large", price: 200, posModifierId: "toast-guid-mod-size-large" },
    ],
  },
  {
    name: "Caesar Salad",
    description: "Romaine, parmesan, garlic croutons and anchovy dressing.",
    price: 1195,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0005",
    modifiers: [
      { name: "Add grilled chicken", price: 400, posModifierId: "toast-guid-mod-chicken-0006" },
      { name: "Add salmon", price: 650, posModifierId: "toast-guid-mod-salmon-0007" },
      { name: "No croutons", price: 0, posModifierId: null },
    ],
  },
  {
    name: "Harvest Salad",
    description: "Mixed greens, roasted squash, pecans, dried cranberries, cider vinaigrette.",
    price: 1250,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0006",
    modifiers: [
      { name: "Add goat cheese", price: 200, posModifierId: "toast-guid-mod-goat-0008" },
      { name: "Add grilled chicken", price: 400, posModifierId: "toast-guid-mod-chicken-0006" },
    ],
  },
  {
    name: "French Onion Soup",
    description: "Slow-cooked onions, beef broth, gruyère crouton.",
    price: 895,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0007",
    modifiers: [],
  },
  {
    name: "Fresh Lemonade",
    description: "Squeezed to order.",
    price: 395,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0008",
    modifiers: [
      { name: "Large", price: 100, posModifierId: "toast-guid-mod-size-large" },
      { name: "Strawberry", price: 75, posModifierId: "toast-guid-mod-strawberry-0009" },
    ],
  },
  {
    name: "Cold Brew",
    description: "Steeped for 18 hours.",
    price: 450,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0009",
    modifiers: [
      { name: "Oat milk", price: 75, posModifierId: "toast-guid-mod-oat-0010" },
      { name: "Extra shot", price: 125, posModifierId: "toast-guid-mod-shot-0011" },
    ],
  },
  {
    name: "Sparkling Water",
    description: "330 ml bottle.",
    price: 300,
    posItemId: null,
    modifiers: [],
  },
  {
    name: "Chocolate Lava Cake",
    description: "Warm dark chocolate cake with a molten centre.",
    price: 895,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0010",
    modifiers: [
      { name: "Vanilla ice cream", price: 250, posModifierId: "toast-guid-mod-icecream-0012" },
    ],
  },
  {
    name: "Crème Brûlée",
    description: "Vanilla bean custard, burnt sugar top.",
    price: 850,
    posItemId: "toast-guid-3f6c2a1e-0b7d-4c1a-9e2f-7a1d5b9c0011",
    modifiers: [],
  },
];

const DISCOUNT = { code: "WELCOME10", kind: "percent", value: 10, minSubtotal: 1500 };

/**
 * @typedef {object} DemoKeys
 * @property {string} ownerKey
 * @property {string} staffKey
 * @property {string} terminalKey
 */

/**
 * Creates `demo-bistro` with a menu, a discount code and staff/terminal keys unless they
 * already exist, and returns the tenant's keys (read from `stateFile` on later runs).
 * @param {string} baseUrl e.g. `http://127.0.0.1:8787`
 * @param {string} adminToken the platform `ADMIN_TOKEN`
 * @param {string} stateFile where the keys are kept (inside the gitignored `.wrangler/`)
 * @returns {Promise<DemoKeys & { tenant: string, created: boolean }>}
 */
export async function seedDemo(baseUrl, adminToken, stateFile) {
  const api = client(baseUrl);
  let state = await readState(stateFile);

  const existing = await api(
    "GET",
    `/v1/platform/tenants/${DEMO_TENANT}`,
    adminToken,
    undefined,
    [200, 404],
  );
  const created = existing.status === 404;
  if (created) {
    const { body } = await api("POST", "/v1/platform/tenants", adminToken, {
      slug: DEMO_TENANT,
      name: "Demo Bistro",
      currency: CURRENCY,
      timezone: "America/New_York",
      taxRateBps: 875,
    });
    // Any keys already in the state file belong to a database that no longer exists.
    state = { ownerKey: /** @type {{ ownerKey: string }} */ (body).ownerKey };
    await writeState(stateFile, state);
  }
  const ownerKey = state.ownerKey;
  if (!ownerKey) {
    throw new Error(
      `tenant ${DEMO_TENANT} exists but its owner key is not in ${stateFile} (keys are shown ` +
        "only once). Delete the local data (.wrangler/state for npm start) to seed afresh.",
    );
  }

  await ensureMenu(api, ownerKey);
  await ensureDiscount(api, ownerKey);
  await ensureSandboxPos(api, ownerKey);
  // Saved one at a time: a key the API has shown and we lost could never be read again.
  if (!state.staffKey) {
    state.staffKey = await createKey(api, ownerKey, "staff");
    await writeState(stateFile, state);
  }
  if (!state.terminalKey) {
    state.terminalKey = await createKey(api, ownerKey, "terminal");
    await writeState(stateFile, state);
  }

  return {
    tenant: DEMO_TENANT,
    ownerKey,
    staffKey: state.staffKey,
    terminalKey: state.terminalKey,
    created,
  };
}

/**
 * @param {Api} api
 * @param {string} ownerKey
 * @param {"staff" | "terminal"} role
 * @returns {Promise<string>} the new key, which the API shows only this once
 */
async function createKey(api, ownerKey, role) {
  const { body } = await api("POST", `/v1/admin/${DEMO_TENANT}/keys`, ownerKey, {
    role,
    label: `demo ${role}`,
  });
  return /** @type {{ key: string }} */ (body).key;
}

/**
 * Creates the menu items that are not there yet (matched by name).
 * @param {Api} api
 * @param {string} ownerKey
 */
async function ensureMenu(api, ownerKey) {
  const path = `/v1/admin/${DEMO_TENANT}/menu/items`;
  const { body } = await api("GET", path, ownerKey);
  const { items } = /** @type {{ items: { name: string }[] }} */ (body);
  const have = new Set(items.map((item) => item.name));
  for (const item of MENU) {
    if (have.has(item.name)) continue;
    await api("POST", path, ownerKey, {
      name: item.name,
      description: item.description,
      price: usd(item.price),
      available: true,
      posItemId: item.posItemId,
      modifiers: item.modifiers.map((m) => ({
        name: m.name,
        price: usd(m.price),
        posModifierId: m.posModifierId,
      })),
    });
  }
}

/**
 * @param {Api} api
 * @param {string} ownerKey
 */
async function ensureDiscount(api, ownerKey) {
  const path = `/v1/admin/${DEMO_TENANT}/discounts`;
  const { body } = await api("GET", path, ownerKey);
  const { items } = /** @type {{ items: { code: string }[] }} */ (body);
  if (items.some((d) => d.code === DISCOUNT.code)) return;
  await api("POST", path, ownerKey, DISCOUNT);
}

/**
 * Connects the in-process sandbox POS (simulated latency, occasional
 * retryable failures), so paid demo orders go through the real submission
 * pipeline: queue, retries, sync history and alerts.
 * @param {Api} api
 * @param {string} ownerKey
 */
async function ensureSandboxPos(api, ownerKey) {
  const { body } = await api("GET", `/v1/admin/${DEMO_TENANT}/pos/integration`, ownerKey);
  if (/** @type {{ integration: unknown }} */ (body).integration) return;
  await api(
    "POST",
    `/v1/admin/${DEMO_TENANT}/pos/connect`,
    ownerKey,
    {
      provider: "sandbox",
      locationId: "demo-kitchen",
      credentials: { latencyMs: "400", failureRate: "0.1" },
      settings: { autoSync: true, failurePolicy: "hold" },
    },
    [200],
  );
}

/**
 * @callback Api
 * @param {"GET" | "POST"} method
 * @param {string} urlPath
 * @param {string} token a bearer token
 * @param {unknown} [body] sent as JSON
 * @param {number[]} [expected] statuses that are not an error
 * @returns {Promise<{ status: number, body: unknown }>}
 */

/**
 * A tiny JSON client: throws with the method, path, status and body on an unexpected status.
 * The default expected status is 200 for GET and 201 for POST.
 * @param {string} baseUrl
 * @returns {Api}
 */
function client(baseUrl) {
  return async (method, urlPath, token, body, expected) => {
    const res = await fetch(`${baseUrl}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const ok = expected ?? [method === "POST" ? 201 : 200];
    if (!ok.includes(res.status)) {
      const hint = res.status === 401 ? " (is ADMIN_TOKEN or the saved key right?)" : "";
      throw new Error(`seed: ${method} ${urlPath} answered ${res.status}${hint}: ${text}`);
    }
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/**
 * @typedef {{ ownerKey?: string, staffKey?: string, terminalKey?: string }} SeedState
 */

/**
 * @param {string} stateFile
 * @returns {Promise<SeedState>}
 */
async function readState(stateFile) {
  if (!existsSync(stateFile)) return {};
  try {
    const parsed = JSON.parse(await readFile(stateFile, "utf8"));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Writes via a temporary file and rename, so an interrupted write never loses the keys.
 * @param {string} stateFile
 * @param {SeedState} state
 */
async function writeState(stateFile, state) {
  await mkdir(path.dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, stateFile);
}
