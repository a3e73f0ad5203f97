// posteriordb kidiq-kidscore_interaction (Stan: kidscore_interaction.stan)
//   transformed data: inter = mom_hs .* mom_iq   (a data-only expression here, computed once at compile time)
//   vector[4] beta (flat);  sigma ~ cauchy(0, 2.5) with <lower=0>
//   kid_score ~ normal(beta[1] + beta[2] * mom_hs + beta[3] * mom_iq + beta[4] * inter, sigma)
import { Cauchy, Flat, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

export const kidscoreInteraction = model("kidscore_interaction", (m) => {
  const kidScore = m.data("kid_score");
  const momIq = m.data("mom_iq");
  const momHs = m.data("mom_hs");
  const inter = momHs.mul(momIq);
  const beta = m.param("beta", Flat(), { shape: 4 });
  const sigma = m.param("sigma", Cauchy(0, 2.5), { lower: 0 });
  const mu = beta
    .at(0)
    .add(beta.at(1).mul(momHs))
    .add(beta.at(2).mul(momIq))
    .add(beta.at(3).mul(inter));
  m.observe("kid_score_obs", Normal(mu, sigma), kidScore);
});

export function prepareData(raw: RawData) {
  return { kid_score: vec(raw, "kid_score"), mom_iq: vec(raw, "mom_iq"), mom_hs: vec(raw, "mom_hs") };
}

export const definition: PosteriordbModel = { posterior: "kidiq-kidscore_interaction", model: kidscoreInteraction, prepareData };
export default kidscoreInteraction;
