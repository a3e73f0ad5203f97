// A worse model of the seed's data, for the promotion gate's tests: one slope for all three categories (and an
// intercept for each, so that it reads the same columns, and answers the same requests, as the seed's model).
import { HalfNormal, model, Normal } from "../../src/model/index.js";

export const oneSlope = model("one-slope", (m) => {
  const x = m.data("x");
  const category = m.data("category", { levels: 3 });
  const alpha = m.param("alpha", Normal(0, 2), { shape: 3 });
  const beta = m.param("beta", Normal(0, 2));
  const sigma = m.param("sigma", HalfNormal(2));
  m.observe("obs", Normal(alpha.at(category).add(beta.mul(x)), sigma), m.data("y"));
});
