import { defineConfig } from "vitest/config";

// Browser tests: Node drives a real `wrangler dev` and Debian's Chromium (playwright-core,
// never a downloaded browser) through the pages a restaurant uses, such as /terminal/.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // A child process per file, so a crashed run still kills its wrangler and Chromium on exit.
    pool: "forks",
    // One wrangler and one Chromium at a time.
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
