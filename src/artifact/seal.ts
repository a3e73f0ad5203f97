// The seal of a version: the sha256 of its manifest.json exactly as stored, written beside it at publish (and into the
// `latest` pointer when the version is promoted). The manifest holds the checksums of every other file, so a manifest
// that matches its seal vouches for the whole version; without the seal a one-byte edit of the manifest (an argument
// index in the model graph, a checksum replaced along with its file) would pass every other check.
//
// With a signing key in the environment (BAYES_SERVE_SIGNING_KEY) the seal also carries an HMAC-SHA256 of the
// manifest: the digest catches accidents and careless edits, the HMAC an edit by someone who can write to the store
// but does not hold the key. A process with the key refuses versions whose seal has no valid HMAC.
import { createHmac, timingSafeEqual } from "node:crypto";
import { BayesServeError } from "../errors.js";
import { sha256Hex } from "./bundle.js";
import { SEAL_FILE } from "./manifest.js";
import { isVersionId } from "./version-id.js";

export { SEAL_FILE };
export const SIGNING_KEY_ENV = "BAYES_SERVE_SIGNING_KEY";
/** The shortest key accepted: 32 characters, 256 bits if random (RFC 2104 §3: at least the hash's output length). */
export const MIN_SIGNING_KEY_LENGTH = 32;

export interface Seal {
  version: string;
  /** sha256 (hex) of manifest.json's bytes as stored. */
  manifestSha256: string;
  /** HMAC-SHA256 (hex) of the same bytes under the signing key, when one was configured at publish. */
  hmacSha256?: string;
}

/** The signing key from the environment, or null when none is set. Refuses a key too short to be worth having. */
export function signingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const key = env[SIGNING_KEY_ENV];
  if (key === undefined || key === "") return null;
  if (key.length < MIN_SIGNING_KEY_LENGTH) {
    throw new BayesServeError(
      "CONFIG",
      `${SIGNING_KEY_ENV} is ${key.length} characters long; use at least ${MIN_SIGNING_KEY_LENGTH} (e.g. openssl rand -hex 32)`,
    );
  }
  return key;
}

const hmacHex = (key: string, bytes: Uint8Array): string => createHmac("sha256", key).update(bytes).digest("hex");

export function makeSeal(version: string, manifestBytes: Uint8Array, key: string | null): Seal {
  return { version, manifestSha256: sha256Hex(manifestBytes), ...(key === null ? {} : { hmacSha256: hmacHex(key, manifestBytes) }) };
}

export function encodeSeal(seal: Seal): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(seal)}\n`);
}

const HEX64 = /^[0-9a-f]{64}$/;

export function decodeSeal(bytes: Uint8Array, where: string): Seal {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `seal ${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const v = value as Partial<Record<keyof Seal, unknown>> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    typeof v.version !== "string" ||
    !isVersionId(v.version) ||
    typeof v.manifestSha256 !== "string" ||
    !HEX64.test(v.manifestSha256) ||
    (v.hmacSha256 !== undefined && (typeof v.hmacSha256 !== "string" || !HEX64.test(v.hmacSha256)))
  ) {
    throw new BayesServeError("ARTIFACT", `seal ${where} must be {"version": "<version id>", "manifestSha256": "<sha256 hex>"[, "hmacSha256": "<hex>"]}`);
  }
  return { version: v.version, manifestSha256: v.manifestSha256, ...(v.hmacSha256 === undefined ? {} : { hmacSha256: v.hmacSha256 as string }) };
}

/**
 * Throws an ARTIFACT error unless the manifest's bytes match the seal (and its HMAC, when a key is given). `where`
 * names the manifest for the message.
 */
export function checkSeal(seal: Seal, version: string, manifestBytes: Uint8Array, key: string | null, where: string): void {
  if (seal.version !== version) {
    throw new BayesServeError("ARTIFACT", `the seal of version ${version} names version ${seal.version}: it was copied from another version`);
  }
  const actual = sha256Hex(manifestBytes);
  if (actual !== seal.manifestSha256) {
    throw new BayesServeError(
      "ARTIFACT",
      `${where} does not match the digest recorded when version ${version} was published (${SEAL_FILE} says sha256 ` +
        `${seal.manifestSha256}, the file has ${actual}): the manifest was modified or is corrupt`,
    );
  }
  if (key === null) return;
  if (seal.hmacSha256 === undefined) {
    throw new BayesServeError("ARTIFACT", `version ${version} is not signed, and ${SIGNING_KEY_ENV} is set: only signed versions are accepted`);
  }
  const expected = Buffer.from(hmacHex(key, manifestBytes), "hex");
  if (!timingSafeEqual(expected, Buffer.from(seal.hmacSha256, "hex"))) {
    throw new BayesServeError(
      "ARTIFACT",
      `the signature of version ${version} does not match ${where} under the key in ${SIGNING_KEY_ENV}: the manifest was modified, or signed with another key`,
    );
  }
}
