// Test scores in 12 schools: a regression on hours of study with a varying intercept per school, partially pooled
// towards the mean (non-centred: alpha_j = mu + tau · z_j, z_j ~ Normal(0, 1), as Stan's users write it to avoid
// funnels).
import { HalfNormal, model, Normal } from "bayes-serve";

export default model("hierarchical", (m) => {
  const hours = m.data("hours", { lower: 0 });
  const school = m.data("school", { levels: 12 });
  const mu = m.param("mu", Normal(50, 20));
  const tau = m.param("tau", HalfNormal(10));
  const z = m.param("z", Normal(0, 1), { shape: 12 });
  const beta = m.param("beta", Normal(0, 5));
  const sigma = m.param("sigma", HalfNormal(10));
  m.observe("likelihood", Normal(mu.add(tau.mul(z.at(school))).add(beta.mul(hours)), sigma), m.data("score"));
});
