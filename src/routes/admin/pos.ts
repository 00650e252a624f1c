import { createRoute, z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import {
  DEFAULT_POS_SETTINGS,
  disconnectPosIntegration,
  findPosIntegration,
  type PosIntegrationRow,
} from "../../db/pos-integrations";
import { listSyncAttempts, syncStats } from "../../db/sync-attempts";
import { findWebhookVerification } from "../../db/webhook-events";
import { keyRouter } from "../../http/auth";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  jsonBody,
  jsonContent,
  NO_TENANT,
  PageQuery,
  pageSchema,
  registerComponents,
  TenantParam,
} from "../../http/router";
import { connectPos } from "../../services/pos-connection";
import { OAUTH_PROVIDERS, startPosOAuth } from "../../services/pos-oauth";
import { SyncAttemptSchema, serverTime, syncAttemptDto } from "../schemas";

// The tenant's POS connection: connecting and disconnecting (owner), its settings, health,
// submission history and statistics (staff).

const secret = z.string().min(1).max(2000);
const optionalSecret = secret.optional();

/** What each provider needs; validated here so a typo fails at connect time, not at the first order. */
const CredentialsByProvider = {
  // Toast needs the restaurant's dining option GUIDs on every order (see toast.ts).
  toast: z
    .object({
      clientId: secret,
      clientSecret: secret,
      diningOptionPickup: optionalSecret,
      diningOptionDelivery: optionalSecret,
      diningOptionDineIn: optionalSecret,
      otherPaymentGuid: optionalSecret,
      openDiscountGuid: optionalSecret,
    })
    .strict(),
  clover: z
    .object({
      accessToken: secret,
      refreshToken: optionalSecret,
      clientId: optionalSecret,
      clientSecret: optionalSecret,
      orderTypePickup: optionalSecret,
      orderTypeDelivery: optionalSecret,
      orderTypeDineIn: optionalSecret,
    })
    .strict(),
  square: z
    .object({
      accessToken: secret,
      refreshToken: optionalSecret,
      clientId: optionalSecret,
      clientSecret: optionalSecret,
    })
    .strict(),
  webhook: z
    .object({
      url: z.url({ protocol: /^https?$/ }).max(2000),
      secret: z.string().min(16, "must be at least 16 characters").max(500),
    })
    .strict(),
  sandbox: z
    .object({
      latencyMs: z
        .string()
        .regex(/^\d{1,5}$/)
        .optional(),
      failureRate: z
        .string()
        .regex(/^(0(\.\d+)?|1(\.0+)?)$/)
        .optional(),
    })
    .strict(),
} as const;

const SettingsSchema = z
  .object({
    autoSync: z
      .boolean()
      .describe("Whether paid orders are sent to the POS; off, they stay `not_required`."),
    syncCustomerInfo: z
      .boolean()
      .describe("Whether the customer's name, phone and email are sent with the order."),
    failurePolicy: z
      .enum(["hold", "auto_refund"])
      .describe(
        "When the POS refuses an order for good: `hold` it for staff to retry or cancel, or `auto_refund` it.",
      ),
    captureMode: z
      .enum(["immediate", "on_pos_accept"])
      .describe(
        "`immediate`: the card is charged when the customer pays; `on_pos_accept`: only authorised then, and captured when the POS accepts the order.",
      ),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .describe("Tries per order before it is `failed`, 1–20 (6 by default)."),
  })
  .strict()
  .openapi("PosSettings", { description: "How orders reach the POS." });

