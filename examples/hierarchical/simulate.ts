// Simulated scores: 12 schools of 8 to 60 students, intercepts ~ Normal(55, 6), 2.5 points per hour of study
// (0–10 hours), noise sd 8.
// Usage: npx tsx examples/hierarchical/simulate.ts > schools.csv
import { printCsv, randomDraws } from "../random.js";

const r = randomDraws(13);
const intercepts = Array.from({ length: 12 }, () => 55 + 6 * r.normal());
const rows: number[][] = [];
for (let school = 0; school < 12; school++) {
  const students = 8 + Math.floor(52 * r.uniform());
  for (let i = 0; i < students; i++) {
    const hours = 10 * r.uniform();
    rows.push([hours, school, intercepts[school] + 2.5 * hours + 8 * r.normal()]);
  }
}
printCsv(["hours", "school", "score"], rows);
