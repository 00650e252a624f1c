// @ts-check
// Copies Swagger UI's browser files from the pinned npm package swagger-ui-dist into public/docs/,
// beside the committed public/docs/index.html and init.js, so the reference page at /docs/ is
// served whole by the Worker's static assets and never loads anything from another host. The
// copies are generated, not committed: wrangler runs this (through tools/build-assets.mjs) as the
// custom build of `wrangler dev` and `wrangler deploy`.
// https://github.com/swagger-api/swagger-ui/blob/master/docs/usage/installation.md (swagger-ui-dist)

import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "node_modules/swagger-ui-dist");
/** Where the copies go (the copied files are git-ignored; index.html and init.js are not). */
export const OUT_DIR = path.join(ROOT, "public/docs");
/** What public/docs/index.html loads: the bundle (with its licence notice), its styles, icons. */
export const DOCS_FILES = [
  "swagger-ui-bundle.js",
  "swagger-ui-bundle.js.LICENSE.txt",
  "swagger-ui.css",
  "favicon-32x32.png",
  "favicon-16x16.png",
];

/**
 * Copies the files. Each is written beside its target and renamed into place, so a server
 * reading it meanwhile (several `wrangler dev` may build at once) never sees half a file.
 * @returns {Promise<string[]>} the files written
 */
export async function buildDocs() {
  await mkdir(OUT_DIR, { recursive: true });
  const written = [];
  for (const name of DOCS_FILES) {
    const target = path.join(OUT_DIR, name);
    const temporary = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await copyFile(path.join(DIST, name), temporary);
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
    written.push(path.relative(ROOT, target));
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`docs: copied ${(await buildDocs()).join(", ")}`);
}
