import { createRoute, z } from "@hono/zod-openapi";
import { readConfig } from "../config";
import {
  connectPosIntegration,
  DEFAULT_POS_SETTINGS,
  disconnectPosIntegration,
  findPosIntegration,
  type PosIntegrationRow,
} from "../db/pos-integrations";
import { requireRole } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  TenantParam,
} from "../http/router";

const secret = z.string().min(1).max(2000);
const optionalSecret = secret.optional();

/** What each provider needs; validated here so a typo fails at connect time, not at the first order. */
const CredentialsByProvider = {
  toast: z.object({ clientId: secret, clientSecret: secret }).strict(),
  clover: z
    .object({
      accessToken: secret,
      refreshToken: optionalSecret,
      clientId: optionalSecret,
      clientSecret: optionalSecret,
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
    autoSync: z.boolean(),
    syncCustomerInfo: z.boolean(),
    failurePolicy: z.enum(["hold", "auto_refund"]),
    captureMode: z.enum(["immediate", "on_pos_accept"]),
    maxAttempts: z.number().int().min(1).max(20),
  })
  .strict()
  .openapi("PosSettings");

const ConnectSchema = z
  .object({
    provider: z.enum(["toast", "clover", "square", "webhook", "sandbox"]),
    locationId: z.string().trim().min(1).max(200),
    credentials: z.record(z.string(), z.string().max(2000)),
    webhookSecret: z.string().min(8).max(500).optional(),
    settings: SettingsSchema.partial().optional(),
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
  .openapi("PosConnect");

const IntegrationSchema = z
  .object({
    provider: z.string(),
    locationId: z.string(),
    status: z.enum(["connected", "disconnected"]),
    settings: SettingsSchema,
    hasWebhookSecret: z.boolean(),
    health: z.object({
      state: z.enum(["healthy", "degraded", "disconnected"]),
      consecutiveFailures: z.number().int(),
      degradedAt: z.string().nullable(),
    }),
    connectedAt: z.string(),
    disconnectedAt: z.string().nullable(),
  })
  .openapi("PosIntegration");

const getIntegrationRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/integration",
  tags: ["admin: pos"],
  summary: "The POS connection and its settings, without secrets",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ integration: IntegrationSchema.nullable() }),
      "the integration, or null",
    ),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const connectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/connect",
  tags: ["admin: pos"],
  summary: "Connect the POS (owner); credentials are encrypted at rest and never returned",
  security: bearerSecurity,
  middleware: requireRole("owner"),
  request: { params: TenantParam, body: jsonBody(ConnectSchema) },
  responses: {
    200: jsonContent(z.object({ integration: IntegrationSchema }), "connected"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

const disconnectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/disconnect",
  tags: ["admin: pos"],
  summary: "Stop syncing to the POS (owner); the sync history is kept",
  security: bearerSecurity,
  middleware: requireRole("owner"),
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ integration: IntegrationSchema }), "disconnected"),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const posSync = createRouter();
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
