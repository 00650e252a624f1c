import { createRoute, z } from "@hono/zod-openapi";
import { type Tenant, updateTenantSettings } from "../../db/tenants";
import { keyRouter } from "../../http/auth";
import { normalizeOrigin } from "../../http/cors";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  jsonBody,
  jsonContent,
  NO_TENANT,
  registerComponents,
  TenantParam,
} from "../../http/router";

// The tenant's web settings: which origins may call the API from a browser.

/** Origins a tenant may list per setting. */
const MAX_ORIGINS = 20;

const OriginList = z
  .array(
    z
      .string()
      .max(200)
      .transform((text, ctx) => {
        const origin = normalizeOrigin(text);
        if (!origin) {
          ctx.addIssue({
            code: "custom",
            message:
              "must be an origin such as https://shop.example.com (scheme, host, port; no path)",
          });
          return z.NEVER;
        }
        return origin;
      }),
  )
  .max(MAX_ORIGINS)
  .transform((list) => [...new Set(list)]);

const SettingsSchema = z
  .object({
    allowedOrigins: z.array(z.string()).openapi({
      description:
        "Origins whose pages may call the storefront routes from a browser (CORS); empty means any origin.",
    }),
    consoleOrigins: z.array(z.string()).openapi({
      description:
        "Origins of consoles that may call the staff and POS routes from a browser; the Worker's own origin always may.",
    }),
  })
  .openapi("TenantSettings", { description: "The tenant's web settings." });

const UpdateSettingsSchema = z
  .object({
    allowedOrigins: OriginList.optional().openapi({
      description: `Replaces the storefront origins (at most ${MAX_ORIGINS}); [] allows any.`,
    }),
    consoleOrigins: OriginList.optional().openapi({
      description: `Replaces the console origins (at most ${MAX_ORIGINS}).`,
    }),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "at least one field is required")
  .openapi("UpdateTenantSettings");

const staff = keyRouter("staff");
const owner = keyRouter("owner");
registerComponents(staff.openAPIRegistry, { TenantSettings: SettingsSchema });

const getSettingsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "The tenant's web settings",
  description: "The origins allowed to call the API from a browser (CORS).",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ settings: SettingsSchema.openapi({ description: "The settings now." }) }),
      "The settings.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

staff.openapi(getSettingsRoute, (c) => {
  const tenant = c.get("tenant");
  return c.json({ settings: settingsDto(tenant) }, 200);
});

const updateSettingsRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "Change the tenant's web settings",
  description:
    "Each list given replaces the stored one; origins are normalised (`https://Shop.Example.com/` is stored as `https://shop.example.com`). A browser caches a preflight answer for up to 10 minutes, so a removed origin can keep working that long.",
  request: { params: TenantParam, body: jsonBody(UpdateSettingsSchema) },
  responses: {
    200: jsonContent(
      z.object({
        settings: SettingsSchema.openapi({ description: "The settings after the change." }),
      }),
      "The settings as changed.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_TENANT),
  },
});

owner.openapi(updateSettingsRoute, async (c) => {
  const updated = await updateTenantSettings(
    c.get("db"),
    c.get("tenant").id,
    c.req.valid("json"),
    new Date(),
  );
  if (!updated) throw new ApiError("not_found", "unknown tenant");
  return c.json({ settings: settingsDto(updated) }, 200);
});

export const settingsRoutes = staff.route("/", owner);

function settingsDto(tenant: Tenant) {
  return { allowedOrigins: tenant.allowedOrigins, consoleOrigins: tenant.consoleOrigins };
}
