// Simulated claim counts: 1,000 policies, exposure 0.1–3 years, standardised age, alpha = −1.2, beta = 0.4.
// Usage: npx tsx examples/poisson-exposure/simulate.ts > poisson.csv
import { printCsv, randomDraws } from "../random.js";

const r = randomDraws(11);
const rows: number[][] = [];
for (let i = 0; i < 1000; i++) {
  const age = r.normal();
  const exposure = 0.1 + 2.9 * r.uniform();
  rows.push([age, exposure, r.poisson(exposure * Math.exp(-1.2 + 0.4 * age))]);
}
printCsv(["age", "exposure", "claims"], rows);
