// The hand-written WebAssembly modules are kept as base64 in TypeScript (scripts/assemble-wat.ts writes them); each
// is compiled on first use, once per thread.
import { Buffer } from "node:buffer";

/** The module compiled from `base64` on the first call and the same one after; null where this engine cannot compile it. */
export function compiledOnce(base64: string): () => WebAssembly.Module | null {
  let module: WebAssembly.Module | null | undefined;
  return () => {
    if (module === undefined) {
      try {
        module = new WebAssembly.Module(Buffer.from(base64, "base64"));
      } catch {
        module = null;
      }
    }
    return module;
  };
}
