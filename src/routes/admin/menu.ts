import { createRoute, z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import {
  createMenuItem,
  deleteMenuItem,
  findMenuCategory,
  findMenuItem,
  listMenuItems,
  type MenuItemWithModifiers,
  type ModifierGroupInput,
  type ModifierInput,
  updateMenuItem,
} from "../../db/menu";
import type { Tenant } from "../../db/tenants";
import { keyRouter } from "../../http/auth";
import { ApiError } from "../../http/errors";
import {
  errorResponses,
  IdParam,
  jsonBody,
  jsonContent,
  MoneySchema,
  NO_TENANT,
  registerComponents,
  requireWithinLimit,
  TenantParam,
} from "../../http/router";
import { MenuItemSchema, menuItemDto } from "../schemas";

// The menu as staff manage it: every item with its modifiers and POS ids. Reading needs staff,
// changing it the owner.

const ItemIdParams = IdParam("The menu item's `id` (`itm_…`).");
const MenuItemOut = MenuItemSchema.openapi({ description: "The menu item." });

const posId = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(100)
    .nullable()
    .optional()
    .describe(`${what}; null or absent when not mapped. 1–100 characters.`);

const ModifierInputSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        "On PATCH, the `id` (`mod_…`) of one of this item's modifiers to keep it (and its id); absent for a new one. Refused on create.",
      ),
    name: z.string().trim().min(1).max(100).describe("What the customer sees; 1–100 characters."),
    price: MoneySchema.openapi({
      description: "Added to the item's price per unit; in the tenant's currency, may be 0.",
    }),
    posModifierId: posId(
      "The modifier's id in the POS (Toast: `<option group GUID>/<modifier GUID>`)",
    ),
    maxQuantity: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .describe("How many of it one line may take, 1–10; 1 when absent."),
  })
  .strict()
  .describe("A modifier of the item. Unknown fields are refused.");

const ModifierGroupInputSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        "On PATCH, the `id` (`mgp_…`) of one of this item's groups to keep it; absent for a new one.",
      ),
    name: z.string().trim().min(1).max(100).describe("What the customer sees; 1–100 characters."),
    minSelections: z.number().int().min(0).max(30).describe("At least this many, 0–30."),
    maxSelections: z
      .number()
      .int()
      .min(1)
      .max(30)
      .nullable()
      .describe("At most this many, 1–30 and not below `minSelections`; null for no bound."),
    posGroupId: posId("The group's id in the POS"),
    modifiers: z.array(ModifierInputSchema).min(1).max(30).describe("Its modifiers, 1–30."),
  })
  .strict()
  .refine((g) => g.maxSelections === null || g.maxSelections >= g.minSelections, {
    message: "must not be below minSelections",
    path: ["maxSelections"],
  })
  .refine((g) => g.minSelections <= g.modifiers.reduce((n, m) => n + (m.maxQuantity ?? 1), 0), {
    message: "is more than its modifiers can make up",
    path: ["minSelections"],
  })
  .describe("A rule over some of the item's modifiers. Unknown fields are refused.");

const MenuItemFields = {
  name: z.string().trim().min(1).max(120).describe("What the customer sees; 1–120 characters."),
  description: z
    .string()
    .trim()
    .max(1000)
    .optional()
    .describe("A longer text for the menu; at most 1000 characters, empty when absent."),
  price: MoneySchema.openapi({
    description: "The price of one, before modifiers, in the tenant's currency.",
  }),
  available: z
    .boolean()
    .optional()
    .describe("Whether it can be ordered; true when absent on create."),
  posItemId: posId("The item's id in the POS (Toast: `<menu group GUID>/<item GUID>`)"),
  photoUrl: z
    .string()
    .url()
    .max(2000)
    .refine((u) => u.startsWith("https://"), "must be an https URL")
    .nullable()
    .optional()
    .describe("A picture of the dish, an https URL; kept by a menu sync."),
  categoryId: z
    .string()
    .min(1)
    .max(64)
    .nullable()
    .optional()
    .describe("One of the tenant's categories (`cat_…`), or null."),
  sortOrder: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .optional()
    .describe("Lower first; 0 when absent. Kept by a menu sync."),
  modifiers: z
    .array(ModifierInputSchema)
    .max(30)
    .optional()
    .describe(
      "Free extras outside any group, at most 30. On PATCH the list replaces them: those not listed are removed.",
    ),
  modifierGroups: z
    .array(ModifierGroupInputSchema)
    .max(10)
    .optional()
    .describe(
      "Groups of modifiers with their rules, at most 10. On PATCH the list replaces the groups and their modifiers.",
    ),
};

