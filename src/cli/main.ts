#!/usr/bin/env node
// The one command, `bayes-serve`. Each layer registers its own subcommands; this file only wires them together.
import { Command } from "commander";
import { describeFailure, exitCodeOf } from "./failure.js";
import { commandRegistrations } from "./registry.js";
import { PACKAGE_VERSION } from "../server/constants.js";

const program = new Command();
program
  .name("bayes-serve")
  .description("Train Bayesian models with NUTS and serve point, interval and density predictions.")
  .version(PACKAGE_VERSION)
  // Program options only before the subcommand, so that `export --version V` is the subcommand's own flag.
  .enablePositionalOptions()
  .showHelpAfterError();

// The AWS SDK warns on every S3 use that Node 20 support ends; the engines field already says what is supported.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

commandRegistrations(process.argv.slice(2))
  .then((registrations) => {
    for (const register of registrations) register(program);
    return program.parseAsync(process.argv);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${describeFailure(err, process.argv.slice(2).join(" "))}\n`);
    // `serve`'s first load given up at its deadline may leave a read stuck, which process.exit would wait for (exit.ts);
    // other commands exit as they are (their exit codes say what happened, and must not become a SIGKILL's).
    if (process.argv[2] === "serve" || process.argv[2] === "start") void import("../server/exit.js").then((m) => m.exitProcess(exitCodeOf(err), null));
    else process.exit(exitCodeOf(err));
  });
