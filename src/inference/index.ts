export { fit, fitChain, assemblePosterior } from "./fit.js";
export { samplerSettingsOf, type FitOptions } from "./fit-options.js";
export { chainsOf, type Posterior } from "./posterior.js";
export {
  runChain,
  ADAPTATIONS,
  DEFAULT_SAMPLER_SETTINGS,
  SAMPLE_STATS,
  type Adaptation,
  type ChainStart,
  type SamplerSettings,
  type ChainResult,
} from "./sampler.js";
export { createNutsKernel, MAX_DELTA_H, DEFAULT_MAX_TREE_DEPTH } from "./nuts.js";
