// A worse model of the seed's data, for the promotion gate's tests: one slope for all three categories.
import { HalfNormal, model, Normal } from "../../src/model/index.js";

export const oneSlope = model("one-slope", (m) => {
  const x = m.data("x");
  m.data("category", { levels: 3 });
  const beta = m.param("beta", Normal(0, 2));
  const sigma = m.param("sigma", HalfNormal(2));
  m.observe("obs", Normal(beta.mul(x), sigma), m.data("y"));
});
