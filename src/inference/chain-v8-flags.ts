// The V8 settings that apply while a fit's chains run on worker threads. Each worker starts cold and V8 optimises the
// sampler's loops (warm-up, sampling, adaptation; the NUTS transition itself is WebAssembly, nuts.wat) and the model's
// gradient, which on a two-core machine competes with the chains themselves. No concurrent recompilation: each worker compiles on its own thread when the code is hot, instead
// of handing the job to a background thread that competes with both chains for the cores while the worker goes on in
// slower code. The inlining budget stays V8's: generated row loops call model/elementary.ts's exp and log, which must be
// inlined to pay off. The figures behind both are in bench/README.md ("Measurements behind the code"). V8 flags are per process and read
// when an isolate starts, so they are set before the workers start and restored when the last fit's chains finish.
// They change only when and how code is optimised, never results.
import { setFlagsFromString } from "node:v8";

const CHAIN_V8_FLAGS = ["--no-concurrent-recompilation"];
/** V8's defaults for the same flags (src/flags/flag-definitions.h). */
const V8_DEFAULT_FLAGS = ["--concurrent-recompilation"];
/** Fits whose chains are running on workers now (fits may overlap; the defaults come back after the last). */
let fitsOnWorkers = 0;

/** Runs `startChains` (which starts the chains' workers) with the chains' V8 flags set, until what it returns settles. */
export async function withChainV8Flags<T>(startChains: () => Promise<T>): Promise<T> {
  tuneV8ForChainsWhile(true);
  try {
    return await startChains();
  } finally {
    tuneV8ForChainsWhile(false);
  }
}

function tuneV8ForChainsWhile(starting: boolean): void {
  fitsOnWorkers += starting ? 1 : -1;
  if (starting && fitsOnWorkers === 1) for (const f of CHAIN_V8_FLAGS) setFlagsFromString(f);
  if (!starting && fitsOnWorkers === 0) for (const f of V8_DEFAULT_FLAGS) setFlagsFromString(f);
}
