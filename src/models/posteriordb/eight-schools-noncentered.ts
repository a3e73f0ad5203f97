// posteriordb eight_schools-eight_schools_noncentered (Stan: eight_schools_noncentered.stan)
//   theta_trans ~ normal(0, 1);  mu ~ normal(0, 5);  tau ~ cauchy(0, 5) with <lower=0>
//   theta = theta_trans * tau + mu   (a transformed parameter: here a deterministic)
//   y ~ normal(theta, sigma)
import { Cauchy, model, Normal } from "../../model/index.js";
import { num, vec, type PosteriordbModel, type RawData } from "./types.js";

export const eightSchoolsNoncentered = model("eight_schools_noncentered", (m) => {
  const J = m.dim("J");
  const y = m.data("y");
  const sigma = m.data("sigma");
  const thetaTrans = m.param("theta_trans", Normal(0, 1), { shape: J });
  const mu = m.param("mu", Normal(0, 5));
  const tau = m.param("tau", Cauchy(0, 5), { lower: 0 });
  const theta = m.deterministic("theta", thetaTrans.mul(tau).add(mu));
  m.observe("y_obs", Normal(theta, sigma), y);
});

export function prepareData(raw: RawData) {
  return { J: num(raw, "J"), y: vec(raw, "y"), sigma: vec(raw, "sigma") };
}

export const definition: PosteriordbModel = {
  posterior: "eight_schools-eight_schools_noncentered",
  model: eightSchoolsNoncentered,
  prepareData,
};

export default eightSchoolsNoncentered;
