// posteriordb kilpisjarvi_mod-kilpisjarvi (Stan: kilpisjarvi.stan), a linear trend with priors given as data:
//   alpha ~ normal(pmualpha, psalpha);  beta ~ normal(pmubeta, psbeta);  real<lower=0> sigma (flat)
//   y ~ normal(alpha + beta * x, sigma)
// x is the year (about 1952..2013), so alpha and beta are almost perfectly correlated a posteriori.
import { Flat, model, Normal } from "../../model/index.js";
import { num, vec, type PosteriordbModel, type RawData } from "./types.js";

export const kilpisjarvi = model("kilpisjarvi", (m) => {
  const x = m.data("x");
  const y = m.data("y");
  const scalar = (name: string) => m.data(name, { shape: "scalar" });
  const alpha = m.param("alpha", Normal(scalar("pmualpha"), scalar("psalpha")));
  const beta = m.param("beta", Normal(scalar("pmubeta"), scalar("psbeta")));
  const sigma = m.param("sigma", Flat(), { lower: 0 });
  m.observe("y_obs", Normal(alpha.add(beta.mul(x)), sigma), y);
});

export function prepareData(raw: RawData) {
  return {
    x: vec(raw, "x"),
    y: vec(raw, "y"),
    pmualpha: num(raw, "pmualpha"),
    psalpha: num(raw, "psalpha"),
    pmubeta: num(raw, "pmubeta"),
    psbeta: num(raw, "psbeta"),
  };
}

export const definition: PosteriordbModel = { posterior: "kilpisjarvi_mod-kilpisjarvi", model: kilpisjarvi, prepareData };
export default kilpisjarvi;
