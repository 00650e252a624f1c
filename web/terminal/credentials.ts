import * as z from "zod/mini";

/**
 * What a terminal signs in with, kept in localStorage so the screen comes
 * back by itself after a reload or a power cut. A terminal key is the
 * lowest role: it can only open this socket and the POS-side services.
 */

const STORAGE_KEY = "orderlane.terminal";

/** Terminal names the server accepts in `?name=` (anything else is ignored there). */
export const TERMINAL_NAME_PATTERN = /^[\w.-]{1,40}$/;
/** Tenant slugs as the platform issues them. */
export const TENANT_SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

const CredentialsSchema = z.object({
  tenant: z.string().check(z.regex(TENANT_SLUG_PATTERN)),
  key: z.string(),
  name: z._default(z.string(), ""),
});
export type Credentials = z.infer<typeof CredentialsSchema>;

const RememberedSchema = z.object({
  tenant: z._default(z.string(), ""),
  key: z._default(z.string(), ""),
  name: z._default(z.string(), ""),
});

/** The stored credentials, or null when signed out (or the storage is unreadable). */
export function loadCredentials(storage: Storage): Credentials | null {
  const parsed = CredentialsSchema.safeParse(readJson(storage));
  return parsed.success && parsed.data.key ? parsed.data : null;
}

/** Tenant and name of the last sign-in, to prefill the form after a sign-out. */
export function loadRemembered(storage: Storage): { tenant: string; name: string } {
  const parsed = RememberedSchema.safeParse(readJson(storage) ?? {});
  return parsed.success
    ? { tenant: parsed.data.tenant, name: parsed.data.name }
    : { tenant: "", name: "" };
}

export function saveCredentials(storage: Storage, credentials: Credentials): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(credentials));
}

/** Forgets the key but keeps the tenant and the screen's name. */
export function forgetKey(storage: Storage): void {
  const { tenant, name } = loadRemembered(storage);
  storage.setItem(STORAGE_KEY, JSON.stringify({ tenant, name, key: "" }));
}

function readJson(storage: Storage): unknown {
  try {
    const raw = storage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as unknown) : null;
  } catch {
    return null;
  }
}
