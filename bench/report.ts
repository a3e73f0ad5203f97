// Cold timing, as the train command sees it: a fresh process, import the report layer, render once (then twice more warm).
//   npx tsx bench/report.ts
import { syntheticInput } from "../test/report/fixture.js";
const input = syntheticInput();
const t0 = performance.now();
const { renderReport } = await import("../src/report/index.js");
const t1 = performance.now();
const times: number[] = [];
for (let i = 0; i < 3; i++) {
  const s = performance.now();
  await renderReport(input);
  times.push(performance.now() - s);
}
console.log(JSON.stringify({ importMs: Math.round(t1 - t0), firstMs: Math.round(times[0]), warmMs: times.slice(1).map(Math.round) }));
