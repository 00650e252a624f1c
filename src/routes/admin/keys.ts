import { createRoute, z } from "@hono/zod-openapi";
import {
  countActiveOwnerKeys,
  createApiKey,
  findApiKey,
  listApiKeys,
  revokeApiKey,
} from "../../db/api-keys";
import { deliverAfterResponse } from "../../delivery";
import { keyRouter } from "../../http/auth";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  IdParam,
  jsonBody,
  jsonContent,
  NO_TENANT,
  registerComponents,
  TenantParam,
} from "../../http/router";
import { effectsOf } from "../../services/effects";
import { serverTime } from "../schemas";

// API keys: only the owner creates, lists and revokes them.

const KeyIdParams = IdParam("The API key's `id` (`key_…`), from `GET …/keys`.");

const ApiKeySchema = z
  .object({
    id: z.string().describe("The key's id: `key_` and 26 characters (not the key itself)."),
    role: z
      .enum(["owner", "staff", "terminal"])
      .describe("What the key may do: owner ⊃ staff ⊃ terminal."),
    label: z.string().describe("The name it was given (`front counter`)."),
    prefix: z.string().describe("The key's first characters, to recognise it."),
    createdAt: serverTime("When the key was created"),
    revokedAt: z
      .string()
      .nullable()
      .describe("When it was revoked, ISO 8601 UTC; null while it works."),
  })
  .openapi("ApiKey", { description: "An API key of the tenant, without its secret." });

const owner = keyRouter("owner");
registerComponents(owner.openAPIRegistry, { ApiKey: ApiKeySchema });

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "Create an API key (owner); the key is shown once",
  description:
    "Creates a key with one role: `owner`, `staff` (orders, menu reading, alerts) or `terminal` (in-store screens, gift cards, loyalty). The key itself is only in this answer.",
  request: {
    params: TenantParam,
    body: jsonBody(
      z
        .object({
          role: z
            .enum(["owner", "staff", "terminal"])
            .describe("What the key may do: owner ⊃ staff ⊃ terminal."),
          label: z
            .string()
            .trim()
            .min(1)
            .max(100)
            .describe("A name to recognise it by (`front counter`); 1–100 characters."),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(
      z.object({
        key: z
          .string()
          .describe("The key (`olk_…`), for `Authorization: Bearer`; shown only here."),
        apiKey: ApiKeySchema.openapi({ description: "The key's record." }),
      }),
      "Created.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_TENANT),
  },
});

owner.openapi(createKeyRoute, async (c) => {
  const body = c.req.valid("json");
  const { key, record } = await createApiKey(
    c.get("db"),
    { tenantId: c.get("tenant").id, role: body.role, label: body.label },
    new Date(),
  );
  return c.json({ key, apiKey: apiKeyDto(record) }, 201);
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "API keys, without their secrets (owner)",
  description: "Every key of the tenant, revoked ones included, without the keys themselves.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(ApiKeySchema).describe("The keys.") }), "Keys."),
    ...errorResponses(NO_TENANT),
  },
});

owner.openapi(listKeysRoute, async (c) => {
  const rows = await listApiKeys(c.get("db"), c.get("tenant").id);
  return c.json({ items: rows.map(apiKeyDto) }, 200);
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/keys/{id}",
  tags: ["admin: keys"],
  summary:
    "Revoke an API key (owner): dead at once, its unused tickets too, and its open sockets are closed with 4401 within seconds; the last owner key cannot be revoked",
  description:
    "Revokes the key at once, and the terminal tickets issued with it; sockets opened with it are closed with code 4401 within seconds. The tenant's last owner key cannot be revoked: create another first.",
  request: { params: KeyIdParams },
  responses: {
    204: { description: "Revoked." },
    ...errorResponses(
      {
        code: "not_found",
        when: "no tenant has this slug, or it has no such key, or the key is revoked already",
      },
      { code: "conflict", when: "it is the tenant's last owner key" },
    ),
  },
});

owner.openapi(revokeKeyRoute, async (c) => {
  const db = c.get("db");
  const tenantId = c.get("tenant").id;
  const key = await findApiKey(db, tenantId, c.req.valid("param").id);
  if (!key || key.revokedAt) throw new ApiError("not_found", "unknown API key");
  if (key.role === "owner" && (await countActiveOwnerKeys(db, tenantId)) <= 1) {
    throw new ApiError("conflict", "the last owner key cannot be revoked; create another first");
  }
  const revoked = await revokeApiKey(db, tenantId, key.id, new Date());
  if (!revoked) throw new ApiError("not_found", "unknown API key");
  // Closes the sockets opened with the key; the cron pass retries if this fails.
  deliverAfterResponse(c, effectsOf(c.get("tenant"), { events: [revoked] }));
  return c.body(null, 204);
});

export const keyRoutes = owner;

function apiKeyDto(row: Awaited<ReturnType<typeof listApiKeys>>[number]) {
  return {
    id: row.id,
    role: row.role,
    label: row.label,
    prefix: row.prefix,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}
