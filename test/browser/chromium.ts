import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { until } from "../wait";

// The one place the browser tests get their Chromium from. Nothing here ever downloads a browser:
//
// 1. `CHROMIUM_PATH`, when set (it must exist);
// 2. else a system Chromium on PATH (Debian's `chromium`, Ubuntu's `chromium-browser`, …);
// 3. else the headless Chromium shipped inside the npm package `@sparticuz/chromium` (a
//    devDependency), unpacked once per package version into node_modules/.cache.
//
// @sparticuz/chromium's `executablePath()` brotli-inflates bin/chromium.br, bin/fonts.tar.br and
// bin/swiftshader.tar.br into `os.tmpdir()` and returns `<tmpdir>/chromium`, reusing whatever
// file is already there (https://github.com/Sparticuz/chromium#usage-with-playwright). A shared
// /tmp could hold a half-written or older binary, so it inflates into a fresh directory of ours
// (TMPDIR pointed there for the call) that is then renamed into place whole: a concurrent run
// sees either no directory or a complete one. The binary is a headless shell linked only against
// libc, libgcc and libexpat, so it runs on a machine with no browser packages at all.
//
// Launch arguments: the package's own `chromium.args` are tuned for AWS Lambda (`--single-process`
// against Lambda's prctl(PR_SET_NO_NEW_PRIVS) failure, `--disable-web-security`, …) and are not
// wanted here. What it needs on an ordinary Linux machine is `--no-sandbox` (the tests may run as
// root, where Chromium refuses its sandbox) and fonts: its fontconfig is built in and, with no
// system fonts and no config, lays every line of text out zero pixels high, so Playwright counts
// the text as hidden. Its bundled fonts.conf names Lambda's font directories only, so a config
// naming the inflated Open Sans is written beside it and passed as FONTCONFIG_FILE.

export interface ChromiumBinary {
  executablePath: string;
  /** Where it was found, for messages. */
  source: "CHROMIUM_PATH" | "system" | "@sparticuz/chromium";
  /** Extra environment for the browser process. */
  env: Record<string, string>;
}

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SYSTEM_NAMES = ["chromium", "chromium-browser"];
const PACKAGE_CACHE = path.join(PROJECT_ROOT, "node_modules/.cache/orderlane-chromium");

/** Arguments for every launch, whichever binary it is. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The Chromium to launch: CHROMIUM_PATH, else a system Chromium on PATH, else the packaged one. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumBinary> {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable`);
    return { executablePath: fromEnv, source: "CHROMIUM_PATH", env: {} };
  }
  const system = systemChromium(env.PATH ?? "");
  if (system) return { executablePath: system, source: "system", env: {} };
  return packagedChromium();
}

function systemChromium(searchPath: string): string | undefined {
  for (const name of SYSTEM_NAMES) {
    for (const dir of searchPath.split(path.delimiter)) {
      if (!dir) continue;
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary from @sparticuz/chromium, unpacked into node_modules/.cache on first use. */
async function packagedChromium(): Promise<ChromiumBinary> {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `no Chromium found: no system chromium on PATH, and @sparticuz/chromium ships Linux x64 ` +
        `only (this is ${process.platform} ${process.arch}); set CHROMIUM_PATH`,
    );
  }
  const manifest = JSON.parse(
    await readFile(
      path.join(PROJECT_ROOT, "node_modules/@sparticuz/chromium/package.json"),
      "utf8",
    ),
  ) as { version: string };
  const dir = path.join(PACKAGE_CACHE, manifest.version);
  const binary = {
    executablePath: path.join(dir, "chromium"),
    source: "@sparticuz/chromium" as const,
    env: { FONTCONFIG_FILE: path.join(dir, "orderlane-fonts.conf") },
  };
  if (existsSync(binary.executablePath)) return binary;

  await mkdir(PACKAGE_CACHE, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(staging);
  try {
    const { default: packaged } = await import("@sparticuz/chromium");
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    let inflated: string;
    try {
      inflated = await packaged.executablePath();
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    }
    if (inflated !== path.join(staging, "chromium")) {
      throw new Error(`@sparticuz/chromium inflated to ${inflated}, not into ${staging}`);
    }
    await writeFile(
      path.join(staging, "orderlane-fonts.conf"),
      [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
        "<fontconfig>",
        `  <dir>${path.join(dir, "fonts")}</dir>`,
        `  <cachedir>${path.join(dir, "fonts-cache")}</cachedir>`,
        "</fontconfig>",
        "",
      ].join("\n"),
    );
    try {
      await rename(staging, dir);
    } catch (err) {
      // Another run renamed its complete copy into place first; use that one.
      if (!existsSync(binary.executablePath)) throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return binary;
}

/** Finds Chromium (see above) and launches it headless. */
export async function launchChromium(): Promise<{ browser: Browser; binary: ChromiumBinary }> {
  const binary = await findChromium();
  try {
    const browser = await chromium.launch({
      executablePath: binary.executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, ...binary.env },
    });
    console.info(`Chromium ${browser.version()} from ${binary.source}: ${binary.executablePath}`);
    return { browser, binary };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `could not launch Chromium from ${binary.source} (${binary.executablePath}): ${reason}`,
    );
  }
}

/** Chromium processes started by this test process (directly or by their children). */
export function chromiumDescendants(): number[] {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      names.set(Number(entry), name);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const queue = [process.pid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      if (/chrom/i.test(names.get(child) ?? "")) found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Closes the browser and waits until none of its processes is left. */
export async function closeChromium(browser: Browser | undefined, ms = 10_000): Promise<void> {
  const pids = chromiumDescendants();
  await browser?.close();
  await until(() => pids.every((pid) => !isAlive(pid)), Boolean, ms, "Chromium to exit");
}
