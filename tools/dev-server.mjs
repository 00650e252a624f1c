// @ts-check
// Starts a real local Orderlane (`wrangler dev --local`) for `npm start` and the e2e tests.
//
// Wrangler runs in its own process group (it spawns a second Node process, which spawns
// workerd), so stopping it means signalling the whole group and waiting until no member is
// left; killing only the direct child would leave workerd holding the port and the SQLite files.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";
import { parseCron } from "./cron.mjs";

/** The project root (the directory holding wrangler.toml). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const WRANGLER_ENTRY = path.join(PROJECT_ROOT, "node_modules/wrangler/bin/wrangler.js");
const PROJECT_NODE = path.join(PROJECT_ROOT, "node_modules/.bin/node");
const MIN_NODE = /** @type {const} */ ([22, 12]);

const READY_TIMEOUT_MS = 90_000;
const MIGRATE_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
/** Longest wait for one cron pass of the Worker. */
const SCHEDULED_TIMEOUT_MS = 60_000;
const OUTPUT_LIMIT = 64 * 1024;
/** Ports picked by getFreePort start here: above the well-known and common service ports. */
const PICKED_PORTS_FROM = 10_000;
/** Slices of that range, one per vitest worker id (modulo). */
const PORT_SLICES = 16;

/**
 * Process groups started here and not yet stopped. Being detached, they would not get the
 * terminal's Ctrl-C nor die with us, so they are killed when this process exits or is
 * signalled, as a last resort behind `stop()`.
 * @type {Set<number>}
 */
const liveGroups = new Set();
process.once("exit", killLiveGroups);
// A vitest fork outlives a runner that was killed; the runner's IPC channel closing says so.
process.once("disconnect", killLiveGroups);
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, function onSignal() {
    // An application that handles the signal itself (npm start stops gracefully) decides.
    if (process.listenerCount(signal) > 1) return;
    killLiveGroups();
    // Then die of the same signal, as if this handler had not been installed.
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  });
}

function killLiveGroups() {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
  liveGroups.clear();
}

/**
 * Picks a TCP port that is free on 127.0.0.1 right now and stays so until the caller binds it.
 *
 * A port the OS chose for port 0 comes from the kernel's ephemeral range, and once released it
 * can be handed out again at once: to another wrangler's internal listener or to any outgoing
 * connection's local end. With test files running side by side, that happened in the seconds
 * between picking and binding (wrangler binds only after the migrations). So on Linux the port
 * comes from below the ephemeral range (`ip_local_port_range`), where the OS never assigns one,
 * and from a slice of it that is this vitest worker's own (`VITEST_POOL_ID` is unique among the
 * workers running at once), so two files picking at the same moment cannot pick the same port.
 * Elsewhere, the OS chooses.
 * @returns {Promise<number>}
 */
export async function getFreePort() {
  const below = ephemeralRangeStart();
  if (below === undefined || below <= PICKED_PORTS_FROM + PORT_SLICES) return osAssignedPort();
  const sliceSize = Math.floor((below - PICKED_PORTS_FROM) / PORT_SLICES);
  const worker = Number(process.env.VITEST_POOL_ID ?? process.pid);
  const sliceStart = PICKED_PORTS_FROM + (worker % PORT_SLICES) * sliceSize;
  const first = Math.floor(Math.random() * sliceSize);
  for (let i = 0; i < Math.min(sliceSize, 200); i++) {
    const port = sliceStart + ((first + i) % sliceSize);
    if (await canListen(port)) return port;
  }
  return osAssignedPort();
}

/** The first port of the kernel's ephemeral range, where Linux says it. */
function ephemeralRangeStart() {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** @returns {Promise<number>} a port the OS chose (port 0), released again */
function osAssignedPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * @typedef {object} DevServerOptions
 * @property {number} port Port for `wrangler dev` on 127.0.0.1.
 * @property {string} persistTo Directory for local D1, Durable Object and queue state.
 * @property {Record<string, string>} [vars] Vars and secrets; they override `.dev.vars`.
 * @property {(chunk: string) => void} [log] Receives wrangler's output as it arrives (the
 *   migrations step as one summary).
 * @property {number} [readyTimeoutMs] How long to wait for `/openapi.json` (default 90 s).
 * @property {boolean} [testScheduled] Start wrangler with `--test-scheduled`, for a caller that
 *   fires the cron triggers itself (`triggerScheduled`): wrangler then does not warn that it
 *   does not, and also serves the documented `/__scheduled` route.
 */

