/**
 * Reads until `done` holds and gives the last reading; fails after `ms`,
 * naming what was awaited and what was last seen. For every wait on work
 * that finishes after the call that started it (queue consumers, the other
 * side of a socket, a child process): a bounded poll, never a bare sleep.
 */
export async function until<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  ms = 8000,
  what = "the condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}; last saw ${JSON.stringify(value)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