const CreateMenuItemSchema = z
  .object(MenuItemFields)
  .strict()
  .openapi("CreateMenuItem", { description: "A new menu item. Unknown fields are refused." });
const UpdateMenuItemSchema = z
  .object(MenuItemFields)
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "at least one field is required")
  .openapi("UpdateMenuItem", {
    description: "The fields to change, at least one; the others keep their values.",
  });

const staff = keyRouter("staff");
const owner = keyRouter("owner");
registerComponents(staff.openAPIRegistry, {
  CreateMenuItem: CreateMenuItemSchema,
  UpdateMenuItem: UpdateMenuItemSchema,
});

const listMenuRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Every menu item, available or not",
  description:
    "The whole menu as staff manage it, unavailable items included, with POS ids. Storefronts read `GET /v1/stores/{tenant}/menu` instead.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(MenuItemSchema).describe("Every item, oldest first.") }),
      "The menu.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

staff.openapi(listMenuRoute, async (c) => {
  const tenant = c.get("tenant");
  const now = new Date();
  const items = await listMenuItems(c.get("db"), tenant.id);
  return c.json({ items: items.map((item) => menuItemDto(item, tenant.currency, now)) }, 200);
});

const createMenuItemRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Add a menu item with its modifiers (owner)",
  description:
    "Adds an item; the server assigns its id and its modifiers' ids. Prices are in the tenant's currency, at most its `maxAmount`.",
  request: { params: TenantParam, body: jsonBody(CreateMenuItemSchema) },
  responses: {
    201: jsonContent(z.object({ item: MenuItemOut }), "Created."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `CreateMenuItem`, a price is in another currency or over the tenant's `maxAmount`, or a modifier names an `id`",
      },
      "malformed_json",
      NO_TENANT,
    ),
  },
});

owner.openapi(createMenuItemRoute, async (c) => {
  const tenant = c.get("tenant");
  const body = c.req.valid("json");
  const db = c.get("db");
  if (
    body.modifiers?.some((m) => m.id) ||
    body.modifierGroups?.some((g) => g.id || g.modifiers.some((m) => m.id))
  ) {
    throw new ApiError("validation_failed", "modifiers: ids are assigned by the server on create");
  }
  await requireCategory(db, tenant, body.categoryId);
  const now = new Date();
  const item = await createMenuItem(db, tenant.id, menuInput(body, tenant), now);
  return c.json({ item: menuItemDto(item, tenant.currency, now) }, 201);
});

const updateMenuItemRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Change a menu item; a modifiers list replaces the item's modifiers (owner)",
  description:
    "Changes the fields given. A `modifiers` list replaces the item's modifiers: a listed one with the `id` of an existing modifier keeps that id, one without an id is new, and those not listed are removed. Past orders keep their copy of the item.",
  request: { params: ItemIdParams, body: jsonBody(UpdateMenuItemSchema) },
  responses: {
    200: jsonContent(z.object({ item: MenuItemOut }), "The item after the change."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `UpdateMenuItem` (or is empty), a price is in another currency or over the tenant's `maxAmount`, or a modifier `id` is not one of this item's",
      },
      "malformed_json",
      { code: "not_found", when: "no tenant has this slug, or it has no such menu item" },
    ),
  },
});

owner.openapi(updateMenuItemRoute, async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const existing = await findMenuItem(db, tenant.id, c.req.valid("param").id);
  if (!existing) throw new ApiError("not_found", "unknown menu item");
  const body = c.req.valid("json");
  const foreign = foreignId(existing, body);
  if (foreign) throw new ApiError("validation_failed", `${foreign}: not one of this item's`);
  await requireCategory(db, tenant, body.categoryId);
  const now = new Date();
  const item = await updateMenuItem(db, existing, menuInput(body, tenant), now);
  return c.json({ item: menuItemDto(item, tenant.currency, now) }, 200);
});

const deleteMenuItemRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Remove a menu item; past orders keep their copy of it (owner)",
  description:
    "Removes the item and its modifiers from the menu. Orders placed with it keep their own copy of its name and prices.",
  request: { params: ItemIdParams },
  responses: {
    204: { description: "Deleted." },
    ...errorResponses({
      code: "not_found",
      when: "no tenant has this slug, or it has no such menu item",
    }),
  },
});

owner.openapi(deleteMenuItemRoute, async (c) => {
  const deleted = await deleteMenuItem(c.get("db"), c.get("tenant").id, c.req.valid("param").id);
  if (!deleted) throw new ApiError("not_found", "unknown menu item");
  return c.body(null, 204);
});

export const menuRoutes = staff.route("/", owner);

type MoneyInput = z.infer<typeof MoneySchema>;

/** Unwraps Money in the tenant's currency; any other currency is a field error. */
function amountIn(tenant: Tenant, money: MoneyInput, path: string): number {
  if (money.currency !== tenant.currency) {
    throw new ApiError("validation_failed", `${path}.currency: must be ${tenant.currency}`, {
      issues: [{ path: `${path}.currency`, message: `must be ${tenant.currency}` }],
    });
  }
  return requireWithinLimit(tenant, money.amount, `${path}.amount`);
}

type ModifierBody = z.infer<typeof ModifierInputSchema>;

/** The path of the first modifier or group id in a PATCH that is not one of the item's own. */
function foreignId(
  existing: MenuItemWithModifiers,
  body: {
    modifiers?: ModifierBody[];
    modifierGroups?: { id?: string; modifiers: ModifierBody[] }[];
  },
): string | null {
  const modifiers = new Set(existing.modifiers.map((m) => m.id));
  const groups = new Set(existing.modifierGroups.map((g) => g.id));
  const seen = new Set<string>();
  const badModifier = (m: ModifierBody) => {
    if (m.id === undefined) return false;
    const bad = !modifiers.has(m.id) || seen.has(m.id);
    seen.add(m.id);
    return bad;
  };
  for (const [i, m] of (body.modifiers ?? []).entries()) {
    if (badModifier(m)) return `modifiers[${i}].id`;
  }
  for (const [i, g] of (body.modifierGroups ?? []).entries()) {
    if (g.id !== undefined && !groups.has(g.id)) return `modifierGroups[${i}].id`;
    for (const [j, m] of g.modifiers.entries()) {
      if (badModifier(m)) return `modifierGroups[${i}].modifiers[${j}].id`;
    }
  }
  return null;
}

/** A category named in a body must be the tenant's own. */
async function requireCategory(db: Db, tenant: Tenant, id: string | null | undefined) {
  if (!id) return;
  if (!(await findMenuCategory(db, tenant.id, id))) {
    throw new ApiError("validation_failed", "categoryId: not one of this tenant's categories", {
      issues: [{ path: "categoryId", message: "not one of this tenant's categories" }],
    });
  }
}

function modifierInput(tenant: Tenant, m: ModifierBody, path: string): ModifierInput {
  return {
    id: m.id,
    name: m.name,
    price: amountIn(tenant, m.price, `${path}.price`),
    posModifierId: m.posModifierId,
    maxQuantity: m.maxQuantity,
  };
}

function menuInput<
  T extends {
    price?: MoneyInput;
    modifiers?: ModifierBody[];
    modifierGroups?: z.infer<typeof ModifierGroupInputSchema>[];
  },
>(body: T, tenant: Tenant) {
  const { price, modifiers, modifierGroups, ...rest } = body;
  return {
    ...rest,
    ...(price ? { price: amountIn(tenant, price, "price") } : {}),
    ...(modifiers
      ? { modifiers: modifiers.map((m, i) => modifierInput(tenant, m, `modifiers[${i}]`)) }
      : {}),
    ...(modifierGroups
      ? {
          modifierGroups: modifierGroups.map(
            (g, i): ModifierGroupInput => ({
              id: g.id,
              name: g.name,
              minSelections: g.minSelections,
              maxSelections: g.maxSelections,
              posGroupId: g.posGroupId,
              modifiers: g.modifiers.map((m, j) =>
                modifierInput(tenant, m, `modifierGroups[${i}].modifiers[${j}]`),
              ),
            }),
          ),
        }
      : {}),
  } as Omit<T, "price" | "modifiers" | "modifierGroups"> & {
    price: number;
    modifiers?: ModifierInput[];
    modifierGroups?: ModifierGroupInput[];
  };
}
