import { createRoute, z } from "@hono/zod-openapi";
import { readConfig } from "../config";
import { type AlertRow, listAlerts } from "../db/alerts";
import { findOrder } from "../db/orders";
import {
  connectPosIntegration,
  DEFAULT_POS_SETTINGS,
  disconnectPosIntegration,
  findPosIntegration,
  type PosIntegrationRow,
} from "../db/pos-integrations";
import { listSyncAttempts, type SyncAttemptRow, syncStats } from "../db/sync-attempts";
import { deliverAfterResponse } from "../delivery";
import { orderView } from "../domain/order-view";
import { requireRole } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  keySecurity,
  PageQuery,
  pageSchema,
  registerComponents,
  TenantParam,
} from "../http/router";
import { acknowledgeStaffAlert } from "../services/alerts";
import { retryPosSubmission } from "../services/pos-sync";
import { OrderSchema, serverTime } from "./schemas";

const NO_TENANT = { code: "not_found", when: "no tenant has this slug" } as const;

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
        "The provider's credentials, strings only, checked per provider: toast `clientId`, `clientSecret` (and `diningOptionPickup`, `diningOptionDelivery`, `diningOptionDineIn`, `otherPaymentGuid`); clover `accessToken` (and `refreshToken`, `clientId`, `clientSecret`, `orderTypePickup`, `orderTypeDelivery`, `orderTypeDineIn`); square `accessToken` (and `refreshToken`, `clientId`, `clientSecret`); webhook `url` (http or https) and `secret` (16 or more characters); sandbox `latencyMs`, `failureRate` (`0`–`1`). Encrypted at rest, never returned.",
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
    hasWebhookSecret: z
      .boolean()
      .describe("Whether a webhook secret is set, so the POS's status webhooks are accepted."),
    health: z
      .object({
        state: z
          .enum(["healthy", "degraded", "disconnected"])
          .describe("`degraded` after three orders in a row failed, until one succeeds."),
        consecutiveFailures: z.number().int().describe("Orders failed in a row."),
        degradedAt: z
          .string()
          .nullable()
          .describe("When it became degraded, ISO 8601 UTC; null while healthy."),
      })
      .describe("How the POS has been answering."),
    connectedAt: serverTime("When it was last connected"),
    disconnectedAt: z
      .string()
      .nullable()
      .describe("When it was disconnected, ISO 8601 UTC; null while connected."),
  })
  .openapi("PosIntegration", { description: "The tenant's POS connection, without secrets." });

const getIntegrationRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/integration",
  tags: ["admin: pos"],
  summary: "The POS connection and its settings, without secrets",
  description: "The POS connection, its settings and health; null when no POS was ever connected.",
  security: keySecurity("staff"),
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

const connectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/connect",
  tags: ["admin: pos"],
  summary: "Connect the POS (owner); credentials are encrypted at rest and never returned",
  description:
    "Connects (or reconnects, replacing the previous connection) the tenant's POS. Paid orders are sent to it from then on, as `settings` say. Credentials and the webhook secret are encrypted at rest and never returned.",
  security: keySecurity("owner"),
  middleware: requireRole("owner"),
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
      "malformed_json",
      NO_TENANT,
    ),
  },
});

const disconnectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/disconnect",
  tags: ["admin: pos"],
  summary: "Stop syncing to the POS (owner); the sync history is kept",
  description:
    "Disconnects the POS: no order is sent to it any more and its webhooks are refused. The sync history is kept.",
  security: keySecurity("owner"),
  middleware: requireRole("owner"),
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

const SyncAttemptSchema = z
  .object({
    id: z.string().describe("The attempt's id: `att_` and 26 characters, sorting by time."),
    orderId: z.string().describe("The order sent (`ord_…`)."),
    provider: z.string().describe("The POS provider it was sent to."),
    attempt: z.number().int().describe("Which try this was for the order, from 1."),
    status: z
      .enum(["success", "retryable_error", "permanent_error"])
      .describe(
        "`success`; `retryable_error` (network, timeout, 5xx, 429: tried again later); `permanent_error` (refused: not tried again).",
      ),
    errorCode: z
      .string()
      .nullable()
      .describe("Our classification of the failure (`timeout`, `rejected`, …); null on success."),
    errorMessage: z.string().nullable().describe("What the POS said, cut short; null on success."),
    durationMs: z.number().int().describe("How long the attempt took, in milliseconds."),
    posOrderId: z
      .string()
      .nullable()
      .describe("The order's id in the POS when the attempt succeeded, else null."),
    startedAt: serverTime("When the attempt started"),
  })
  .openapi("SyncAttempt", { description: "One try at sending an order to the POS." });

