// Claim counts with an exposure offset: each policy was observed for `exposure` years, so its expected number of
// claims is exposure × exp(alpha + beta · age), where age is the holder's age, centred and scaled. The offset
// log(exposure) enters the linear predictor with coefficient 1, as in a Poisson GLM with offset.
import { model, Normal, PoissonLog } from "bayes-serve";

export default model("poisson-exposure", (m) => {
  const age = m.data("age");
  const exposure = m.data("exposure", { lower: 0 }); // years observed: never negative (checked in data and requests)
  const alpha = m.param("alpha", Normal(0, 2));
  const beta = m.param("beta", Normal(0, 1));
  m.observe("likelihood", PoissonLog(exposure.log().add(alpha).add(beta.mul(age))), m.data("claims", { kind: "integer" }));
});