const ConnectSchema = z
  .object({
    provider: z
      .enum(["toast", "clover", "square", "webhook", "sandbox"])
      .describe(
        "The POS: `toast`, `clover`, `square`, `webhook` (orders POSTed as signed JSON to your URL) or `sandbox` (in-process, for trials).",
      ),
    locationId: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .describe(
        "Which restaurant in the POS: Toast restaurant GUID, Clover merchant id, Square location id; free text for `webhook` and `sandbox`.",
      ),
    credentials: z
      .record(z.string(), z.string().max(2000))
      .describe(
        "The provider's credentials, strings only, checked per provider: toast `clientId`, `clientSecret` (and `diningOptionPickup`, `diningOptionDelivery`, `diningOptionDineIn`, `otherPaymentGuid`, `openDiscountGuid`: an open amount discount that carries discount codes); clover `accessToken` (and `refreshToken`, `clientId`, `clientSecret`, `orderTypePickup`, `orderTypeDelivery`, `orderTypeDineIn`); square `accessToken` (and `refreshToken`, `clientId`, `clientSecret`); webhook `url` (http or https) and `secret` (16 or more characters); sandbox `latencyMs`, `failureRate` (`0`–`1`). Encrypted at rest, never returned.",
      ),
    webhookSecret: z
      .string()
      .min(8)
      .max(500)
      .optional()
      .describe(
        "The secret the POS signs its status webhooks with (`POST /webhooks/pos/{provider}/{tenant}`); 8–500 characters. Without one, those webhooks are refused.",
      ),
    settings: SettingsSchema.partial()
      .optional()
      .describe(
        "Any of the settings; those absent keep their current values (the defaults on a first connection).",
      ),
  })
  .strict()
  .superRefine((body, ctx) => {
    const parsed = CredentialsByProvider[body.provider].safeParse(body.credentials);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({
          code: "custom",
          path: ["credentials", ...issue.path.map(String)],
          message: issue.message,
        });
      }
    }
  })
  .openapi("PosConnect", {
    description: "Which POS to send orders to, and how. Unknown fields are refused.",
  });

const IntegrationSchema = z
  .object({
    provider: z
      .string()
      .describe("The POS provider (`toast`, `clover`, `square`, `webhook`, `sandbox`)."),
    locationId: z.string().describe("Which restaurant in the POS."),
    status: z
      .enum(["connected", "disconnected"])
      .describe("`disconnected` after `POST …/pos/disconnect`: nothing is sent."),
    settings: SettingsSchema.openapi({ description: "The connection's current settings." }),
    location: z
      .object({
        name: z.string().nullable().describe("The location's name in the POS, where it says."),
        currency: z
          .string()
          .nullable()
          .describe("ISO 4217 currency the location sells in; null where the POS does not say."),
        timezone: z
          .string()
          .nullable()
          .describe("IANA time zone of the location; null where the POS does not say."),
      })
      .describe("What the POS said of the location when it was connected."),
    hasWebhookSecret: z
      .boolean()
      .describe("Whether a webhook secret is set, so the POS's status webhooks are accepted."),
    webhookVerification: z
      .union([
        z.object({
          code: z.string().describe("The code to paste into Clover's dashboard."),
          receivedAt: serverTime("When Clover sent it"),
        }),
        z.null(),
      ])
      .describe(
        "Clover: the newest URL-verification code Clover sent to this tenant's webhook URL, to paste into Clover's webhook settings; null before any, and for other providers.",
      ),
    health: z
      .object({
        state: z
          .enum(["healthy", "degraded", "down", "disconnected"])
          .describe(
            "`down` while the POS does not answer (new paid orders are taken by hand, `posStatus` `manual`), until it answers again; `degraded` after three orders in a row failed, until one succeeds.",
          ),
        consecutiveFailures: z.number().int().describe("Orders failed in a row."),
        degradedAt: z
          .string()
          .nullable()
          .describe("When it became degraded, ISO 8601 UTC; null while healthy."),
        downSince: z
          .string()
          .nullable()
          .describe("Since when the POS has not answered, ISO 8601 UTC; null while it answers."),
      })
      .describe("How the POS has been answering."),
    connectedAt: serverTime("When it was last connected"),
    disconnectedAt: z
      .string()
      .nullable()
      .describe("When it was disconnected, ISO 8601 UTC; null while connected."),
  })
  .openapi("PosIntegration", { description: "The tenant's POS connection, without secrets." });

