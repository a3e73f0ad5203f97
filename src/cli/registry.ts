// Every subcommand module exports `register(program)`; add a line here for each.
import type { Command } from "commander";
import { register as registerDeploy } from "./deploy.js";
import { register as registerExport } from "./export.js";
import { register as registerModels } from "./models.js";
import { register as registerServe } from "./serve.js";
import { register as registerTrain } from "./train.js";
import { register as registerStart } from "./start.js";

export type CommandRegistration = (program: Command) => void;

export const commandRegistrations: CommandRegistration[] = [
  registerStart,
  registerTrain,
  registerModels,
  registerServe,
  registerExport,
  registerDeploy,
];
