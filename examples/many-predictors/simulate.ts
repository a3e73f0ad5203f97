// Simulated data for 20 predictors of different scales and centres: 800 rows, y = 2 + Σ βⱼ·xⱼ + Normal(0, 1.5), with
// half of the βⱼ zero.
// Usage: npx tsx examples/many-predictors/simulate.ts > many.csv
import { printCsv, randomDraws } from "../random.js";

const r = randomDraws(15);
const k = 20;
const scale = Array.from({ length: k }, (_, j) => 0.5 + (j % 5));
const centre = Array.from({ length: k }, (_, j) => (j % 3) * 4 - 4);
const beta = Array.from({ length: k }, (_, j) => (j % 2 === 0 ? (j % 4 === 0 ? 0.8 : -0.5) / scale[j] : 0));
const rows: number[][] = [];
for (let i = 0; i < 800; i++) {
  const x = scale.map((s, j) => centre[j] + s * r.normal());
  rows.push([...x, 2 + x.reduce((sum, v, j) => sum + beta[j] * v, 0) + 1.5 * r.normal()]);
}
printCsv([...Array.from({ length: k }, (_, j) => `x${j + 1}`), "y"], rows);
