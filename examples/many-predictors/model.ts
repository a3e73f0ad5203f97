// A linear regression on 20 predictors read from 20 CSV columns as one design matrix, standardised by the training
// rows (recorded in the artefact and applied to each request's columns), so that one prior fits every coefficient.
import { HalfNormal, model, Normal } from "bayes-serve";

export const PREDICTORS = Array.from({ length: 20 }, (_, j) => `x${j + 1}`);

export default model("many-predictors", (m) => {
  const X = m.data("X", { columns: PREDICTORS, standardize: true });
  const intercept = m.param("intercept", Normal(0, 10));
  const b = m.param("b", Normal(0, 2), { shape: PREDICTORS.length });
  const sigma = m.param("sigma", HalfNormal(5));
  m.observe("likelihood", Normal(X.matvec(b).add(intercept), sigma), m.data("y"));
});
