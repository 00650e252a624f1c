import type { D1Migration } from "cloudflare:test";

// Bindings that exist only in the Worker tests (see vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The POS vendor double's base URL (control API under /_control). */
      POS_DOUBLE_URL: string;
      /** wrangler.toml's [[ratelimits]] limits, by binding name. */
      TEST_RATE_LIMITS: Record<string, { limit: number; period: number }>;
    }
  }
}
