// Every default a user can override, in one place (as Stan's services keep theirs in defaults.hpp), each with where
// it comes from. Plain values only: every layer may import this module, and it imports nothing.

/** The sampler's defaults are Stan's (CmdStan `sample`): what `fit()` uses when a setting is not given. */
export const SAMPLER_DEFAULTS = {
  /** Post-warm-up draws per chain (CmdStan num_samples). */
  draws: 1000,
  /** Warm-up iterations per chain (CmdStan num_warmup). */
  tune: 1000,
  /** CmdStan num_chains in recent releases; rstan's chains. */
  chains: 4,
  seed: 0,
  /** CmdStan max_depth. */
  maxTreeDepth: 10,
  /** CmdStan adapt delta: the target of the step size's dual averaging. */
  targetAccept: 0.8,
  /** Initial values uniform(−2, 2) on the unconstrained space (CmdStan init = 2). */
  initRadius: 2,
  adaptation: "stan",
} as const;

/**
 * `bayes-serve train` (and the training `npm start` runs when the store is empty) defaults to the seed project's
 * settings: 2 chains of 1,000 warm-up + 5,000 draws, seed 42, a fifth of the rows held out.
 */
export const TRAIN_DEFAULTS = {
  model: "seed-regression",
  store: "./artifacts",
  seed: 42,
  draws: 5000,
  tune: SAMPLER_DEFAULTS.tune,
  chains: 2,
  testFraction: 0.2,
  targetAccept: SAMPLER_DEFAULTS.targetAccept,
  maxTreeDepth: SAMPLER_DEFAULTS.maxTreeDepth,
  /**
   * nutpie's gradient-based diagonal metric (Seyboldt, Carlson & Carpenter 2026), not the sampler's Stan default: at
   * training's 5,000 draws a chain it gives more effective draws per second on the seed model (about 2×) and on most
   * posteriors of the benchmark suite (bench/README.md, "The default adaptation"). `fit()` keeps Stan's windowed
   * variance at its 1,000 draws, where grad-diag's shorter trees leave too few effective draws on strongly correlated
   * posteriors for R-hat < 1.01 (posteriordb kilpisjarvi).
   */
  adaptation: "grad-diag",
  /** Warm-up of a warm-started fit: the step size's dual averaging only (the metric is the earlier fit's). */
  warmStartTune: 150,
  /**
   * Fits made again, each at the next of DIVERGENCE_RETRY_TARGETS, while a fit has more divergent transitions than the
   * gate allows: what Stan's warning asks its users to do by hand. One, so that a model that diverges whatever the
   * step size costs at most two fits before the gate refuses it.
   */
  divergenceRetries: 1,
  /**
   * Rows the costs per row × draw are paid on when the data hold more (a seeded random sample, recorded as such):
   * the report's figures, the held-out metrics made from predictive samples, and PSIS-LOO (subsampled as Magnusson et
   * al. 2019). 10,000 rows put the sampling SE of a mean metric at 1 % of the rows' sd, and keep LOO at 10,000 × 2,000
   * log-likelihood evaluations (the seed's 2,000 rows stay whole).
   */
  sampleRows: 10_000,
} as const;

/**
 * The target acceptance statistics a fit with divergent transitions is made again at, the first above the one it had:
 * the steps Stan's users take when its divergence warning asks for a higher adapt_delta (rstanarm's default is 0.95).
 */
export const DIVERGENCE_RETRY_TARGETS = [0.9, 0.95, 0.99] as const;

/**
 * The quality gate: Vehtari et al. (2021), "Rank-normalization, folding, and localization", recommend R-hat < 1.01
 * and bulk and tail ESS > 100 per chain (400 for 4 chains); no divergent transitions (Stan's warning threshold).
 */
export const GATE_DEFAULTS = { maxRhat: 1.01, minEssBulk: 400, minEssTail: 400, maxDivergences: 0 } as const;

/** A new fit predicting the held-out rows worse than `latest` by more than this many SEs of the difference is not promoted. */
export const MAX_ELPD_DROP_DEFAULT = 2;