/**
 * @typedef {object} DevServer
 * @property {string} url Base URL, without a trailing slash.
 * @property {number} port
 * @property {() => string} output The most recent wrangler output (for failure messages).
 * @property {() => Promise<void>} stop Stops wrangler and workerd; safe to call twice.
 * @property {Promise<number | null>} exited Settles when the wrangler process exits.
 */

/**
 * Applies the D1 migrations to `persistTo`, then runs `wrangler dev` against the same state
 * and resolves once `GET /openapi.json` answers 200.
 * @param {DevServerOptions} options
 * @returns {Promise<DevServer>}
 */
export async function startDevServer({
  port,
  persistTo,
  vars = {},
  log = () => {},
  readyTimeoutMs = READY_TIMEOUT_MS,
  testScheduled = false,
}) {
  if (!Number.isInteger(port) || port <= 0) throw new Error(`invalid port: ${port}`);
  if (!persistTo) throw new Error("persistTo is required");
  const persistDir = path.resolve(PROJECT_ROOT, persistTo);

  // `d1 migrations apply` prints the pending list, then the whole status table again after
  // each migration ("The progress of each migration will be printed", `wrangler d1 migrations
  // apply --help`): a fresh database got ten tables. Only its last table is passed on.
  const migrated = await runWrangler(
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir],
    { timeoutMs: MIGRATE_TIMEOUT_MS },
  );
  log(summarizeMigrations(migrated));

  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  // Left to itself, wrangler takes 9229 for the inspector when a probe finds it free: two
  // wranglers starting at once both found it free and the second died with "Address already in
  // use". So each gets a port of its own, never the one it serves on.
  let inspectorPort = await getFreePort();
  while (inspectorPort === port) inspectorPort = await getFreePort();
  const child = spawnWrangler([
    "dev",
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    ...(testScheduled ? ["--test-scheduled"] : []),
    // Passed as bindings, which wrangler layers over wrangler.toml [vars] and .dev.vars.
    ...varArgs,
  ]);
  const output = captureOutput(child, log);
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  /** @type {Promise<void> | undefined} */
  let stopping;
  const stop = () => {
    stopping ??= killGroup(child.pid);
    return stopping;
  };

  try {
    await waitUntilReady(`${url}/openapi.json`, exited, readyTimeoutMs);
  } catch (err) {
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `wrangler dev did not become ready: ${reason}\n--- wrangler output ---\n${output()}`,
    );
  }
  return { url, port, output, stop, exited };
}

/**
 * What `wrangler d1 migrations apply` did, in a few lines: its final status table when it
 * applied something, its one line when there was nothing to apply, else its whole output.
 * @param {string} output
 */
export function summarizeMigrations(output) {
  const lines = output.split("\n").map((line) => line.trimEnd());
  const none = lines.find((line) => line.includes("No migrations to apply"));
  if (none !== undefined) return `D1: ${none.replace(/^\W+/, "")}\n`;
  const end = lines.findLastIndex((line) => line.startsWith("└"));
  const start = end === -1 ? -1 : lines.findLastIndex((line, i) => i < end && line.startsWith("┌"));
  if (start === -1) return output;
  const count = /About to apply (\d+) migration/.exec(output)?.[1];
  const heading = count ? `D1: applied ${count} migration(s) locally:` : "D1 migrations:";
  return `${[heading, ...lines.slice(start, end + 1)].join("\n")}\n`;
}

/**
 * The Worker's Cron Triggers: `[triggers] crons` in wrangler.toml (the top-level ones; `npm
 * start` selects no environment), each checked to parse.
 * @param {string} [configPath]
 * @returns {string[]}
 * @throws {Error} naming the file when the table or an expression is malformed
 */
