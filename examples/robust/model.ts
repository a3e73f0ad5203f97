// A robust regression: Student-t noise with unknown degrees of freedom nu, so that a few outliers do not drag the
// line. The prior on nu is Gamma(2, 0.1) (Juárez & Steel 2010), as the Stan prior-choice wiki recommends.
// /mean answers the location of y (the regression line), its mean wherever nu > 1.
import { Gamma, HalfNormal, model, Normal, StudentT } from "bayes-serve";

export default model("robust", (m) => {
  const x = m.data("x");
  const alpha = m.param("alpha", Normal(0, 10));
  const beta = m.param("beta", Normal(0, 10));
  const sigma = m.param("sigma", HalfNormal(5));
  const nu = m.param("nu", Gamma(2, 0.1));
  m.observe("likelihood", StudentT(nu, alpha.add(beta.mul(x)), sigma), m.data("y"));
});