const AlertSchema = z
  .object({
    id: z.string().describe("The alert's id: `alr_` and 26 characters."),
    kind: z
      .string()
      .describe(
        "What happened: `pos_sync_failed`, `refund_failed`, `integration_degraded`, `pos_void_needed`, `payment_mismatch`, `payment_duplicate`, `payment_capture_failed`, `pos_synced_after_refund`, …",
      ),
    level: z
      .enum(["info", "warning", "critical"])
      .describe(
        "How urgent; `critical` alerts are raised again every 5 minutes until acknowledged.",
      ),
    orderId: z.string().nullable().describe("The order it is about (`ord_…`), or null."),
    message: z.string().describe("A sentence for staff."),
    createdAt: serverTime("When it was first raised"),
    lastRaisedAt: serverTime("When it was last raised"),
    raiseCount: z.number().int().describe("How many times it has been raised."),
    acknowledgedAt: z
      .string()
      .nullable()
      .describe("When staff acknowledged it, ISO 8601 UTC; null while open."),
  })
  .openapi("Alert", { description: "Something staff must know or act on." });

const IdParams = TenantParam.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, description: "The object's `id`." }),
});
const OrderIdParams = TenantParam.extend({
  id: IdParams.shape.id.openapi({ description: "The order's `id` (`ord_…`)." }),
});
const AlertIdParams = TenantParam.extend({
  id: IdParams.shape.id.openapi({ description: "The alert's `id` (`alr_…`)." }),
});

const syncHistoryRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/sync-history",
  tags: ["admin: pos"],
  summary: "POS submission attempts, newest first",
  description: "A page of every attempt to send an order to the POS, newest first.",
  security: keySecurity("staff"),
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

const statsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/stats",
  tags: ["admin: pos"],
  summary: "Submission totals, success rate and attempt-duration percentiles",
  description:
    "Totals over every POS submission attempt the tenant has made, the orders still waiting for the POS, and how long successful attempts took.",
  security: keySecurity("staff"),
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

const posRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/pos-retry",
  tags: ["admin: pos"],
  summary: "Send a failed order to the POS again, with a fresh attempt budget (409 unless failed)",
  description:
    "Queues an order whose POS submission failed for another round of attempts (`posStatus` `queued`). Only a paid, open order with `posStatus: failed` can be retried.",
  security: keySecurity("staff"),
  middleware: requireRole("staff"),
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(
      z.object({ order: OrderSchema.openapi({ description: "The order, queued again." }) }),
      "Queued again.",
    ),
    ...errorResponses(
      { code: "not_found", when: "no tenant has this slug, or it has no such order" },
      {
        code: "conflict",
        when: "its `posStatus` is not `failed` (`details.posStatus`), it is cancelled or not paid (`details.status`, `details.paymentStatus`), or it changed concurrently",
      },
    ),
  },
});

const listAlertsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/alerts",
  tags: ["admin: alerts"],
  summary: "Staff alerts, newest first",
  description:
    "The tenant's alerts, newest first: POS submissions that failed, refunds that failed, a degraded POS, orders to void in the POS, payments that do not match.",
  security: keySecurity("staff"),
  middleware: requireRole("staff"),
  request: {
    params: TenantParam,
    query: z.object({
      open: z
        .enum(["true", "false"])
        .optional()
        .describe("`true` for unacknowledged alerts only; all of them otherwise."),
      limit: PageQuery.shape.limit,
    }),
  },
  responses: {
    200: jsonContent(
      z.object({
        items: z.array(AlertSchema).describe("The alerts, newest first, at most `limit`."),
      }),
      "Alerts.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "`open` is not `true` or `false`, or `limit` is not 1–200",
      },
      NO_TENANT,
    ),
  },
});

const ackAlertRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/alerts/{id}/ack",
  tags: ["admin: alerts"],
  summary: "Acknowledge an alert: it stops being raised again",
  description:
    "Marks the alert acknowledged by this key: it is not raised again. Terminals do the same with `ack_alert` on the socket.",
  security: keySecurity("staff"),
  middleware: requireRole("staff"),
  request: { params: AlertIdParams },
  responses: {
    200: jsonContent(
      z.object({ alert: AlertSchema.openapi({ description: "The alert, acknowledged." }) }),
      "Acknowledged.",
    ),
    ...errorResponses(
      { code: "not_found", when: "no tenant has this slug, or it has no such alert" },
      { code: "conflict", when: "the alert is acknowledged already" },
    ),
  },
});

const posSync = createRouter();
registerComponents(posSync.openAPIRegistry, {
  PosSettings: SettingsSchema,
  PosConnect: ConnectSchema,
  PosIntegration: IntegrationSchema,
  SyncAttempt: SyncAttemptSchema,
  Alert: AlertSchema,
});
posSync.use("/v1/admin/:tenant/pos/*", requireRole("staff"));

