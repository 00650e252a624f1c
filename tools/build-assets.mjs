// @ts-check
// The custom build of `wrangler dev` and `wrangler deploy` ([build] in wrangler.toml): everything
// in public/ that is generated rather than committed. The terminal screen's bundle
// (tools/build-terminal.mjs) and Swagger UI's files for /docs/ (tools/build-docs.mjs).

import { buildDocs } from "./build-docs.mjs";
import { buildTerminal } from "./build-terminal.mjs";

const [terminal, docs] = await Promise.all([
  buildTerminal({ minify: !process.argv.includes("--no-minify") }),
  buildDocs(),
]);
console.log(`terminal: built ${terminal.join(", ")}`);
console.log(`docs: copied ${docs.join(", ")}`);
