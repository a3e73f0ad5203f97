// posteriordb gp_pois_regr-gp_regr (Stan: gp_regr.stan), Gaussian-process regression:
//   cov = gp_exp_quad_cov(x, alpha, rho) + diag_matrix(rep_vector(sigma, N))   (sigma itself on the diagonal, not σ²)
//   rho ~ gamma(25, 4);  alpha ~ normal(0, 2);  sigma ~ normal(0, 1), all <lower=0>
//   y ~ multi_normal_cholesky(0, cholesky_decompose(cov))   (MvNormal factorises by Cholesky inside)
import { addDiag, covExpQuad, Gamma, model, MvNormal, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

export const gpRegr = model("gp_regr", (m) => {
  const x = m.data("x");
  const y = m.data("y");
  const rho = m.param("rho", Gamma(25, 4));
  const alpha = m.param("alpha", Normal(0, 2), { lower: 0 });
  const sigma = m.param("sigma", Normal(0, 1), { lower: 0 });
  m.observe("y_obs", MvNormal(0, addDiag(covExpQuad(x, alpha, rho), sigma)), y);
});

export function prepareData(raw: RawData) {
  return { x: vec(raw, "x"), y: vec(raw, "y") };
}

export const definition: PosteriordbModel = { posterior: "gp_pois_regr-gp_regr", model: gpRegr, prepareData };
export default gpRegr;
