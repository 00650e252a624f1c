import { z } from "zod";
import {
  type CreatedPosOrder,
  type PosAdapter,
  type PosCallOptions,
  type PosConnection,
  type PosDraftProblem,
  PosError,
  type PosLocationInfo,
  type PosOrder,
  type PosSession,
  type PosStatusReport,
} from "./types";

/*
 * The sandbox POS: an in-process stand-in for a restaurant's POS, so the
 * local demo shows the whole path (queue, retries, alerts) without a network
 * or an account. It answers after `credentials.latencyMs` (default 300) and
 * fails, as a retryable `server_error`, with probability
 * `credentials.failureRate` (0 to 1, default 0). Both arrive as strings, like
 * every credential.
 *
 * Ids are derived from our order id, so a retried order gets the same id; an
 * isolate also remembers what it created, so a repeat reports
 * `alreadyExisted`. That memory is per isolate (a Worker may run several):
 * good enough for a demo, and the id stays stable either way.
 */

const settingsSchema = z.object({
  latencyMs: z.coerce.number().int().min(0).max(120_000).default(300),
  failureRate: z.coerce.number().min(0).max(1).default(0),
});

/** What the sandbox uses for chance and for waiting; replaced in tests by {@link setSandboxHooks}. */
export interface SandboxHooks {
  /** A number in [0, 1), like `Math.random`. */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

const DEFAULT_HOOKS: SandboxHooks = {
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

let hooks: SandboxHooks = DEFAULT_HOOKS;

/** Hex SHA-256 (local: src/crypto.ts does not type-check under the Node config the adapter tests use). */
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Our order id → the sandbox's id, for the orders this isolate has created. */
const created = new Map<string, string>();
/** Bounds the memory of a long-running demo isolate; the oldest entries go first. */
const MAX_REMEMBERED = 10_000;

/**
 * Replaces randomness and sleeping (tests only: the interface has no place
 * for them). Returns a function that restores the previous hooks.
 */
export function setSandboxHooks(overrides: Partial<SandboxHooks>): () => void {
  const previous = hooks;
  hooks = { ...previous, ...overrides };
  return () => {
    hooks = previous;
  };
}

/** Forgets every order this isolate created (tests). */
export function resetSandbox(): void {
  created.clear();
}

/** The sandbox's id for one of our orders: stable, so retries are idempotent. */
export async function sandboxOrderId(orderId: string): Promise<string> {
  return `sbx_${(await sha256Hex(`sandbox-order:${orderId}`)).slice(0, 24)}`;
}

function readSettings(connection: PosConnection): z.infer<typeof settingsSchema> {
  const parsed = settingsSchema.safeParse(connection.credentials);
  if (!parsed.success) {
    throw new PosError(
      "permanent",
      "invalid_credentials",
      "sandbox settings must be numbers: latencyMs 0-120000, failureRate 0-1",
      { vendorMessage: z.prettifyError(parsed.error).slice(0, 500) },
    );
  }
  return parsed.data;
}

/** Waits like a slow POS would, and gives up like `vendorFetch` does when the wait outlasts the timeout. */
async function simulateLatency(latencyMs: number, timeoutMs: number): Promise<void> {
  if (latencyMs > timeoutMs) {
    await hooks.sleep(timeoutMs);
    throw new PosError("retryable", "timeout", `no answer within ${timeoutMs} ms`);
  }
  await hooks.sleep(latencyMs);
}

/** The in-process simulated POS used by the local demo. */
export const sandboxAdapter: PosAdapter = {
  provider: "sandbox",

  async createOrder(
    connection: PosConnection,
    order: PosOrder,
    options: PosCallOptions,
  ): Promise<CreatedPosOrder> {
    const settings = readSettings(connection);
    await simulateLatency(settings.latencyMs, options.timeoutMs);
    // `<` so that a rate of 0 never fails and a rate of 1 always does.
    if (hooks.random() < settings.failureRate) {
      throw new PosError("retryable", "server_error", "sandbox POS answered 503 (simulated)", {
        status: 503,
      });
    }
    const posOrderId = await sandboxOrderId(order.orderId);
    const alreadyExisted = created.has(order.orderId);
    if (!alreadyExisted) {
      if (created.size >= MAX_REMEMBERED) {
        const oldest = created.keys().next();
        if (!oldest.done) created.delete(oldest.value);
      }
      created.set(order.orderId, posOrderId);
    }
    return { posOrderId, alreadyExisted };
  },

  async getOrderStatus(): Promise<{ vendorStatus: string; status: "confirmed" }> {
    // The sandbox has no kitchen: an order it holds is simply accepted.
    return { vendorStatus: "accepted", status: "confirmed" };
  },

  async checkConnection(): Promise<PosLocationInfo> {
    // Nothing to reach: the sandbox takes the tenant's own currency (the caller compares).
    return { name: "Sandbox", currency: null, timezone: null, settings: {} };
  },

  draftProblems(): PosDraftProblem[] {
    return [];
  },

  async cancelOrder(): Promise<boolean> {
    // The sandbox has no kitchen to stop; what it holds is simply forgotten.
    return true;
  },

  async updateFulfillment(): Promise<boolean> {
    return true;
  },

  async refreshSession(): Promise<PosSession> {
    // No credentials, so nothing to renew; an empty session keeps callers uniform.
    return { accessToken: "", expiresAt: null, refreshToken: null };
  },

  async verifyWebhook(): Promise<boolean> {
    // The sandbox never calls back: a webhook claiming to be from it is refused.
    return false;
  },

  parseWebhook(): PosStatusReport[] {
    return [];
  },
};
