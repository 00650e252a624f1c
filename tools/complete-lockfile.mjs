// Adds lock entries for other platforms' optional binaries (workerd, biome, …).
//
// This machine's package registry serves only the Linux builds of such
// packages, so `npm install` leaves their siblings for macOS, Windows or musl
// out of package-lock.json, and `npm ci` then refuses the lock as out of sync.
// The entries are copied from the sibling that is there, with the platform
// fields read from the package name; npm skips them on non-matching machines.
// Run after every `npm install` that changes the lock: `npm run lock:complete`.
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const packages = lock.packages;

/** The lock key npm would resolve `name` to from the package at `from`. */
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return null;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut === -1 ? "" : dir.slice(0, cut);
  }
}

function platformOf(name) {
  const tail = name.split("/").pop();
  const os = [
    "darwin",
    "linux",
    "win32",
    "windows",
    "android",
    "freebsd",
    "openbsd",
    "sunos",
    "aix",
  ].find((o) => tail.includes(`-${o}`));
  const cpu =
    ["arm64", "x64", "ia32", "arm", "ppc64", "s390x", "riscv64", "loong64"].find((c) =>
      new RegExp(`-${c}(?:-|$)`).test(tail),
    ) ?? (/-64(?:-|$)/.test(tail) ? "x64" : null);
  return { os: os === "windows" ? "win32" : os, cpu, musl: tail.includes("musl") };
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies ?? {};
  const names = Object.keys(optional);
  const present = names
    .map((n) => resolve(key, n))
    .filter((found, i) => found && packages[found].version === optional[names[i]]);
  if (present.length === 0) continue;
  const template = packages[present[0]];
  const prefix = present[0].slice(
    0,
    present[0].lastIndexOf("node_modules/") + "node_modules/".length,
  );
  for (const name of names) {
    const found = resolve(key, name);
    if (found && packages[found].version === optional[name]) continue;
    const { os, cpu, musl } = platformOf(name);
    if (!os || !cpu) continue;
    const copy = { ...template, version: optional[name], os: [os], cpu: [cpu] };
    delete copy.integrity;
    delete copy.resolved;
    delete copy.bin;
    if (template.libc) copy.libc = [musl ? "musl" : "glibc"];
    packages[`${prefix}${name}`] = copy;
    added += 1;
  }
}

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, "en")),
);
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
