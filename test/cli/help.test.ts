// `bayes-serve … --help`: every option's default is shown once, by commander, never also in the description.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commandModules } from "../../src/cli/registry.js";

/** The command and all its subcommands, depth first. */
function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

describe("CLI help", () => {
  it("states no option's default twice", async () => {
    const program = new Command("bayes-serve");
    for (const load of Object.values(commandModules)) (await load()).register(program);
    const doubled: string[] = [];
    for (const command of allCommands(program)) {
      for (const option of command.options) {
        if (option.defaultValue === undefined || option.description === undefined) continue;
        if (/\(default[ :]/.test(option.description)) doubled.push(`${command.name()} ${option.flags}: ${option.description}`);
      }
    }
    expect(doubled).toEqual([]);
  });
});
