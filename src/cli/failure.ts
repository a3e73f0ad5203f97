// What the command line prints when a command fails. A BayesServeError is the user's or the environment's problem and
// its message says what to fix; anything else is a bug in bayes-serve, and a bare message ("Maximum call stack size
// exceeded", "Cannot read properties of undefined") names neither the command nor where it failed: print the
// command, the error's type, its stack and its causes.
import { BayesServeError } from "../errors.js";

/** The lines to print for a failed command (`command` as typed, e.g. "train --data x.csv"). */
export function describeFailure(err: unknown, command: string): string {
  if (err instanceof BayesServeError) return `bayes-serve: ${err.message}`;
  const lines = [`bayes-serve: unexpected error in \`bayes-serve ${command}\` (a bug in bayes-serve; please report it with what follows):`];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const prefix = depth === 0 ? "" : "caused by: ";
    if (current instanceof Error) {
      lines.push(`${prefix}${current.stack ?? `${current.name}: ${current.message}`}`);
      if ((current as NodeJS.ErrnoException).code !== undefined && !String(current.stack).includes(String((current as NodeJS.ErrnoException).code))) {
        lines.push(`  (code ${(current as NodeJS.ErrnoException).code})`);
      }
      current = current.cause;
    } else {
      lines.push(`${prefix}${typeof current === "object" ? JSON.stringify(current) : String(current)}`);
      break;
    }
  }
  return lines.join("\n");
}

/** The exit code for a failure: the error's own, else 1. */
export function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === "number" ? code : 1;
}
