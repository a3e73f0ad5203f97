// The gradient-based adaptation's estimates kept in a WebAssembly module's memory and updated by grad-estimate.wat:
// the same numbers as grad-adaptation.ts's drawGradAdd and invMetricFromEstimate, bit for bit, without the two loops a
// fresh chain worker's TurboFan would compile (bench/README.md, "A chain's first milliseconds"). The estimates'
// arrays are views of the module's memory, so the adaptation's own code (the switch of estimators, the reset of the
// background one) reads and writes them as before; a draw, its gradient and the inverse metric are copied in and out
// around each call (a few dozen bytes on the small models where the compile time counts).
import { compiledOnce } from "../model/wasm-module.js";
import { GRAD_ESTIMATE_BASE64 } from "./grad-estimate-wasm-binary.js";
import { type DrawGradEstimate, type DrawGradOps, MAX_VARIANCE, MIN_VARIANCE } from "./grad-adaptation.js";

const PAGE_BYTES = 65536;
/** Above this the estimates stay JavaScript arrays: the byte offsets are i32, and the loops' compile time is small beside the work. */
const MAX_BYTES = 2 ** 30;
/** A chain keeps two estimates, the foreground and the background one (grad-adaptation.ts). */
const ESTIMATES = 2;

interface GradEstimateExports {
  add(dim: number, w: number, q: number, g: number, dm: number, dm2: number, gm: number, gm2: number): void;
  invMetric(dim: number, dm2: number, gm2: number, out: number, min: number, max: number): void;
}

const gradEstimateModule = compiledOnce("grad-estimate", GRAD_ESTIMATE_BASE64);

/**
 * Operations over `dim` coordinates whose estimates live in a module instance of their own (one per chain); null
 * where WebAssembly is unavailable or the blocks would be too large.
 */
export function wasmDrawGradOps(dim: number): DrawGradOps | null {
  const module = gradEstimateModule();
  // q, g, the inverse metric, and four vectors an estimate.
  const bytes = 8 * dim * (3 + 4 * ESTIMATES);
  if (module === null || bytes > MAX_BYTES) return null;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  } catch {
    return null;
  }
  const run = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GradEstimateExports;
  const vector = (k: number) => ({ at: 8 * dim * k, view: new Float64Array(memory.buffer, 8 * dim * k, dim) });
  const q = vector(0);
  const g = vector(1);
  const out = vector(2);
  let made = 0;
  const at = new Map<DrawGradEstimate, { dm: number; dm2: number; gm: number; gm2: number }>();
  return {
    estimate() {
      if (made === ESTIMATES) throw new Error(`internal error: a chain's gradient-based adaptation asked for a third estimate`);
      const base = 3 + 4 * made++;
      const [dm, dm2, gm, gm2] = [0, 1, 2, 3].map((k) => vector(base + k));
      const e: DrawGradEstimate = { n: 0, drawMean: dm.view, drawM2: dm2.view, gradMean: gm.view, gradM2: gm2.view };
      at.set(e, { dm: dm.at, dm2: dm2.at, gm: gm.at, gm2: gm2.at });
      return e;
    },
    add(e, draw, grad) {
      const b = at.get(e)!;
      e.n++;
      q.view.set(draw);
      g.view.set(grad);
      run.add(dim, 1 / e.n, q.at, g.at, b.dm, b.dm2, b.gm, b.gm2);
    },
    invMetric(e, invMetric) {
      if (e.n < 3) return false;
      const b = at.get(e)!;
      out.view.set(invMetric);
      run.invMetric(dim, b.dm2, b.gm2, out.at, MIN_VARIANCE, MAX_VARIANCE);
      invMetric.set(out.view);
      return true;
    },
  };
}
