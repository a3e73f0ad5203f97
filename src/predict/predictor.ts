// Posterior-predictive answers for new instances: for each sample, a posterior draw, then the likelihood's noise; the
// expected value E[y | x, θ] of every posterior draw (`means`: what brms calls posterior_epred); the log-likelihood
// of an observation. Instances are checked first (instance-check.ts); the draws come from the serving-order table
// (draw-table.ts). Likelihoods whose arguments are elementwise in the features take loops generated per model
// (argument-code.ts, generated-loops.ts); the others the general evaluator (likelihood-interpreter.ts) — the same
// rows, the same checks. An input at which an argument leaves its family's domain is an InstanceError naming the
// features to blame (argument-blame.ts): never a draw from an undefined distribution, never a hang.
import { BayesServeError } from "../errors.js";
import { familyOf, type Family } from "../model/families.js";
import type { ModelJSON } from "../model/graph.js";
import { Rng } from "../random/rng.js";
import { compileArgumentCode } from "./argument-code.js";
import { ArgumentBlame } from "./argument-blame.js";
import { type DrawTable, shuffledDrawTable } from "./draw-table.js";
import { type FeatureSpec, predictionSchema, type PredictionSchema } from "./features.js";
import { compileLogLikLoop, compileMeanLoop, compileSampleLoop, type LogLikLoop, type MeanLoop, type SampleLoop } from "./generated-loops.js";
import { compileFeatureReader, type FeatureReader, featureValueProblem, type Instance } from "./instance-check.js";
import { InstanceError } from "./instance-error.js";
import { LikelihoodInterpreter } from "./likelihood-interpreter.js";
import { checkStandardization, type Standardization } from "./standardization.js";

/** The stream of a mean's new-level elements: fixed, so that /mean stays deterministic. */
const NEW_LEVEL_SEED = 0x9e3779b1;

export interface PredictorOptions {
  /** Scalar data the model needs besides the features (sizes etc.), as at training time. */
  fixedData?: Record<string, number>;
  /** The observation served, by its name or its data's (see targetObservation); default the model's only one. */
  target?: string;
  /** How each standardised design matrix was centred and scaled in training: applied to the request's columns. */
  standardization?: Standardization;
}

export class Predictor {
  readonly schema: PredictionSchema;
  /** The likelihood's family: what the answers mean (discrete families give integers). */
  readonly family: Family;
  /** The generated loops, or null when the likelihood's arguments are not elementwise (then `interpreter`). */
  private readonly loop: SampleLoop | null;
  private readonly meanLoop: MeanLoop | null;
  private readonly logLikLoop: LogLikLoop | null;
  private readonly interpreter: LikelihoodInterpreter;
  private readonly readFeatures: FeatureReader;
  private readonly featureBuffer: Float64Array;
  private readonly argBuffer: Float64Array;
  private readonly total: number;
  private readonly width: number;
  private readonly fallbackRng = new Rng(Date.now() >>> 0, 7);
  private readonly table: DrawTable;

  constructor(
    model: ModelJSON,
    /** The posterior's draws; shuffled here (a copy) unless already `shuffled`. */
    table: DrawTable,
    options: PredictorOptions = {},
  ) {
    const fixedData = options.fixedData ?? {};
    const standardization = options.standardization ?? {};
    this.table = table.shuffled === true ? table : shuffledDrawTable(table);
    this.schema = predictionSchema(model, fixedData, options.target);
    checkStandardization(model, this.schema, standardization);
    const obs = model.observes.find((o) => o.name === this.schema.observation)!;
    this.family = familyOf(obs.dist.family);
    const argIds = obs.dist.args;
    this.total = this.table.chains * this.table.draws;
    this.width = this.table.names.length;
    if (this.total === 0) throw new BayesServeError("ARTIFACT", "the posterior has no draws");
    this.argBuffer = new Float64Array(argIds.length);
    this.featureBuffer = new Float64Array(this.schema.features.length);
    this.readFeatures = compileFeatureReader(this.schema.features);
    const blame = new ArgumentBlame(model, this.family, argIds, this.schema.features);
    this.interpreter = new LikelihoodInterpreter(model, this.table, this.schema.features, fixedData, standardization, this.family, argIds, blame);
    const argCode = compileArgumentCode(model, argIds, this.table.names, this.schema.features, fixedData, standardization);
    // The generated loops' way out: the instance's features are in featureBuffer, the failing draw at row off / width.
    const invalid = (A: Float64Array, off: number): never => {
      throw blame.error(A, 0, this.interpreter.nodeValuesAt(Float64Array.from(this.featureBuffer), off / this.width), 0);
    };
    this.loop = argCode === null ? null : compileSampleLoop(argCode, this.family, invalid);
    this.meanLoop = argCode === null ? null : compileMeanLoop(argCode, this.family, invalid);
    this.logLikLoop = argCode === null ? null : compileLogLikLoop(argCode, this.family, invalid);
    // New levels are drawn by the generated loops only; the general path keeps every category to its levels.
    if (argCode === null) for (const f of this.schema.features) delete f.newLevels;
  }

  /** The categories whose unseen levels can be answered (see FeatureSpec.newLevels). */
  get newLevelFeatures(): string[] {
    return this.schema.features.filter((f) => f.newLevels === true).map((f) => f.name);
  }

  get features(): FeatureSpec[] {
    return this.schema.features;
  }

  /** True when the family has a mean (every family but the Cauchy's). */
  get hasMean(): boolean {
    return this.family.mean(this.family.argNames) !== null;
  }

  /** Posterior draws: E[y | x, θ] is computed for each of them. */
  get drawCount(): number {
    return this.total;
  }

