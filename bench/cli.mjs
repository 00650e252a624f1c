// @ts-check
// What every benchmark script's command line shares: refusing a bad option with a clear message,
// and a run that stops its servers on Ctrl-C, on SIGTERM and when its time is up.

/**
 * The script's `fail` and `numberOption` for messages that name it (`bench:<name>: …`).
 * @param {string} name
 */
export function benchCli(name) {
  /**
   * @param {string} message
   * @returns {never}
   */
  const fail = (message) => {
    console.error(`bench:${name}: ${message}`);
    process.exit(2);
  };
  /**
   * @param {string | undefined} raw
   * @param {number} fallback
   * @param {number} min
   * @param {number} max
   * @param {string} option
   * @param {boolean} [integer]
   */
  const numberOption = (raw, fallback, min, max, option, integer = true) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (
      !Number.isFinite(value) ||
      (integer && !Number.isInteger(value)) ||
      value < min ||
      value > max
    ) {
      fail(
        `--${option} must be ${integer ? "an integer" : "a number"} from ${min} to ${max} (got ${raw})`,
      );
    }
    return value;
  };
  /**
   * Calls `stop` once: on the first Ctrl-C or SIGTERM (a second exits at once), and after
   * `maxMinutes`; returns the same `stop` for the script's own `finally`.
   * @param {number} maxMinutes
   * @param {() => Promise<unknown>} stop
   */
  const guardRun = (maxMinutes, stop) => {
    let stopping = false;
    const once = async () => {
      if (stopping) return;
      stopping = true;
      await stop();
    };
    /** @param {NodeJS.Signals} signal */
    const onSignal = (signal) => {
      if (stopping) process.exit(130);
      console.error(`\nbench:${name}: ${signal}, stopping…`);
      once().finally(() => process.exit(130));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    setTimeout(() => {
      console.error(`bench:${name}: still running after ${maxMinutes} min; giving up`);
      once().finally(() => process.exit(1));
    }, maxMinutes * 60_000).unref();
    return once;
  };
  return { fail, numberOption, guardRun };
}
