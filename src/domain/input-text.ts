/**
 * Error messages may quote what a client sent, but never more than this many
 * characters of it: an error must not echo a large or hostile input back (or
 * into a log).
 */
export const MAX_QUOTED_INPUT = 100;

/** `text` cut to `max` characters, marked with an ellipsis when cut. */
export function clipInput(text: string, max = MAX_QUOTED_INPUT): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A value as a message quotes it: JSON, clipped. */
export function quoteInput(value: unknown): string {
  if (typeof value === "string") return `"${clipInput(value)}"`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clipInput(text);
}

/**
 * A validator's message with every quoted part (zod quotes unknown keys and
 * values in double quotes) clipped, and the whole kept short.
 */
export function clipMessage(message: string): string {
  const clipped = message.replace(
    /"((?:[^"\\]|\\.){101,})"/g,
    (_, inner: string) => `"${clipInput(inner)}"`,
  );
  return clipInput(clipped, 4 * MAX_QUOTED_INPUT);
}
