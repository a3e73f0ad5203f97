// Every subcommand module exports `register(program)`. Modules load lazily: `bayes-serve train` need not pay for the
// Kubernetes client's import (over a second) nor `deploy` for Vega. Add a line here for each subcommand.
import type { Command } from "commander";

export type CommandRegistration = (program: Command) => void;

export const commandModules: Record<string, () => Promise<{ register: CommandRegistration }>> = {
  start: () => import("./start.js"),
  train: () => import("./train.js"),
  models: () => import("./models.js"),
  serve: () => import("./serve.js"),
  export: () => import("./export.js"),
  deploy: () => import("./deploy.js"),
};

/** The registrations needed for these arguments: just the named subcommand's, or all of them (help, unknown names). */
export async function commandRegistrations(argv: readonly string[]): Promise<CommandRegistration[]> {
  const name = argv.find((a) => !a.startsWith("-"));
  const only = name !== undefined && name in commandModules ? [name] : Object.keys(commandModules);
  const modules = await Promise.all(only.map((n) => commandModules[n]()));
  return modules.map((m) => m.register);
}
