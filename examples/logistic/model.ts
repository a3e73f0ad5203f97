// Customer churn: whether a customer left (1) or stayed (0), by their tenure in years and monthly charges in hundreds.
// /mean answers P(churned = 1) with its credible interval.
import { BernoulliLogit, model, Normal } from "bayes-serve";

export default model("churn-logistic", (m) => {
  const tenure = m.data("tenure", { lower: 0 });
  const charges = m.data("charges", { lower: 0 });
  const alpha = m.param("alpha", Normal(0, 2.5));
  const bTenure = m.param("b_tenure", Normal(0, 1));
  const bCharges = m.param("b_charges", Normal(0, 1));
  m.observe("likelihood", BernoulliLogit(alpha.add(bTenure.mul(tenure)).add(bCharges.mul(charges))), m.data("churned", { kind: "integer" }));
});
