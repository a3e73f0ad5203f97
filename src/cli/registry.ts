// Every subcommand module exports `register(program)`; add a line here for each.
import type { Command } from "commander";
import { register as registerDeploy } from "./deploy.js";

export type CommandRegistration = (program: Command) => void;

export const commandRegistrations: CommandRegistration[] = [
  registerDeploy,
];
