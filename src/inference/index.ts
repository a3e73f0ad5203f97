export { fit, fitChain, assemblePosterior, samplerSettingsOf, chainsOf, type FitOptions, type Posterior } from "./fit.js";
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
