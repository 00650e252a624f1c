// @ts-check
// `npm start`: a local Orderlane with a seeded demo tenant, ready to click through.
//
// Data lives in .wrangler/state (gitignored), so orders and keys survive restarts; delete
// that directory to start from scratch.

import { constants, copyFileSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { parseEnv } from "node:util";
import { PROJECT_ROOT, startDevServer } from "./dev-server.mjs";
import { DEMO_TENANT, seedDemo } from "./seed-demo.mjs";

const DEV_VARS = path.join(PROJECT_ROOT, ".dev.vars");
const DEV_VARS_EXAMPLE = path.join(PROJECT_ROOT, ".dev.vars.example");
const PERSIST_DIR = path.join(PROJECT_ROOT, ".wrangler/state");
// Beside the data it unlocks: removing .wrangler/state removes both.
const SEED_STATE = path.join(PERSIST_DIR, "demo-seed.json");

/** @type {import("./dev-server.mjs").DevServer | undefined} */
let server;
let shuttingDown = false;

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, () => void shutdown(signal));
}

try {
  await main();
} catch (err) {
  console.error(`\n✖ ${err instanceof Error ? err.message : String(err)}`);
  shuttingDown = true;
  await server?.stop();
  process.exit(1);
}

async function main() {
  const port = Number.parseInt(process.env.PORT ?? "8787", 10);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`PORT must be a TCP port number, got "${process.env.PORT}"`);
  }

  const adminToken = readAdminToken();
  await assertPortFree(port);

  console.log(`Starting Orderlane on port ${port} (data in ${relative(PERSIST_DIR)}) …`);
  server = await startDevServer({
    port,
    persistTo: PERSIST_DIR,
    log: (chunk) => process.stdout.write(chunk),
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
  printBanner(server.url, keys, example);
}

/** Copies .dev.vars.example to .dev.vars on first run and returns ADMIN_TOKEN from it. */
function readAdminToken() {
  if (!existsSync(DEV_VARS)) {
    copyFileSync(DEV_VARS_EXAMPLE, DEV_VARS, constants.COPYFILE_EXCL);
    console.log(`Created ${relative(DEV_VARS)} from ${relative(DEV_VARS_EXAMPLE)}.`);
  }
  const token = parseEnv(readFileSync(DEV_VARS, "utf8")).ADMIN_TOKEN;
  if (!token) throw new Error(`ADMIN_TOKEN is missing from ${relative(DEV_VARS)}`);
  return token;
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
        inUse ? new Error(`port ${port} is already in use; try PORT=${port + 1} npm start`) : err,
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
 */
function printBanner(url, keys, example) {
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
    `  Terminal          ${url}/terminal/`,
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
    "  Discount code WELCOME10 takes 10% off orders from $15.00.",
    `  ${seeded} Press Ctrl-C to stop.`,
    rule,
    "",
  ];
  console.log(text.join("\n"));
}

/**
 * Stops wrangler (and its workerd) before exiting, whatever stage startup reached.
 * @param {NodeJS.Signals} signal
 */
async function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`\nReceived ${signal}, stopping Orderlane …`);
  // Before the server handle exists, dev-server's exit hook kills the half-started wrangler.
  await server?.stop();
  process.exit(0);
}

/** @param {string} file */
function relative(file) {
  return path.relative(process.cwd(), file) || ".";
}
