#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=256
// A lean entry point for the service alone: `node dist/server/main.js [serve flags]` is `bayes-serve serve [flags]`
// without loading the other subcommands (training, reports, Kubernetes), so it starts faster and uses less memory.
// Run as an executable it gets the serving V8 settings (SERVING_NODE_OPTIONS in constants.ts) from its shebang.
import { Command } from "commander";
import { describeFailure, exitCodeOf } from "../cli/failure.js";
import { register } from "../cli/serve.js";
import { exitProcess } from "./exit.js";

const program = new Command();
program.name("bayes-serve-server").showHelpAfterError();
register(program);
program.parseAsync([process.argv[0], process.argv[1], "serve", ...process.argv.slice(2)]).catch((err: unknown) => {
  process.stderr.write(`${describeFailure(err, ["serve", ...process.argv.slice(2)].join(" "))}\n`);
  // A first load given up at its deadline may leave a read stuck, which process.exit would wait for (exit.ts).
  void exitProcess(exitCodeOf(err), null);
});
