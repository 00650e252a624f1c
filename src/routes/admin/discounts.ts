import { createRoute, z } from "@hono/zod-openapi";
import { isConstraintError } from "../../db/client";
import { createDiscount, listDiscounts } from "../../db/discounts";
import { PLATFORM_MAX_AMOUNT } from "../../domain/pricing";
import { keyRouter } from "../../http/auth";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  jsonBody,
  jsonContent,
  MoneySchema,
  NO_TENANT,
  registerComponents,
  requireWithinLimit,
  TenantParam,
} from "../../http/router";
import { serverTime } from "../schemas";

// Discount codes: the owner creates them, staff read them.

const CreateDiscountSchema = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, "must be 3–40 letters, digits, - or _")
      .describe("3–40 letters, digits, `-` or `_`; stored upper case, matched in any case."),
    kind: z
      .enum(["percent", "fixed"])
      .describe("`percent` of the subtotal, or a `fixed` amount off."),
    value: z
      .number()
      .int()
      .positive()
      .max(PLATFORM_MAX_AMOUNT)
      .describe(
        "For `percent`, whole percent, 1–100 (10 is 10 %); for `fixed`, minor units of the tenant's currency, at most its `maxAmount`.",
      ),
    minSubtotal: z
      .number()
      .int()
      .nonnegative()
      .max(PLATFORM_MAX_AMOUNT)
      .optional()
      .describe(
        "The subtotal, in minor units, an order needs for the code to apply; 0 when absent.",
      ),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "When the code stops working: ISO 8601 date and time with `Z` or an offset; never when absent.",
      ),
    maxUses: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("How many orders may use it in all; unlimited when absent."),
  })
  .strict()
  .refine((d) => d.kind !== "percent" || d.value <= 100, {
    path: ["value"],
    message: "a percent discount is 1–100",
  })
  .openapi("CreateDiscount", { description: "A new discount code. Unknown fields are refused." });

const DiscountSchema = z
  .object({
    id: z.string().describe("The discount's id: `dsc_` and 26 characters."),
    code: z.string().describe("The code, upper case."),
    kind: z
      .enum(["percent", "fixed"])
      .describe("`percent` of the subtotal, or a `fixed` amount off."),
    value: z
      .number()
      .int()
      .describe("For `percent`, whole percent (1–100); for `fixed`, minor units."),
    minSubtotal: MoneySchema.openapi({
      description: "The subtotal an order needs for the code to apply; 0 for none.",
    }),
    expiresAt: z
      .string()
      .nullable()
      .describe("When the code stops working, ISO 8601 as it was set; null for never."),
    maxUses: z.number().int().nullable().describe("How many orders may use it; null for no limit."),
    usedCount: z.number().int().describe("How many orders have used it."),
    createdAt: serverTime("When the code was created"),
  })
  .openapi("Discount", { description: "A discount code." });

const owner = keyRouter("owner");
const staff = keyRouter("staff");
registerComponents(owner.openAPIRegistry, {
  CreateDiscount: CreateDiscountSchema,
  Discount: DiscountSchema,
});

const createDiscountRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "Create a discount code (owner); percent value is whole percent, fixed is minor units",
  description:
    "Creates a code customers enter as `discountCode`. A `percent` code takes whole percent of the subtotal (rounded half up); a `fixed` one takes minor units, never more than the subtotal.",
  request: { params: TenantParam, body: jsonBody(CreateDiscountSchema) },
  responses: {
    201: jsonContent(
      z.object({ discount: DiscountSchema.openapi({ description: "The new code." }) }),
      "Created.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `CreateDiscount` (a percent over 100, for one), or a fixed value or minimum subtotal is over the tenant's `maxAmount`",
      },
      "malformed_json",
      NO_TENANT,
      { code: "conflict", when: "the tenant already has this code (in any case)" },
    ),
  },
});

owner.openapi(createDiscountRoute, async (c) => {
  const tenant = c.get("tenant");
  const body = c.req.valid("json");
  if (body.kind === "fixed") requireWithinLimit(tenant, body.value, "value");
  if (body.minSubtotal !== undefined) requireWithinLimit(tenant, body.minSubtotal, "minSubtotal");
  try {
    const row = await createDiscount(c.get("db"), tenant.id, body, new Date());
    return c.json({ discount: discountDto(row, tenant.currency) }, 201);
  } catch (err) {
    if (isConstraintError(err, "discount_codes")) {
      throw new ApiError("conflict", `discount code ${body.code.toUpperCase()} already exists`);
    }
    throw err;
  }
});

const listDiscountsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "The tenant's discount codes",
  description: "Every discount code, newest first, expired and used-up ones included.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(DiscountSchema).describe("The codes, newest first.") }),
      "Discount codes.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

staff.openapi(listDiscountsRoute, async (c) => {
  const tenant = c.get("tenant");
  const rows = await listDiscounts(c.get("db"), tenant.id);
  return c.json({ items: rows.map((row) => discountDto(row, tenant.currency)) }, 200);
});

export const discountRoutes = owner.route("/", staff);

function discountDto(row: Awaited<ReturnType<typeof createDiscount>>, currency: string) {
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    value: row.value,
    minSubtotal: { amount: row.minSubtotal, currency },
    expiresAt: row.expiresAt,
    maxUses: row.maxUses,
    usedCount: row.usedCount,
    createdAt: row.createdAt,
  };
}
