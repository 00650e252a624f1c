/**
 * Roles a tenant API key carries, one rule for HTTP routes and socket
 * commands alike: owner ⊃ staff ⊃ terminal.
 */
export const KEY_ROLES = ["owner", "staff", "terminal"] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

const ROLE_RANK: Record<KeyRole, number> = { terminal: 1, staff: 2, owner: 3 };

/** Whether a key of role `held` may do what needs `needed`. */
export function roleCovers(held: KeyRole, needed: KeyRole): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[needed];
}

export function isKeyRole(value: unknown): value is KeyRole {
  return (KEY_ROLES as readonly unknown[]).includes(value);
}