const OAuthStartSchema = z
  .object({
    locationId: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe(
        "Square only: which location to connect; absent, the seller's main location. Clover connects the merchant that grants access.",
      ),
    webhookSecret: ConnectSchema.shape.webhookSecret,
    settings: ConnectSchema.shape.settings,
  })
  .strict()
  .openapi("PosOAuthStart", {
    description:
      "How the connection made by granting access is set up. Unknown fields are refused.",
  });

const staff = keyRouter("staff");
const owner = keyRouter("owner");
registerComponents(staff.openAPIRegistry, {
  PosSettings: SettingsSchema,
  PosConnect: ConnectSchema,
  PosIntegration: IntegrationSchema,
  PosOAuthStart: OAuthStartSchema,
});

const getIntegrationRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/integration",
  tags: ["admin: pos"],
  summary: "The POS connection and its settings, without secrets",
  description: "The POS connection, its settings and health; null when no POS was ever connected.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        // Not `.nullable()`: see `deliveryAddress` in schemas.ts.
        integration: z
          .union([IntegrationSchema, z.null()])
          .describe("The connection, or null when there has never been one."),
      }),
      "The integration, or null.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

staff.openapi(getIntegrationRoute, async (c) => {
  const row = await findPosIntegration(c.get("db"), c.get("tenant").id);
  return c.json({ integration: row ? await integrationDto(c.get("db"), row) : null }, 200);
});

const connectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/connect",
  tags: ["admin: pos"],
  summary: "Connect the POS (owner); credentials are encrypted at rest and never returned",
  description:
    "Connects (or reconnects, replacing the previous connection) the tenant's POS. The POS is asked once first (Square RetrieveLocation, Toast restaurant info, Clover merchant): refused credentials, a location that is not theirs or one selling in another currency than the tenant's are refused with 422 and nothing is stored; the location's name, currency and time zone are recorded. Paid orders are sent to it from then on, as `settings` say. Credentials and the webhook secret are encrypted at rest and never returned.",
  request: { params: TenantParam, body: jsonBody(ConnectSchema) },
  responses: {
    200: jsonContent(
      z.object({ integration: IntegrationSchema.openapi({ description: "The connection." }) }),
      "Connected.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `PosConnect`, or `credentials` lack what the provider needs (`details.issues` names `credentials.<field>`)",
      },
      {
        code: "validation_failed",
        status: 422,
        when: "the POS refused the connection check: the credentials (`details.reason` `pos_credentials_refused`), the location (`pos_location_refused`), a location selling in another currency than the tenant's (`pos_currency_mismatch`), or it did not answer (`pos_unreachable`); nothing is stored",
        message: "credentials: square refused these credentials",
        details: {
          reason: "pos_credentials_refused",
          provider: "square",
          vendorCode: "unauthorized",
          vendorStatus: 401,
          issues: [{ path: "credentials", message: "refused by square" }],
        },
      },
      "malformed_json",
      NO_TENANT,
    ),
  },
});

owner.openapi(connectRoute, async (c) => {
  const body = c.req.valid("json");
  const tenant = c.get("tenant");
  const base = await currentSettings(c.get("db"), tenant.id);
  const row = await connectPos(
    c.env,
    c.get("db"),
    tenant,
    {
      provider: body.provider,
      locationId: body.locationId,
      credentials: body.credentials,
      webhookSecret: body.webhookSecret ?? null,
      settings: { ...base, ...body.settings },
    },
    new Date(),
  );
  return c.json({ integration: await integrationDto(c.get("db"), row) }, 200);
});

const oauthStartRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/oauth/{provider}/start",
  tags: ["admin: pos"],
  summary: "Start connecting Square or Clover by granting access at the vendor (owner)",
  description:
    "Answers the vendor's authorize URL for the owner's browser. The owner grants Orderlane access there; the vendor then sends the browser to `GET /oauth/{provider}/callback`, which exchanges the code, checks the location as `POST …/pos/connect` does and connects it, the tokens encrypted at rest and renewed by the cron pass before they expire. The URL carries a state bound to this tenant, usable once, for 10 minutes. Needs this platform's app at the vendor (`SQUARE_APP_ID`/`SQUARE_APP_SECRET`, `CLOVER_APP_ID`/`CLOVER_APP_SECRET`).",
  request: {
    params: TenantParam.extend({
      provider: z.enum(OAUTH_PROVIDERS).openapi({
        param: { name: "provider", in: "path" },
        description: "`square` or `clover`.",
      }),
    }),
    body: jsonBody(OAuthStartSchema),
  },
  responses: {
    200: jsonContent(
      z.object({
        authorizeUrl: z.url().describe("Where to send the owner's browser."),
        expiresAt: serverTime("Until when the owner can use it"),
      }),
      "The authorize URL.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the provider is not `square` or `clover`, or the body does not match `PosOAuthStart`",
      },
      {
        code: "validation_failed",
        status: 422,
        when: "this platform has no OAuth app at that vendor (`details.reason` `oauth_not_configured`): connect with credentials",
        message:
          "provider: clover sign-in is not set up on this platform; connect with credentials (POST …/pos/connect)",
        details: {
          reason: "oauth_not_configured",
          issues: [{ path: "provider", message: "no clover OAuth app is configured" }],
        },
      },
      "malformed_json",
      NO_TENANT,
    ),
  },
});

owner.openapi(oauthStartRoute, async (c) => {
  const body = c.req.valid("json");
  const { provider } = c.req.valid("param");
  const tenant = c.get("tenant");
  const base = await currentSettings(c.get("db"), tenant.id);
  const started = await startPosOAuth(
    c.env,
    c.get("db"),
    tenant,
    {
      provider,
      locationId: provider === "square" ? (body.locationId ?? null) : null,
      webhookSecret: body.webhookSecret ?? null,
      settings: { ...base, ...body.settings },
    },
    new URL(c.req.url).origin,
    new Date(),
  );
  return c.json(started, 200);
});

const disconnectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/disconnect",
  tags: ["admin: pos"],
  summary: "Stop syncing to the POS (owner); the sync history is kept",
  description:
    "Disconnects the POS: no order is sent to it any more and its webhooks are refused. The sync history is kept.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        integration: IntegrationSchema.openapi({
          description: "The connection, now disconnected.",
        }),
      }),
      "Disconnected.",
    ),
    ...errorResponses({
      code: "not_found",
      when: "no tenant has this slug, or no POS is connected",
    }),
  },
});

owner.openapi(disconnectRoute, async (c) => {
  const db = c.get("db");
  const tenantId = c.get("tenant").id;
  if (!(await disconnectPosIntegration(db, tenantId, new Date()))) {
    throw new ApiError("not_found", "no POS is connected");
  }
  const row = await findPosIntegration(db, tenantId);
  if (!row) throw new ApiError("not_found", "no POS is connected");
  return c.json({ integration: await integrationDto(c.get("db"), row) }, 200);
});

const syncHistoryRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/sync-history",
  tags: ["admin: pos"],
  summary: "POS submission attempts, newest first",
  description: "A page of every attempt to send an order to the POS, newest first.",
  request: {
    params: TenantParam,
    query: PageQuery.extend({
      status: z
        .enum(["success", "retryable_error", "permanent_error"])
        .optional()
        .describe("Only attempts with this outcome."),
      cursor: z
        .string()
        .regex(/^att_[0-9A-Z]{26}$/, "is not a cursor from this list")
        .optional()
        .describe(
          "The `nextCursor` of the previous page (an attempt id); absent for the first page.",
        ),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(SyncAttemptSchema), "A page of attempts."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "`limit` is not 1–200, `cursor` is not from this list, or `status` is not one of its values",
      },
      NO_TENANT,
    ),
  },
});

