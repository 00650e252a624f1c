// @ts-check
// `npm run typecheck`: the three TypeScript projects (the Worker and its tests, the Node side,
// the browser pages) checked side by side, each `tsc --noEmit -p <project>`. One after another
// they took 24 s on a 2-core machine, mostly the Worker's; side by side, about as long as that
// one. Each project's output is printed whole once it is done; any failure fails the run.

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const PROJECTS = ["tsconfig.json", "tsconfig.node.json", "tsconfig.web.json"];

/**
 * @param {string} project
 * @returns {Promise<{ project: string, code: number | null, output: string }>}
 */
function check(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSC, "--noEmit", "-p", project], { cwd: ROOT });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ project, code, output }));
  });
}

const results = await Promise.all(PROJECTS.map(check));
for (const { project, code, output } of results) {
  if (output) process.stdout.write(output);
  if (code !== 0) console.error(`✖ tsc -p ${project} failed (exit ${code})`);
}
process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
