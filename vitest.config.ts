import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";

// Worker tests run inside workerd with the project's wrangler.toml: real
// local D1, Durable Objects and Queues. Storage is isolated per test file.
// The POS vendor double runs on the Node side (test/pos-double.setup.ts) and
// the adapters reach it through the POS_*_BASE_URL bindings.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // The [[ratelimits]] bindings' limits, so the rate limit tests follow wrangler.toml.
  const rateLimits: Record<string, { limit: number; period: number }> = {};
  for (const binding of unstable_readConfig({ config: "./wrangler.toml" }).ratelimits) {
    rateLimits[binding.name] = binding.simple;
  }
  return {
    plugins: [
      cloudflareTest(({ inject }) => {
        const double = inject("posDoubleUrl");
        const stripe = inject("stripeDoubleUrl");
        return {
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: {
            bindings: {
              TEST_MIGRATIONS: migrations,
              // Thousands of requests per run; the access log has its own unit test.
              ACCESS_LOG: "off",
              TEST_RATE_LIMITS: rateLimits,
              ADMIN_TOKEN: "test-admin-token-0123456789",
              CREDENTIALS_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
              STRIPE_WEBHOOK_SECRET: "whsec_test_secret",
              STRIPE_SECRET_KEY: "sk_test_worker_tests",
              STRIPE_PUBLISHABLE_KEY: "pk_test_worker_tests",
              STRIPE_API_BASE: stripe,
              // Small, so the per-tenant terminal limit can be tested.
              MAX_TERMINALS_PER_TENANT: "3",
              // Small, so the exact (RateCounter) limits can be reached within a test.
              TICKETS_PER_KEY_PER_MINUTE: "6",
              SOCKETS_PER_KEY_PER_MINUTE: "6",
              SOCKETS_PER_TENANT_PER_MINUTE: "10",
              POS_TOAST_BASE_URL: `${double}/toast`,
              POS_CLOVER_BASE_URL: `${double}/clover`,
              POS_SQUARE_BASE_URL: `${double}/square`,
              POS_DOUBLE_URL: double,
              // Short, so a slow POS answer is a timeout within a test.
              POS_TIMEOUT_MS: "1500",
            },
          },
        };
      }),
    ],
    test: {
      include: ["test/**/*.worker.test.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      globalSetup: ["./test/pos-double.setup.ts"],
      // One file at a time: the files share the two vendor doubles, whose faults, modes and
      // recorded requests are global (a reset in one file would wipe another's). On a 2-core
      // machine vitest would run them one by one anyway.
      fileParallelism: false,
      // Explicit, and well above every bounded wait in the Worker tests (test/wait.ts `until`
      // defaults to 8 s, a socket's waitFor to 5 s, the longest explicit ones are 10 s): with
      // vitest's default of 5 s a slow wait on a loaded machine ended as a bare "Test timed out"
      // before the wait could say what it was waiting for. Tests that wait for a fresh rate-limit
      // window or fuzz many routes set longer timeouts of their own.
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
