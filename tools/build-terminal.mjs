// @ts-check
// Bundles the terminal screen (web/terminal/*.ts) into public/terminal/app.js, which the
// Worker serves as a static asset at /terminal/. The bundle is generated, not committed:
// wrangler runs this as the custom build of `wrangler dev` and `wrangler deploy`.

import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = path.join(ROOT, "web/terminal/main.ts");
/** Where the bundle goes (git-ignored). */
export const OUT_DIR = path.join(ROOT, "public/terminal");

/**
 * Builds the bundle and its source map. Each file is written beside its target and renamed
 * into place, so a server reading it meanwhile (several `wrangler dev` may build at once)
 * never sees half a file.
 * @param {{ minify?: boolean }} [options]
 * @returns {Promise<string[]>} the files written
 */
export async function buildTerminal({ minify = true } = {}) {
  const result = await build({
    entryPoints: { app: ENTRY },
    outdir: OUT_DIR,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome111", "safari16.4", "firefox115"],
    minify,
    sourcemap: "linked",
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
    write: false,
  });
  await mkdir(OUT_DIR, { recursive: true });
  const written = [];
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temporary, file.contents);
      await rename(temporary, file.path);
    } finally {
      await rm(temporary, { force: true });
    }
    written.push(path.relative(ROOT, file.path));
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await buildTerminal({ minify: !process.argv.includes("--no-minify") });
  console.log(`terminal: built ${files.join(", ")}`);
}
