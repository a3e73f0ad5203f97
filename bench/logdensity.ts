// Log-density + gradient cost for the seed's model on 1,600 rows: the compiled model beside a hand-fused loop (the
// floor for this computation in JavaScript). Medians of repeated timings.
//   npm run bench:logdensity
import { bindModel, compileModel } from "../src/model/index.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";

const d = simulateSeedData({ ...SEED_SIMULATION, rows: 1600, seed: 1 });
const compiled = compileModel(bindModel(seedRegression.json, { x: d.x, category: d.category, y: d.y }));
const theta = Float64Array.of(1, 1.2, 1.4, Math.log(0.8));
const grad = new Float64Array(4);

// The hand-fused floor: one pass, everything in registers.
function handFused(t: Float64Array, g: Float64Array): number {
  const sigma = Math.exp(t[3]);
  const inv = 1 / sigma;
  let lp = t[3];
  let g0 = 0, g1 = 0, g2 = 0, gs = 0;
  const x = d.x, c = d.category, y = d.y;
  for (let i = 0; i < x.length; i++) {
    const cat = c[i];
    const b = cat === 0 ? t[0] : cat === 1 ? t[1] : t[2];
    const z = (y[i] - b * x[i]) * inv;
    lp -= 0.5 * z * z;
    const gz = z * inv * x[i];
    if (cat === 0) g0 += gz; else if (cat === 1) g1 += gz; else g2 += gz;
    gs += z * z;
  }
  const n = x.length;
  lp -= n * (Math.log(sigma) + 0.9189385332046727);
  for (let k = 0; k < 3; k++) lp += -0.5 * (t[k] / 2) ** 2 - Math.log(2) - 0.9189385332046727;
  lp += -0.22579135264472744 - Math.log(2) - 0.5 * (sigma / 2) ** 2;
  g[0] = g0 - t[0] / 4; g[1] = g1 - t[1] / 4; g[2] = g2 - t[2] / 4;
  g[3] = (gs - n) - (sigma * sigma) / 4 + 1;
  return lp;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn: (t: Float64Array, g: Float64Array) => number): number {
  const reps = 20000;
  const samples: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn(theta, grad);
    samples.push(Number(process.hrtime.bigint() - t0) / reps / 1000);
  }
  return median(samples);
}

const a = compiled.logDensityGradient(theta, new Float64Array(4));
const b = handFused(theta, new Float64Array(4));
if (Math.abs(a - b) > 1e-8 * Math.abs(a)) throw new Error(`the two disagree: ${a} vs ${b}`);
const ours = time((t, g) => compiled.logDensityGradient(t, g));
const floor = time(handFused);
console.log(`compiled model: ${ours.toFixed(2)} µs per log-density+gradient (${((ours * 1000) / 1600).toFixed(2)} ns/row)`);
console.log(`hand-fused:     ${floor.toFixed(2)} µs (${((floor * 1000) / 1600).toFixed(2)} ns/row)`);
console.log(`LOGDENSITY_RESULT: ${JSON.stringify({ compiled_us: ours, hand_fused_us: floor, ratio: ours / floor })}`);
