import { defineConfig } from "vitest/config";

// Browser tests: Node drives a real `wrangler dev` and Chromium (playwright-core; the binary is
// CHROMIUM_PATH, a system Chromium, or the one inside @sparticuz/chromium, never a downloaded
// browser: test/browser/chromium.ts) through the pages a restaurant uses, such as /terminal/.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // A child process per file, so a crashed run still kills its wrangler and Chromium on exit.
    pool: "forks",
    // Two files at a time, each with its own wrangler (getFreePort) and Chromium.
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { concurrent: false },
    testTimeout: 180_000,
    // Longer than starting a server can take before startDevServer gives up (60 s migrations,
    // then 90 s until /openapi.json answers), plus building the pages and starting Chromium
    // (unpacking @sparticuz/chromium the first time).
    hookTimeout: 210_000,
    teardownTimeout: 30_000,
  },
});