export const posSyncRoutes = posSync
  .openapi(getIntegrationRoute, async (c) => {
    const row = await findPosIntegration(c.get("db"), c.get("tenant").id);
    return c.json({ integration: row ? integrationDto(row) : null }, 200);
  })
  .openapi(connectRoute, async (c) => {
    const body = c.req.valid("json");
    const existing = await findPosIntegration(c.get("db"), c.get("tenant").id);
    const base = existing ? settingsOf(existing) : DEFAULT_POS_SETTINGS;
    const row = await connectPosIntegration(
      c.get("db"),
      readConfig(c.env).credentialsKey,
      {
        tenantId: c.get("tenant").id,
        provider: body.provider,
        locationId: body.locationId,
        credentials: body.credentials,
        webhookSecret: body.webhookSecret ?? null,
        settings: { ...base, ...body.settings },
      },
      new Date(),
    );
    return c.json({ integration: integrationDto(row) }, 200);
  })
  .openapi(syncHistoryRoute, async (c) => {
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
  })
  .openapi(statsRoute, async (c) => c.json(await syncStats(c.get("db"), c.get("tenant").id), 200))
  .openapi(posRetryRoute, async (c) => {
    const tenant = c.get("tenant");
    const db = c.get("db");
    const order = await findOrder(db, tenant.id, c.req.valid("param").id);
    if (!order) throw new ApiError("not_found", "unknown order");
    if (order.posStatus !== "failed") {
      throw new ApiError(
        "conflict",
        `only a failed submission can be retried; this one is ${order.posStatus}`,
        {
          posStatus: order.posStatus,
        },
      );
    }
    if (order.status === "cancelled" || order.paymentStatus !== "paid") {
      throw new ApiError(
        "conflict",
        `only a paid, open order can be sent to the POS; this one is ${order.status} and ${order.paymentStatus}`,
        { status: order.status, paymentStatus: order.paymentStatus },
      );
    }
    const requeued = await retryPosSubmission(db, tenant, order, new Date());
    if (!requeued)
      throw new ApiError("conflict", "the order changed concurrently; read it again and retry");
    deliverAfterResponse(c, requeued.effects);
    return c.json({ order: orderView(requeued.order, tenant.slug) }, 202);
  })
  .openapi(listAlertsRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listAlerts(c.get("db"), c.get("tenant").id, {
      openOnly: query.open === "true",
      limit: query.limit,
    });
    return c.json({ items: rows.map(alertDto) }, 200);
  })
  .openapi(ackAlertRoute, async (c) => {
    const tenant = c.get("tenant");
    const { alert, effects } = await acknowledgeStaffAlert(
      c.get("db"),
      tenant,
      c.req.valid("param").id,
      `key:${c.get("apiKey").id}`,
      new Date(),
    );
    deliverAfterResponse(c, effects);
    return c.json({ alert: alertDto(alert) }, 200);
  })
  .openapi(disconnectRoute, async (c) => {
    const db = c.get("db");
    const tenantId = c.get("tenant").id;
    if (!(await disconnectPosIntegration(db, tenantId, new Date()))) {
      throw new ApiError("not_found", "no POS is connected");
    }
    const row = await findPosIntegration(db, tenantId);
    if (!row) throw new ApiError("not_found", "no POS is connected");
    return c.json({ integration: integrationDto(row) }, 200);
  });

function settingsOf(row: PosIntegrationRow) {
  return {
    autoSync: row.autoSync,
    syncCustomerInfo: row.syncCustomerInfo,
    failurePolicy: row.failurePolicy,
    captureMode: row.captureMode,
    maxAttempts: row.maxAttempts,
  };
}

function integrationDto(row: PosIntegrationRow): z.infer<typeof IntegrationSchema> {
  return {
    provider: row.provider,
    locationId: row.locationId,
    status: row.status,
    settings: settingsOf(row),
    hasWebhookSecret: row.webhookSecretCiphertext !== null,
    health: {
      state:
        row.status === "disconnected" ? "disconnected" : row.degradedAt ? "degraded" : "healthy",
      consecutiveFailures: row.consecutiveFailures,
      degradedAt: row.degradedAt,
    },
    connectedAt: row.connectedAt,
    disconnectedAt: row.disconnectedAt,
  };
}

function syncAttemptDto(row: SyncAttemptRow): z.infer<typeof SyncAttemptSchema> {
  return {
    id: row.id,
    orderId: row.orderId,
    provider: row.provider,
    attempt: row.attempt,
    status: row.status,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    posOrderId: row.posOrderId,
    startedAt: row.startedAt,
  };
}

function alertDto(row: AlertRow): z.infer<typeof AlertSchema> {
  return {
    id: row.id,
    kind: row.kind,
    level: row.level,
    orderId: row.orderId,
    message: row.message,
    createdAt: row.createdAt,
    lastRaisedAt: row.lastRaisedAt,
    raiseCount: row.raiseCount,
    acknowledgedAt: row.acknowledgedAt,
  };
}

export { SyncAttemptSchema, syncAttemptDto };
