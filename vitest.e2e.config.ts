import { defineConfig } from "vitest/config";

// End-to-end tests run in plain Node and drive a real `wrangler dev` over HTTP, as a
// storefront would; each test file starts its own server (see tools/dev-server.mjs).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    // A child process per file, so a crashed run still kills its wrangler on exit.
    pool: "forks",
    // Two wranglers at a time (each is a few hundred MB of workerd, and starting one keeps a
    // core busy): on a 2-core machine that halves the run; each file has its own port
    // (getFreePort: this worker's slice, never the OS's ephemeral range) and state directory.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    // Longer than starting a server can take before startDevServer gives up with wrangler's
    // output (60 s for the migrations, then 90 s until /openapi.json answers), so a slow start
    // fails with that message, not with a bare hook timeout.
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
