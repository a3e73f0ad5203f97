// The BayesServeError a promise rejects with: a test's way to check a refusal's code and message.
import { expect } from "vitest";
import { BayesServeError } from "../../src/errors.js";

/** What `p` rejects with, which must be a BayesServeError (resolving fails the test). */
export async function refusal(p: Promise<unknown>): Promise<BayesServeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BayesServeError);
  return err as BayesServeError;
}