staff.openapi(syncHistoryRoute, async (c) => {
  const query = c.req.valid("query");
  const rows = await listSyncAttempts(c.get("db"), c.get("tenant").id, {
    status: query.status,
    beforeId: query.cursor,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  return c.json(
    {
      items: page.map(syncAttemptDto),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    },
    200,
  );
});

const statsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/stats",
  tags: ["admin: pos"],
  summary: "Submission totals, success rate and attempt-duration percentiles",
  description:
    "Totals over every POS submission attempt the tenant has made, the orders still waiting for the POS, and how long successful attempts took.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        totalSyncs: z.number().int().describe("Attempts made, successful or not."),
        successfulSyncs: z.number().int().describe("Attempts that succeeded."),
        failedSyncs: z
          .number()
          .int()
          .describe("Attempts that failed (`totalSyncs − successfulSyncs`)."),
        pendingRetries: z
          .number()
          .int()
          .describe("Orders waiting for the POS now (`posStatus` `queued` or `retrying`)."),
        successRate: z
          .number()
          .min(0)
          .max(100)
          .describe(
            "`successfulSyncs / totalSyncs × 100`, a percentage rounded to one decimal (95.1 is 95.1 %); 0 before any attempt.",
          ),
        p50SyncMs: z
          .number()
          .int()
          .nullable()
          .describe("Median duration of successful attempts, in milliseconds; null before any."),
        p95SyncMs: z
          .number()
          .int()
          .nullable()
          .describe(
            "95th percentile (nearest rank) of successful attempts' duration, in milliseconds; null before any.",
          ),
        ordersSynced: z.number().int().describe("Orders the POS has (`posStatus` `synced`)."),
        ordersFailed: z
          .number()
          .int()
          .describe("Orders the POS refused for good (`posStatus` `failed`)."),
        ordersRetrying: z
          .number()
          .int()
          .describe("Orders still on their way to the POS (`posStatus` `queued` or `retrying`)."),
      }),
      "The stats.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

staff.openapi(statsRoute, async (c) =>
  c.json(await syncStats(c.get("db"), c.get("tenant").id), 200),
);

export const posIntegrationRoutes = staff.route("/", owner);

/** The settings a (re)connection starts from: the current connection's, else the defaults. */
async function currentSettings(db: Db, tenantId: string) {
  const existing = await findPosIntegration(db, tenantId);
  return existing ? settingsOf(existing) : DEFAULT_POS_SETTINGS;
}

function settingsOf(row: PosIntegrationRow) {
  return {
    autoSync: row.autoSync,
    syncCustomerInfo: row.syncCustomerInfo,
    failurePolicy: row.failurePolicy,
    captureMode: row.captureMode,
    maxAttempts: row.maxAttempts,
  };
}

async function integrationDto(
  db: Db,
  row: PosIntegrationRow,
): Promise<z.infer<typeof IntegrationSchema>> {
  return {
    provider: row.provider,
    locationId: row.locationId,
    status: row.status,
    settings: settingsOf(row),
    location: {
      name: row.locationName,
      currency: row.locationCurrency,
      timezone: row.locationTimezone,
    },
    hasWebhookSecret: row.webhookSecretCiphertext !== null,
    webhookVerification:
      row.provider === "clover" ? await findWebhookVerification(db, "clover", row.tenantId) : null,
    health: {
      state: healthState(row),
      consecutiveFailures: row.consecutiveFailures,
      degradedAt: row.degradedAt,
      downSince: row.downSince,
    },
    connectedAt: row.connectedAt,
    disconnectedAt: row.disconnectedAt,
  };
}

function healthState(row: PosIntegrationRow): "healthy" | "degraded" | "down" | "disconnected" {
  if (row.status === "disconnected") return "disconnected";
  if (row.downSince) return "down";
  return row.degradedAt ? "degraded" : "healthy";
}
