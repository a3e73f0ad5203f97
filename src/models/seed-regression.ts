// The seed's model (bodywork-pymc3-project, train_model.ipynb):
//   beta ~ Normal(0, 2), shape 3;  sigma ~ HalfNormal(2);  obs ~ Normal(beta[category] * x, sigma), observed y.
import { HalfNormal, model, Normal } from "../model/index.js";

export const seedRegression = model("seed-regression", (m) => {
  const x = m.data("x");
  const category = m.data("category", { levels: 3 });
  const beta = m.param("beta", Normal(0, 2), { shape: 3 });
  const sigma = m.param("sigma", HalfNormal(2));
  m.observe("obs", Normal(beta.at(category).mul(x), sigma), m.data("y"));
});