export function readCronTriggers(configPath = path.join(PROJECT_ROOT, "wrangler.toml")) {
  const config = parseToml(readFileSync(configPath, "utf8"));
  const triggers = config.triggers ?? {};
  const crons =
    typeof triggers === "object" && !Array.isArray(triggers) && !(triggers instanceof Date)
      ? (triggers.crons ?? [])
      : undefined;
  if (!Array.isArray(crons) || !crons.every((c) => typeof c === "string")) {
    throw new Error(`${configPath}: [triggers] crons must be a list of strings`);
  }
  for (const expression of crons) {
    try {
      parseCron(expression);
    } catch (err) {
      throw new Error(`${configPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return crons;
}

/**
 * Fires the Worker's scheduled handler once, as a Cron Trigger would, through the endpoint
 * that `wrangler dev` serves on its own port (miniflare's trigger handler; wrangler prints this
 * path itself when a Worker has crons, and rewrites the older `/cdn-cgi/handler/scheduled` to
 * it). Unlike the `/__scheduled` route of `--test-scheduled`
 * (https://developers.cloudflare.com/workers/configuration/cron-triggers/#test-cron-triggers),
 * which runs the handler inside a fetch with `scheduledTime` set to now, it dispatches a real
 * scheduled event with the given time and answers once the handler and its `waitUntil`
 * promises have settled, with the outcome: "ok", or "exception" when the handler threw.
 * @param {object} options
 * @param {string} options.url the dev server's base URL
 * @param {string} options.cron the expression the event carries (`controller.cron`)
 * @param {Date} options.scheduledTime `controller.scheduledTime`
 * @param {AbortSignal} [options.signal]
 * @returns {Promise<string>} the outcome
 */
export async function triggerScheduled({ url, cron, scheduledTime, signal }) {
  const query = new URLSearchParams({
    cron,
    time: String(scheduledTime.getTime()),
    format: "json",
  });
  const timeout = AbortSignal.timeout(SCHEDULED_TIMEOUT_MS);
  const res = await fetch(`${url}/cdn-cgi/local/scheduled?${query}`, {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await res.text();
  /** @type {unknown} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`the scheduled endpoint answered ${res.status}: ${text.slice(0, 200)}`);
  }
  const outcome = /** @type {{ outcome?: unknown }} */ (body)?.outcome;
  if (typeof outcome !== "string") {
    throw new Error(`the scheduled endpoint answered ${res.status}: ${text.slice(0, 200)}`);
  }
  return outcome;
}

/**
 * Runs one wrangler command to completion (in its own process group, killed on timeout).
 * @param {string[]} args
 * @param {{ log?: (chunk: string) => void, timeoutMs?: number }} [options]
 * @returns {Promise<string>} the command's output
 */
export async function runWrangler(args, { log = () => {}, timeoutMs = MIGRATE_TIMEOUT_MS } = {}) {
  const child = spawnWrangler(args);
  const output = captureOutput(child, log);
  const timer = setTimeout(() => void killGroup(child.pid), timeoutMs);
  try {
    const code = await new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (exitCode, signal) => resolve(exitCode ?? signal));
    });
    if (code !== 0) {
      throw new Error(`wrangler ${args.join(" ")} failed (${code}):\n${output()}`);
    }
    return output();
  } finally {
    clearTimeout(timer);
    // The command is done; make sure nothing it started (workerd) outlives it.
    await killGroup(child.pid);
  }
}

/**
 * Spawns wrangler's JS entry with a Node new enough for it, detached into a new group.
 * @param {string[]} args
 */
function spawnWrangler(args) {
  if (!existsSync(WRANGLER_ENTRY)) {
    throw new Error(`wrangler is not installed (${WRANGLER_ENTRY}); run npm install`);
  }
  const child = spawn(nodeForWrangler(), [WRANGLER_ENTRY, ...args], {
    cwd: PROJECT_ROOT,
    detached: true,
    // No stdin: wrangler must never wait for a keypress or a prompt answer.
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      FORCE_COLOR: "0",
      // Miniflare fetches the `Request.cf` properties from Cloudflare on start and prints a
      // stack trace when it cannot (offline, as here). "false" makes it use its placeholder
      // without trying; the Worker reads nothing from `request.cf`.
      // https://developers.cloudflare.com/workers/wrangler/system-environment-variables/
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
    },
  });
  if (child.pid === undefined) throw new Error("could not spawn wrangler");
  liveGroups.add(child.pid);
  return child;
}

/**
 * The Node binary to run wrangler with: this one if it is new enough (the npm scripts run
 * under the project's pinned Node 22), else the project's `node` devDependency.
 */
function nodeForWrangler() {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const [minMajor, minMinor] = MIN_NODE;
  const newEnough = major > minMajor || (major === minMajor && minor >= minMinor);
  if (newEnough || !existsSync(PROJECT_NODE)) return process.execPath;
  return PROJECT_NODE;
}

/**
 * Forwards a child's output to `log` and keeps its tail for error messages.
 * @param {import("node:child_process").ChildProcess} child
 * @param {(chunk: string) => void} log
 * @returns {() => string} the output so far
 */
function captureOutput(child, log) {
  let buffer = "";
  /** @param {Buffer} data */
  const onData = (data) => {
    const chunk = data.toString();
    buffer = (buffer + chunk).slice(-OUTPUT_LIMIT);
    log(chunk);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return () => buffer;
}

/**
 * Polls `url` until it answers 200, the process exits, or the deadline passes.
 * @param {string} url
 * @param {Promise<number | null>} exited
 * @param {number} timeoutMs
 */
async function waitUntilReady(url, exited, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  /** @type {number | null | undefined} */
  let exitCode;
  exited.then((code) => {
    exitCode = code;
  });
  let lastProblem = "no answer yet";
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`wrangler exited early (code ${exitCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      if (res.status === 200) return;
      lastProblem = `GET ${url} answered ${res.status}: ${body.slice(0, 500)}`;
    } catch (err) {
      lastProblem = `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s (${lastProblem})`);
}

/**
 * Stops a wrangler process group. The leader gets SIGTERM first, so wrangler runs its own
 * shutdown (disposing workerd, closing the local databases) rather than racing workerd's
 * death. Whatever is left after a grace period gets SIGTERM, then SIGKILL. Resolves once no
 * live process is left in the group.
 * @param {number | undefined} pgid the group leader's pid
 */
async function killGroup(pgid) {
  if (pgid === undefined) return;
  try {
    if (!groupAlive(pgid)) return;
    signalProcess(pgid, "SIGTERM");
    if (await waitForGroupExit(pgid, STOP_GRACE_MS)) return;
    signalGroup(pgid, "SIGTERM");
    if (await waitForGroupExit(pgid, STOP_GRACE_MS)) return;
    signalGroup(pgid, "SIGKILL");
    if (!(await waitForGroupExit(pgid, STOP_GRACE_MS))) {
      throw new Error(`processes in group ${pgid} survived SIGKILL`);
    }
  } finally {
    liveGroups.delete(pgid);
  }
}

/**
 * @param {number} pid a pid, or a negative process group id
 * @param {NodeJS.Signals | 0} signal
 */
function signalProcess(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== "ESRCH") throw err;
  }
}

/**
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function signalGroup(pgid, signal) {
  signalProcess(-pgid, signal);
}

/**
 * @param {number} pgid
 * @param {number} timeoutMs
 * @returns {Promise<boolean>} whether the group is gone
 */
async function waitForGroupExit(pgid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !groupAlive(pgid);
}

/**
 * Whether any non-zombie process is in the group. On Linux this reads /proc, because an
 * orphaned workerd can stay a zombie when PID 1 (as in many containers) never reaps it, and
 * `kill(-pgid, 0)` counts zombies as alive.
 */
/** @param {number} pgid */
function groupAlive(pgid) {
  if (process.platform === "linux" && existsSync("/proc/self/stat")) {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // exited while we looked
      }
      // Fields after the parenthesised command name: state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
