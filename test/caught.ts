/**
 * The error of class `type` that `promise` rejects with; anything else it
 * rejects with is rethrown, and a promise that resolves fails the test.
 */
export async function caught<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}, got success`);
}
