// A published version's id: the UTC time it was made, to the second, and 6 random hex digits, so that ids sort in
// creation order and two trainings in the same second do not collide.
import { randomBytes } from "node:crypto";

/** A version id's form, as a JSON Schema pattern (the manifest's `version`) and as the RegExp below. */
export const VERSION_ID_PATTERN = "^\\d{8}T\\d{6}Z-[0-9a-f]{6}$";
const VERSION_RE = new RegExp(VERSION_ID_PATTERN);

/** A new version id: UTC timestamp to the second plus 6 random hex digits, e.g. `20261201T003000Z-a1b2c3`. */
export function newVersionId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/** True for a well-formed version id. Ids sort lexicographically in creation order (to the second). */
export function isVersionId(value: string): boolean {
  return VERSION_RE.test(value);
}
