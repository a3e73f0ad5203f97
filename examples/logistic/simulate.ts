// Simulated churn: 1,000 customers, tenure 0–6 years, charges 0.2–1.2 hundred a month;
// logit P(churn) = −0.5 − 0.6 · tenure + 1.8 · charges.
// Usage: npx tsx examples/logistic/simulate.ts > churn.csv
import { printCsv, randomDraws } from "../random.js";

const r = randomDraws(12);
const rows: number[][] = [];
for (let i = 0; i < 1000; i++) {
  const tenure = 6 * r.uniform();
  const charges = 0.2 + r.uniform();
  const p = 1 / (1 + Math.exp(-(-0.5 - 0.6 * tenure + 1.8 * charges)));
  rows.push([i + 1, tenure, charges, r.bernoulli(p)]);
}
// The customer id is not a model input: training ignores it, and says so.
printCsv(["customer_id", "tenure", "charges", "churned"], rows);
