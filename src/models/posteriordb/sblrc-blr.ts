// posteriordb sblrc-blr (Stan: blr.stan), Bayesian linear regression with a design matrix:
//   target += normal_lpdf(beta | 0, 10);  target += normal_lpdf(sigma | 0, 10) with <lower=0>
//   target += normal_lpdf(y | X * beta, sigma)
import { model, Normal } from "../../model/index.js";
import { mat, num, vec, type PosteriordbModel, type RawData } from "./types.js";

export const blr = model("blr", (m) => {
  const D = m.dim("D");
  const X = m.data("X", { shape: "matrix" });
  const y = m.data("y");
  const beta = m.param("beta", Normal(0, 10), { shape: D });
  const sigma = m.param("sigma", Normal(0, 10), { lower: 0 });
  m.observe("y_obs", Normal(X.matvec(beta), sigma), y);
});

export function prepareData(raw: RawData) {
  return { D: num(raw, "D"), X: mat(raw, "X"), y: vec(raw, "y") };
}

export const definition: PosteriordbModel = { posterior: "sblrc-blr", model: blr, prepareData };
export default blr;
