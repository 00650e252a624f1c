import { DurableObject } from "cloudflare:workers";

/** One limit: at most `limit` hits of `name` in any `periodMs` window. */
export interface RateRule {
  name: string;
  limit: number;
  periodMs: number;
}

/** The answer to {@link RateCounter.take}; `rule` names the first rule that had no room. */
export type RateDecision = { ok: true } | { ok: false; rule: string; retryAfterMs: number };

/** Longest rule name kept; names are built by the Worker (`kind:id`), never by clients. */
const MAX_NAME_LENGTH = 200;

/**
 * Exact rate limits, where the approximate per-location rate limiting binding
 * is not enough: one object per scope (the Worker uses one per tenant,
 * `idFromName(tenantId)`), holding a sliding-window log of accepted hits in
 * its SQLite storage, so a count survives eviction and every caller anywhere
 * sees the same one. A Durable Object runs one request at a time and the
 * check and the insert are synchronous, so two callers can never both take
 * the last slot.
 */
export class RateCounter extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #storage: DurableObjectStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#storage = ctx.storage;
    this.#sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.#sql.exec(`
        CREATE TABLE IF NOT EXISTS hits (
          name TEXT NOT NULL,
          expires_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS hits_name_expires ON hits (name, expires_at);
        CREATE INDEX IF NOT EXISTS hits_expires ON hits (expires_at);
      `);
    });
  }

  /**
   * Records one hit against every rule if each of them has room, and nothing
   * otherwise (a refused request uses up no budget). When a rule is full,
   * `retryAfterMs` is how long until its oldest hit in the window expires,
   * which is when the next request can succeed.
   */
  async take(rules: RateRule[]): Promise<RateDecision> {
    for (const rule of rules) checkRule(rule);
    const now = Date.now();
    return this.#storage.transactionSync((): RateDecision => {
      this.#sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
      for (const rule of rules) {
        const { n } = this.#sql
          .exec<{ n: number }>("SELECT count(*) AS n FROM hits WHERE name = ?", rule.name)
          .one();
        if (n >= rule.limit) {
          // With `limit` lowered since, more than `limit` hits can be in the window: the next
          // slot opens when enough of them have expired to leave `limit - 1`.
          const row = this.#sql
            .exec<{ expires_at: number }>(
              "SELECT expires_at FROM hits WHERE name = ? ORDER BY expires_at LIMIT 1 OFFSET ?",
              rule.name,
              n - rule.limit,
            )
            .one();
          return { ok: false, rule: rule.name, retryAfterMs: Math.max(1, row.expires_at - now) };
        }
      }
      for (const rule of rules) {
        this.#sql.exec(
          "INSERT INTO hits (name, expires_at) VALUES (?, ?)",
          rule.name,
          now + rule.periodMs,
        );
      }
      return { ok: true };
    });
  }
}

function checkRule(rule: RateRule): void {
  if (
    typeof rule.name !== "string" ||
    rule.name.length === 0 ||
    rule.name.length > MAX_NAME_LENGTH ||
    !Number.isInteger(rule.limit) ||
    rule.limit < 1 ||
    !Number.isInteger(rule.periodMs) ||
    rule.periodMs < 1
  ) {
    throw new TypeError(`invalid rate rule: ${JSON.stringify(rule)}`);
  }
}
