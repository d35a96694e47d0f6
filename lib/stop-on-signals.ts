/**
 * Calls `stop` on the first SIGTERM or SIGINT, and removes its listeners once `stopped` settles,
 * so a server started and stopped several times in one process (tests) leaves none behind.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => unknown, stopped: Promise<unknown>): void {
  const onSignal = (signal: NodeJS.Signals) => { void stop(signal); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  void stopped.then(() => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  });
}
