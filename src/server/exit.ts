// Ending the serving process when a file operation may never end. process.exit() first waits for every libuv
// threadpool thread to finish what it is doing, and a thread blocked in open() or read() of a file on a hung network
// file system (or, before the local store refused them, of a FIFO) never does: the process logged that it was exiting
// and then hung, until someone killed it. So an exit first lets the file operations under way end (a log line being
// written takes milliseconds); those still under way after that are taken as stuck, and the process kills itself.
import pino, { type Logger } from "pino";

/** How long an exit waits for file operations under way to end before it takes them as stuck. */
export const EXIT_FILE_IO_WAIT_MS = 1_000;
/** The wait's step. */
const POLL_MS = 20;

/** File operations under way on libuv's threadpool (fs callbacks and promises). */
function fileOperationsUnderWay(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith("FSReq")).length;
}

async function waitForFileOperations(atMost: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let n = fileOperationsUnderWay();
  while (n > atMost && performance.now() < until) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    n = fileOperationsUnderWay();
  }
  return n;
}

/** Writes out what the logger holds, synchronously when its destination can (pino.destination can). */
function flushLog(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym];
  try {
    if (typeof stream?.flushSync === "function") stream.flushSync();
    else logger.flush();
  } catch {
    logger.flush();
  }
}

/**
 * Exits with `code` (logging to `logger`, or to stderr without one: a command that failed before its server had a logger)
 * — if file operations are still under way after `waitMs`, by SIGKILL instead, since a normal exit
 * would wait for them for ever. As PID 1 of a container the kernel does not deliver a signal the process sends itself:
 * there the normal exit is tried anyway, and the orchestrator's kill at the end of the pod's termination grace period
 * is what ends it.
 */
export async function exitProcess(code: number, logger: Logger | null, waitMs: number = EXIT_FILE_IO_WAIT_MS): Promise<void> {
  if (logger !== null) flushLog(logger);
  const stuck = await waitForFileOperations(0, waitMs);
  if (stuck > 0) {
    const message =
      "file operations still under way (a store read on a hung file system?) cannot be cancelled and a normal exit would wait for them for ever: exiting by SIGKILL";
    if (logger !== null) {
      logger.error({ code, fileOperations: stuck, waitedMs: waitMs }, message);
      flushLog(logger);
    } else process.stderr.write(`bayes-serve: ${message}\n`);
    // The line just logged may be on its way to stdout through the threadpool: let it get there.
    await waitForFileOperations(stuck, 200);
    process.kill(process.pid, "SIGKILL");
  }
  logger?.flush();
  process.exit(code);
}
