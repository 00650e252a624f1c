/**
 * Whether a menu entry can be ordered at an instant. Two switches decide it:
 * staff's (86 now, until a time, or until switched back) and the POS's own
 * word on stock (a sync or a stock webhook). Either one off takes it off the
 * storefront. Pure: `now` is passed in.
 */

/** What the menu stores about an item's or a modifier's availability. */
export interface AvailabilityState {
  /** Staff's switch; false while 86'd. */
  available: boolean;
  /** When a staff 86 ends by itself (ISO); null for "until switched back". */
  availableAgainAt: string | null;
  /** The POS's word on stock. */
  posAvailable: boolean;
}

/** True when neither staff nor the POS has taken it off at `now`. */
export function isAvailableAt(state: AvailabilityState, now: Date): boolean {
  if (!state.posAvailable) return false;
  if (state.available) return true;
  if (state.availableAgainAt === null) return false;
  const again = Date.parse(state.availableAgainAt);
  // An unreadable time keeps it off: a corrupt row must not put an 86'd dish back on sale.
  return !Number.isNaN(again) && again <= now.getTime();
}

/**
 * When it comes back by itself, as the terminals are told (`availableAgainAt`): null while it
 * is available, and null for an 86 that lasts until someone switches it back or a POS stock-out.
 */
export function availableAgainAt(state: AvailabilityState, now: Date): string | null {
  if (isAvailableAt(state, now) || !state.posAvailable) return null;
  return state.availableAgainAt;
}