  /**
   * Checks one instance; returns [field, message] for the first problem, or null. With `allowNewLevels`, a category
   * that can draw new levels may take any non-negative integer.
   */
  checkInstance(instance: Instance, allowNewLevels = false): [string, string] | null {
    const missing = this.readFeatures(instance, this.featureBuffer);
    if (missing >= 0) {
      const f = this.schema.features[missing];
      return [f.name, instance[f.name] === undefined ? "field required" : "must be a finite number"];
    }
    return featureValueProblem(this.schema.features, this.featureBuffer, allowNewLevels);
  }

  /** Throws an InstanceError for the first problem of the instance (features left in featureBuffer). */
  private assertValid(instance: Instance, index: number, allowNewLevels = false): void {
    const problem = this.checkInstance(instance, allowNewLevels);
    if (problem) throw new InstanceError(index, [problem[0]], "invalid_value", problem[1]);
  }

  /**
   * nSamples posterior-predictive draws for each instance, one stream across them. A seed makes the answer
   * reproducible; an Rng continues its stream (so that rows taken in chunks draw what they would in one call). With
   * `allowNewLevels`, an unseen level of a category that allows it draws its elements from their priors (independently
   * for each instance and draw).
   */
  sample(instances: Instance[], nSamples: number, seed?: number | Rng, allowNewLevels = false): Float64Array[] {
    instances.forEach((inst, i) => this.assertValid(inst, i, allowNewLevels));
    const rng = seed === undefined ? this.fallbackRng : typeof seed === "number" ? new Rng(seed, 0) : seed;
    const out = instances.map(() => new Float64Array(nSamples));
    if (this.loop === null) return this.interpreter.sample(instances, nSamples, rng, out);
    for (let r = 0; r < instances.length; r++) {
      this.readFeatures(instances[r], this.featureBuffer);
      try {
        this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, out[r], 0);
      } catch (err) {
        throw err instanceof InstanceError ? err.at(r) : err;
      }
    }
    return out;
  }

  /**
   * Replicated datasets, as a posterior predictive check draws them (bayesplot's y_rep, ArviZ's posterior_predictive):
   * replicate k of every instance is drawn from the same posterior draw θ_k, so that each replicate is one dataset of
   * the posterior predictive and the replicates vary with θ as well as with the noise. (`sample` draws each
   * instance from its own run of draws, right for one prediction, not for a dataset's statistics.) Out[r][k].
   */
  replicate(instances: Instance[], replicates: number, seed: number): Float64Array[] {
    instances.forEach((inst, i) => this.assertValid(inst, i));
    const rng = new Rng(seed, 0);
    const out = instances.map(() => new Float64Array(replicates));
    // The interpreter draws every instance of a sample from one row already.
    if (this.loop === null) return this.interpreter.sample(instances, replicates, rng, out);
    const first = rng.int(this.total);
    for (let r = 0; r < instances.length; r++) {
      this.readFeatures(instances[r], this.featureBuffer);
      try {
        this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, replicates, out[r], 0, first);
      } catch (err) {
        throw err instanceof InstanceError ? err.at(r) : err;
      }
    }
    return out;
  }

  /**
   * nSamples draws for one instance, its own stream (the same answer alone or in a batch when seeded): the serving
   * path. Equal to sample([instance], nSamples, seed)[0]. Writes into `out` when given (its length must be nSamples).
   */
  sampleOne(instance: Instance, nSamples: number, seed?: number, out?: Float64Array, allowNewLevels = false): Float64Array {
    if (this.loop === null) return this.sample([instance], nSamples, seed, allowNewLevels)[0];
    // assertValid leaves the instance's feature values in featureBuffer, which the loop reads.
    this.assertValid(instance, 0, allowNewLevels);
    const rng = seed === undefined ? this.fallbackRng : new Rng(seed, 0);
    const samples = out !== undefined && out.length === nSamples ? out : new Float64Array(nSamples);
    this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, samples, 0);
    return samples;
  }

  /**
   * E[y | x, θ] for every posterior draw θ (in the table's order): the posterior of the expected value, with the
   * likelihood's noise averaged out exactly (Rao-Blackwellised) — for a logistic model P(y = 1), for a Poisson model the
   * expected count. Writes into `out` when given (length drawCount). Throws when the family has no mean.
   */
  means(instance: Instance, out?: Float64Array, allowNewLevels = false): Float64Array {
    if (!this.hasMean) throw new BayesServeError("MODEL_DEFINITION", `a ${this.family.name} likelihood has no mean`);
    const result = out !== undefined && out.length === this.total ? out : new Float64Array(this.total);
    if (this.meanLoop === null) {
      this.assertValid(instance, 0);
      return this.interpreter.means(instance, result);
    }
    this.assertValid(instance, 0, allowNewLevels);
    // A new level's elements, one per posterior draw, from a fixed stream: the same answer on every call.
    this.meanLoop(this.table.values, this.total, this.width, this.featureBuffer, this.argBuffer, result, new Rng(NEW_LEVEL_SEED, 1));
    return result;
  }

  /**
   * log p(y | x, θ) of an observed value y at instance x, for the first `draws` posterior draws of the serving order (a
   * random subset of them: the order is a random permutation), into `out`: a column of the pointwise log-likelihood
   * that LOO and held-out scores are computed from.
   */
  logLik(instance: Instance, y: number, draws = this.total, out?: Float64Array): Float64Array {
    const n = Math.min(draws, this.total);
    const result = out !== undefined && out.length === n ? out : new Float64Array(n);
    this.assertValid(instance, 0);
    if (this.logLikLoop === null) return this.interpreter.logLik(instance, y, n, result);
    this.logLikLoop(this.table.values, this.width, this.featureBuffer, this.argBuffer, y, n, result, new Rng(NEW_LEVEL_SEED, 2));
    return result;
  }
}
