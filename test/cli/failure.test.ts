// What a failed command prints (issue 13, failure 7: "unexpected errors print a bare message"): a BayesServeError is
// its message alone; anything else names the command, the error's type, where it was thrown and its causes.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeFailure, exitCodeOf } from "../../src/cli/failure.js";
import { BayesServeError } from "../../src/errors.js";

function overflow(depth: number): number {
  return depth === 0 ? 0 : 1 + overflow(depth + 1);
}

describe("a failed command", () => {
  it("a user's or environment's problem prints its message alone", () => {
    const err = new BayesServeError("STORE", "store /x: cannot list versions: permission denied", { exitCode: 3 });
    expect(describeFailure(err, "models list --store /x")).toBe("bayes-serve: store /x: cannot list versions: permission denied");
    expect(exitCodeOf(err)).toBe(3);
  });

  it("a BayesServeError made by another copy of errors.ts (a bundled entry point's) is still the user's problem", async () => {
    // @ts-expect-error -- the query makes a second module instance, as each bundle has its own copy
    const copy = (await import("../../src/errors.js?bundled-copy")) as typeof import("../../src/errors.js");
    expect(copy.BayesServeError).not.toBe(BayesServeError);
    const err = new copy.BayesServeError("STORE", "store /x has no model yet", { exitCode: 4 });
    expect(err instanceof BayesServeError).toBe(true);
    expect(describeFailure(err, "serve --model /x")).toBe("bayes-serve: store /x has no model yet");
    expect(exitCodeOf(err)).toBe(4);
    // Subclasses still check their own prototype, and plain errors are not branded.
    const { DataRowError } = await import("../../src/model/row-check.js");
    expect(err instanceof DataRowError).toBe(false);
    expect(new Error("x") instanceof BayesServeError).toBe(false);
    expect((null as unknown) instanceof BayesServeError).toBe(false);
  });

  it("a bug names the command, the error's type, the stack and the causes", () => {
    let err: unknown;
    try {
      overflow(1);
    } catch (e) {
      err = new Error("splitting the rows failed", { cause: e });
    }
    const text = describeFailure(err, "train --data big.csv");
    const lines = text.split("\n");
    expect(lines[0]).toBe("bayes-serve: unexpected error in `bayes-serve train --data big.csv` (a bug in bayes-serve; please report it with what follows):");
    expect(lines[1]).toBe("Error: splitting the rows failed");
    expect(text).toMatch(/\n {4}at .*failure\.test\.ts/);
    expect(text).toMatch(/\ncaused by: RangeError: Maximum call stack size exceeded\n {4}at overflow /);
    expect(describeFailure("a string", "serve")).toMatch(/`bayes-serve serve`.*\na string$/);
    expect(exitCodeOf(new TypeError("x"))).toBe(1);
  });

  it("the real command prints a bare BayesServeError message", () => {
    const root = join(import.meta.dirname, "..", "..");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "src/cli/main.ts"), "models", "verify", "not-a-version", "--store", join(root, "no-such-store")],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      "bayes-serve: store " +
        join(root, "no-such-store") +
        ': cannot verify version not-a-version: "not-a-version" is not a version id (they look like 20261201T003000Z-a1b2c3)',
    );
  });
});
