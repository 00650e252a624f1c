import { availableParallelism } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";

// Worker tests run inside workerd with the project's wrangler.toml: real
// local D1, Durable Objects and Queues. The POS vendor double and the Stripe
// double run on the Node side (test/pos-double.setup.ts); the adapters reach
// them through the POS_*_BASE_URL and STRIPE_API_BASE bindings.
//
// Test files run at the same time and do not share state. Each file gets a
// runtime of its own (one Miniflare, so its own D1, Durable Objects, Queues and
// rate limiters), and the options function below runs once for each of those
// runtimes, as it starts: it takes a namespace of each double for the file, a
// fresh double on a port of its own, so a file's faults, modes, resets and
// recorded requests never reach another's.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // The [[ratelimits]] bindings' limits, so the rate limit tests follow wrangler.toml.
  const rateLimits: Record<string, { limit: number; period: number }> = {};
  for (const binding of unstable_readConfig({ config: "./wrangler.toml" }).ratelimits) {
    rateLimits[binding.name] = binding.simple;
  }
  return {
    plugins: [
      cloudflareTest(async ({ inject }) => {
        const [double, stripe] = await Promise.all([
          namespaceOf(inject("posDoubleUrl")),
          namespaceOf(inject("stripeDoubleUrl")),
        ]);
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
              // Square's OAuth app; the double plays Square's authorize page and token endpoint.
              SQUARE_APP_ID: "sq0idp-orderlane-tests",
              SQUARE_APP_SECRET: "sq0csp-orderlane-tests-secret",
              CLOVER_APP_ID: "ORDERLANECLOVERAPP",
              CLOVER_APP_SECRET: "clover-app-secret-for-tests",
              POS_CLOVER_AUTHORIZE_URL: `${double}/clover`,
              // The app-wide Clover webhook URL's auth code (X-Clover-Auth).
              CLOVER_WEBHOOK_AUTH_CODE: "clover-app-auth-code",
              // Not the origin requests arrive on (http://orderlane.test): Square's signature is
              // checked over this one, as behind a proxy or custom host.
              PUBLIC_BASE_URL: "https://orders.orderlane.example",
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
      // Each file's runtime loads the Worker's module graph afresh; these packages, many small
      // modules each, are bundled once (Vite's dependency optimizer) and then loaded as one file:
      // a file's setup went from about 5.9 s to 3.4 s. Every entry point the code imports is
      // listed, so the bundles share one copy of each class (hono's HTTPException, drizzle's
      // entities). hono/context-storage is left out: it imports node:async_hooks, which the
      // optimizer cannot load, and nothing else of hono's.
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              "stripe",
              "zod",
              "@hono/zod-openapi",
              "hono",
              "hono/body-limit",
              "hono/html",
              "hono/http-exception",
              "drizzle-orm",
              "drizzle-orm/batch",
              "drizzle-orm/d1",
              "drizzle-orm/sqlite-core",
            ],
          },
        },
      },
      globalSetup: ["./test/pos-double.setup.ts"],
      // Files are independent (see the top of this file). Vitest's default of one worker fewer
      // than there are cores would run them one by one on a 2-core machine; a file spends much
      // of its time waiting (on its runtime starting, on the doubles, on a rate-limit window), so
      // one worker per core keeps both cores busy.
      fileParallelism: true,
      maxWorkers: Math.max(2, availableParallelism()),
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

/** A namespace of the double at `url` (POST /_control/namespaces): the URL of a fresh double of its own. */
async function namespaceOf(url: string): Promise<string> {
  const res = await fetch(`${url}/_control/namespaces`, { method: "POST" });
  if (res.status !== 201) throw new Error(`${url}/_control/namespaces answered ${res.status}`);
  return ((await res.json()) as { url: string }).url;
}
