// Simulated data with outliers: 300 points on y = 1 + 2x (x in 0–10) with Student-t noise (3 degrees of freedom,
// scale 1.5).
// Usage: npx tsx examples/robust/simulate.ts > robust.csv
import { printCsv, randomDraws } from "../random.js";

const r = randomDraws(14);
const rows: number[][] = [];
for (let i = 0; i < 300; i++) {
  const x = 10 * r.uniform();
  rows.push([x, 1 + 2 * x + 1.5 * r.studentT(3)]);
}
printCsv(["x", "y"], rows);
