// The hand-written WebAssembly modules are kept as base64 in TypeScript (scripts/assemble-wat.ts writes them); each
// is compiled on first use, once per thread — or handed over compiled: a process's first WebAssembly compile costs
// 3–7 ms however small the module (bench/README.md, "A chain's first milliseconds"), and a fresh chain worker
// paid it on its own clock. So the thread that starts chain workers compiles every module once (`compiledModules`)
// and passes them in the job; a worker `adoptCompiled`s them (a WebAssembly.Module crosses threads without being
// compiled again).
import { Buffer } from "node:buffer";

interface Entry {
  base64: string;
  /** undefined: not compiled yet; null: this engine cannot compile it. */
  module: WebAssembly.Module | null | undefined;
}

/** Every module this thread has loaded the source of, by name. */
const modules = new Map<string, Entry>();

function compile(entry: Entry): WebAssembly.Module | null {
  if (entry.module === undefined) {
    try {
      entry.module = new WebAssembly.Module(Buffer.from(entry.base64, "base64"));
    } catch {
      entry.module = null;
    }
  }
  return entry.module;
}

/**
 * The module `name` compiled from `base64` on the first call (or adopted from another thread) and the same one
 * after; null where this engine cannot compile it.
 */
export function compiledOnce(name: string, base64: string): () => WebAssembly.Module | null {
  const entry: Entry = modules.get(name) ?? { base64, module: undefined };
  entry.base64 = base64;
  modules.set(name, entry);
  return () => compile(entry);
}

/** Every module known to this thread, compiled (those this engine cannot compile left out), to hand to workers. */
export function compiledModules(): Record<string, WebAssembly.Module> {
  const out: Record<string, WebAssembly.Module> = {};
  for (const [name, entry] of modules) {
    const m = compile(entry);
    if (m) out[name] = m;
  }
  return out;
}

/**
 * Takes modules another thread compiled (`compiledModules`) as this thread's, for the names it has not compiled yet
 * (before or after their source is loaded here).
 */
export function adoptCompiled(compiled: Record<string, WebAssembly.Module>): void {
  for (const [name, module] of Object.entries(compiled)) {
    if (!(module instanceof WebAssembly.Module)) continue;
    const entry = modules.get(name);
    if (!entry) modules.set(name, { base64: "", module });
    else if (entry.module === undefined) entry.module = module;
  }
}
