// Each distribution family, written once as code templates: the log-density and its partial derivatives as
// JavaScript expressions over the value `y` and the arguments. The compiler inlines them into fused loops; the
// scalar functions used by the simulator and the tests are built from the same templates (scalar-logp.ts), so there is
// one definition of every density. So are the arguments' domain (what makes a distribution: σ > 0, a finite mean)
// and the mean E[y | args]: the predictor inlines them, and `random` checks the domain before it draws.
import { DistributionArgumentError } from "./distribution-argument.js";
import type { Rng } from "../random/rng.js";
import type { FamilyName } from "./graph.js";
import { exp } from "./elementary.js";
import { SPECIAL } from "./special.js";
import type { ValueBounds } from "./value-bounds.js";
import { betaVariate, binomialVariate, gammaVariate, poissonVariate } from "./variates.js";

/** Where a family's value lives; decides the default constraint transform of a parameter with this prior. */
export type Support = "real" | "positive" | "unit" | "bounded" | "count" | "binary";

/** What a template may ask of the code generator. */
export interface EmitContext {
  /** A temporary computed once per element: returns its identifier. */
  local(expr: string): string;
  /**
   * A temporary that only depends on the listed arguments: computed once before the loop when they are all
   * loop-invariant (a scalar σ, say), per element otherwise.
   */
  hoist(expr: string, dependsOnArgs: number[]): string;
}

export interface EmittedDensity {
  /** log p(y | args), or the part of it that varies with y when `lpConst` is given. */
  lp: string;
  /**
   * A term of log p that depends only on the listed arguments (a normalising constant such as −log σ). Kept apart so
   * that a sum over rows with those arguments loop-invariant adds it once, times the row count, not once per row.
   */
  lpConst?: { expr: string; args: number[] };
  /** ∂ log p / ∂y (absent for discrete families: y is then data). */
  dy?: string;
  /** ∂ log p / ∂args[k]; null where the argument cannot carry a gradient (a trial count). */
  da: (string | null)[];
  /**
   * When, with the arguments listed in `args` loop-invariant, the sum of `lp` over the rows and the gradient of
   * those arguments depend on the rows only through the sum S of one per-row statistic, that statistic and the
   * formulas from S and the row count n. The normal's σ: Σ −½z² = −½S and ∂/∂σ = (S − n)/σ with S = Σz², so a row
   * costs one multiply-add instead of two accumulations (the seed model's gradient ~20 % faster).
   */
  rowSum?: { stat: string; args: number[]; lp(S: string): string; da(S: string, n: string): (string | null)[] };
}

/** One condition an argument must meet for the distribution to exist, as code over the arguments' code. */
export interface ArgCondition {
  /** The argument it concerns (its position). */
  arg: number;
  /** A JavaScript expression, true when the condition holds (false for NaN). */
  code: string;
  /** What the argument must be, in words: "> 0 and finite". */
  requirement: string;
}

interface FamilyDefinition {
  name: FamilyName;
  argNames: string[];
  support: Support;
  discrete: boolean;
  /** The values y may take: what observed data must be (checked when training, with the row named). */
  values: ValueBounds;
  emit(y: string, a: string[], cx: EmitContext): EmittedDensity;
  /** The arguments' domain: every condition must hold for a draw (or a mean) to be defined. */
  domain(a: string[]): ArgCondition[];
  /** E[y | args] as code over the arguments' code; null for a family without a mean (the Cauchy). */
  mean(a: string[]): string | null;
  /** A draw, the arguments already checked against `domain`. */
  draw(rng: Rng, a: Float64Array | number[]): number;
  /**
   * For families whose draw is a function of one standard normal z: that function as code over the arguments' code,
   * equal to `draw` to the bit (same operations in the same order). Bulk sampling then draws the normals in one
   * pass (Rng.fillNormal) and applies this.
   */
  fromStandardNormal?(a: string[], z: string): string;
}

export interface Family extends FamilyDefinition {
  /** A draw; throws a DistributionArgumentError when an argument is outside `domain`. */
  random(rng: Rng, a: Float64Array | number[]): number;
  /** The first argument condition that fails, or null when all hold. */
  argumentProblem(a: Float64Array | number[]): ArgCondition | null;
}

const C_HALF_LOG_2PI = "0.9189385332046727";
/**
 * From this φ on, the negative binomial's terms in φ are computed with their large parts cancelled analytically
 * (special.ts negBinomialPhiTerms). Below it the plain form, whose subtraction of log Γ(φ) costs ~2e-16·φ log φ a row
 * (1.5e-12 at φ = 1,000; 3e-7 at 10⁸) but whose log Γ(φ), ψ(φ) and φ log φ are computed once per evaluation rather
 * than per row (bench/README.md, "Measurements behind the code").
 */
export const NB_LARGE_PHI = 1000;

const C_LOG_PI = "1.1447298858494002";
const C_LOG_2 = "0.6931471805599453";
/** 0.5·log(2/π), the half-normal's constant. */
const C_HALF_LOG_2_OVER_PI = "-0.22579135264472744";

/** 1/σ and log σ of a scale argument (argument index k), hoisted out of the loop when σ is loop-invariant. */
function scaleTerms(cx: EmitContext, s: string, k: number): { inv: string; logS: string } {
  return { inv: cx.hoist(`1 / ${s}`, [k]), logS: cx.hoist(`F.log(${s})`, [k]) };
}

/**
 * log(1 + e^η) and 1/(1 + e^−η) from one exponential, e^−|η|: the same operations as F.log1pExp and F.logistic on
 * each side of 0, so the same values to the bit, with one exponential per row instead of two or three.
 */
function logisticTerms(cx: EmitContext, eta: string): { softplus: string; logistic: string } {
  const e = cx.local(`F.exp(-Math.abs(${eta}))`);
  return {
    softplus: cx.local(`(${eta} > 0 ? ${eta} + F.log1p(${e}) : F.log1p(${e}))`),
    logistic: `(${eta} >= 0 ? 1 / (1 + ${e}) : ${e} / (1 + ${e}))`,
  };
}

/**
 * α·log β − log Γ(α), the gamma and inverse gamma's normalising constant; NaN for α ≤ 0, where log Γ's reflection
 * would give a finite value and the log-density would not reject a shape outside the domain.
 */
function shapeNorm(a: string, logB: string): string {
  return `${a} * ${logB} - ${lgammaOfShape(a)}`;
}

/** log Γ(α) of a shape, NaN for α ≤ 0 (shapeNorm's reason). */
function lgammaOfShape(a: string): string {
  return `(${a} > 0 ? F.lgamma(${a}) : NaN)`;
}

/** A finite argument (a location): x − x is 0 for finite x, NaN for NaN and ±Infinity. */
const finiteArg = (a: string[], k: number): ArgCondition => ({ arg: k, code: `${a[k]} - ${a[k]} === 0`, requirement: "a finite number" });
/** A positive, finite argument (a scale, a shape, a rate). */
const positiveArg = (a: string[], k: number): ArgCondition => ({ arg: k, code: `${a[k]} > 0 && ${a[k]} < Infinity`, requirement: "> 0 and finite" });
/** Any number but NaN: a logit may be ±Infinity (a probability of 0 or 1). */
const notNaNArg = (a: string[], k: number): ArgCondition => ({ arg: k, code: `${a[k]} === ${a[k]}`, requirement: "a number (not NaN)" });
/** A trial count: a whole number a double holds exactly. */
const trialsArg = (a: string[], k: number): ArgCondition => ({
  arg: k,
  code: `${a[k]} >= 0 && ${a[k]} <= 9007199254740991 && Math.floor(${a[k]}) === ${a[k]}`,
  requirement: "a non-negative integer",
});
/**
 * log(n choose y) of a binomial; NaN where n is not a trial count (log Γ would give one for any real n, and the
 * log-density would not reject it).
 */
function binomialCoefficient(n: string, y: string): string {
  return `(${trialsArg([n], 0).code} ? F.lchoose(${n}, ${y}) : NaN)`;
}

/** log(Number.MAX_VALUE): a log-rate above it has an infinite rate. */
const MAX_LOG_RATE = 709.782712893384;

const FAMILY_DEFINITIONS: Record<FamilyName, FamilyDefinition> = {
  Normal: {
    name: "Normal",
    argNames: ["mu", "sigma"],
    support: "real",
    discrete: false,
    values: {},
    domain: (a) => [finiteArg(a, 0), positiveArg(a, 1)],
    mean: ([mu]) => mu,
    emit(y, [mu, s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 1);
      const z = cx.local(`(${y} - ${mu}) * ${inv}`);
      return {
        lp: `-0.5 * ${z} * ${z}`,
        lpConst: { expr: `-${logS} - ${C_HALF_LOG_2PI}`, args: [1] },
        dy: `-${z} * ${inv}`,
        da: [`${z} * ${inv}`, `(${z} * ${z} - 1) * ${inv}`],
        rowSum: { stat: `${z} * ${z}`, args: [1], lp: (S) => `-0.5 * ${S}`, da: (S, n) => [null, `(${S} - ${n}) * ${inv}`] },
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        s = args[1];
      return mu + s * rng.normal();
    },
    fromStandardNormal: ([mu, s], z) => `(${mu}) + (${s}) * (${z})`,
  },
  HalfNormal: {
    name: "HalfNormal",
    argNames: ["sigma"],
    support: "positive",
    discrete: false,
    values: { lower: 0 },
    domain: (a) => [positiveArg(a, 0)],
    mean: ([s]) => `${s} * 0.7978845608028654`,
    emit(y, [s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 0);
      const z = cx.local(`${y} * ${inv}`);
      return {
        lp: `(${y} < 0 ? -Infinity : -0.5 * ${z} * ${z})`,
        lpConst: { expr: `${C_HALF_LOG_2_OVER_PI} - ${logS}`, args: [0] },
        dy: `-${z} * ${inv}`,
        da: [`(${z} * ${z} - 1) * ${inv}`],
      };
    },
    draw: (rng, args) => {
      const s = args[0];
      return Math.abs(s * rng.normal());
    },
    fromStandardNormal: ([s], z) => `Math.abs((${s}) * (${z}))`,
  },
  StudentT: {
    name: "StudentT",
    argNames: ["nu", "mu", "sigma"],
    support: "real",
    discrete: false,
    values: {},
    domain: (a) => [positiveArg(a, 0), finiteArg(a, 1), positiveArg(a, 2)],
    mean: ([, mu]) => mu,
    emit(y, [nu, mu, s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 2);
      // log Γ((ν+1)/2) − log Γ(ν/2) and ψ((ν+1)/2) − ψ(ν/2) as one function each: subtracted, the two lose all but a
      // few digits once ν is large (special.ts lgammaStep).
      const norm = cx.hoist(`F.lgammaStep(0.5 * ${nu}, 0.5) - 0.5 * F.log(${nu}) - ${C_LOG_PI} * 0.5`, [0]);
      // 1/ν hoisted like 1/σ: one division a row (r) instead of three.
      const invNu = cx.hoist(`1 / ${nu}`, [0]);
      const z = cx.local(`(${y} - ${mu}) * ${inv}`);
      const z2 = cx.local(`${z} * ${z}`);
      const r = cx.local(`(${nu} + 1) / (${nu} + ${z2})`);
      return {
        lp: `-0.5 * (${nu} + 1) * F.log1p(${z2} * ${invNu})`,
        lpConst: { expr: `${norm} - ${logS}`, args: [0, 2] },
        dy: `-${r} * ${z} * ${inv}`,
        da: [
          `0.5 * F.digammaStep(0.5 * ${nu}, 0.5) - 0.5 * ${invNu} - 0.5 * F.log1p(${z2} * ${invNu}) + 0.5 * ${r} * ${z2} * ${invNu}`,
          `${r} * ${z} * ${inv}`,
          `(${r} * ${z2} - 1) * ${inv}`,
        ],
      };
    },
    draw: (rng, args) => {
      const nu = args[0],
        mu = args[1],
        s = args[2];
      return mu + (s * rng.normal()) / Math.sqrt((2 * gammaVariate(rng, nu / 2)) / nu);
    },
  },
  Cauchy: {
    name: "Cauchy",
    argNames: ["mu", "sigma"],
    support: "real",
    discrete: false,
    values: {},
    domain: (a) => [finiteArg(a, 0), positiveArg(a, 1)],
    mean: () => null,
    emit(y, [mu, s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 1);
      const z = cx.local(`(${y} - ${mu}) * ${inv}`);
      const q = cx.local(`1 / (1 + ${z} * ${z})`);
      return {
        lp: `-F.log1p(${z} * ${z})`,
        lpConst: { expr: `-${C_LOG_PI} - ${logS}`, args: [1] },
        dy: `-2 * ${z} * ${q} * ${inv}`,
        da: [`2 * ${z} * ${q} * ${inv}`, `(2 * ${z} * ${z} * ${q} - 1) * ${inv}`],
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        s = args[1];
      return mu + s * Math.tan(Math.PI * (rng.uniformOpen() - 0.5));
    },
  },
  HalfCauchy: {
    name: "HalfCauchy",
    argNames: ["sigma"],
    support: "positive",
    discrete: false,
    values: { lower: 0 },
    domain: (a) => [positiveArg(a, 0)],
    mean: () => null,
    emit(y, [s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 0);
      const z = cx.local(`${y} * ${inv}`);
      const q = cx.local(`1 / (1 + ${z} * ${z})`);
      return {
        lp: `(${y} < 0 ? -Infinity : -F.log1p(${z} * ${z}))`,
        lpConst: { expr: `${C_LOG_2} - ${C_LOG_PI} - ${logS}`, args: [0] },
        dy: `-2 * ${z} * ${q} * ${inv}`,
        da: [`(2 * ${z} * ${z} * ${q} - 1) * ${inv}`],
      };
    },
    draw: (rng, args) => {
      const s = args[0];
      return Math.abs(s * Math.tan(Math.PI * (rng.uniformOpen() - 0.5)));
    },
  },
  Exponential: {
    name: "Exponential",
    argNames: ["rate"],
    support: "positive",
    discrete: false,
    values: { lower: 0 },
    domain: (a) => [positiveArg(a, 0)],
    mean: ([rate]) => `1 / ${rate}`,
    emit(y, [rate], cx) {
      const logRate = cx.hoist(`F.log(${rate})`, [0]);
      return {
        lp: `(${y} < 0 ? -Infinity : ${logRate} - ${rate} * ${y})`,
        dy: `-${rate}`,
        da: [`1 / ${rate} - ${y}`],
      };
    },
    draw: (rng, args) => {
      const rate = args[0];
      return -Math.log(rng.uniformOpen()) / rate;
    },
  },
  Gamma: {
    name: "Gamma",
    argNames: ["alpha", "beta"],
    support: "positive",
    discrete: false,
    values: { lower: 0, lowerOpen: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([al, b]) => `${al} / ${b}`,
    emit(y, [a, b], cx) {
      const logB = cx.hoist(`F.log(${b})`, [1]);
      const norm = cx.hoist(shapeNorm(a, logB), [0, 1]);
      const logY = cx.local(`F.log(${y})`);
      return {
        lp: `(${y} < 0 ? -Infinity : ${norm} + (${a} - 1) * ${logY} - ${b} * ${y})`,
        dy: `(${a} - 1) / ${y} - ${b}`,
        da: [`${logB} - F.digamma(${a}) + ${logY}`, `${a} / ${b} - ${y}`],
      };
    },
    draw: (rng, args) => {
      const a = args[0],
        b = args[1];
      return gammaVariate(rng, a) / b;
    },
  },
  InverseGamma: {
    name: "InverseGamma",
    argNames: ["alpha", "beta"],
    support: "positive",
    discrete: false,
    values: { lower: 0, lowerOpen: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([al, b]) => `(${al} > 1 ? ${b} / (${al} - 1) : Infinity)`,
    emit(y, [a, b], cx) {
      const logB = cx.hoist(`F.log(${b})`, [1]);
      const norm = cx.hoist(shapeNorm(a, logB), [0, 1]);
      const logY = cx.local(`F.log(${y})`);
      const invY = cx.local(`1 / ${y}`);
      return {
        lp: `(${y} < 0 ? -Infinity : ${norm} - (${a} + 1) * ${logY} - ${b} * ${invY})`,
        dy: `(-(${a} + 1) + ${b} * ${invY}) * ${invY}`,
        da: [`${logB} - F.digamma(${a}) - ${logY}`, `${a} / ${b} - ${invY}`],
      };
    },
    draw: (rng, args) => {
      const a = args[0],
        b = args[1];
      return b / gammaVariate(rng, a);
    },
  },
  LogNormal: {
    name: "LogNormal",
    argNames: ["mu", "sigma"],
    support: "positive",
    discrete: false,
    values: { lower: 0, lowerOpen: true },
    domain: (a) => [finiteArg(a, 0), positiveArg(a, 1)],
    mean: ([mu, s]) => `F.exp(${mu} + 0.5 * ${s} * ${s})`,
    emit(y, [mu, s], cx) {
      const { inv, logS } = scaleTerms(cx, s, 1);
      const logY = cx.local(`F.log(${y})`);
      const z = cx.local(`(${logY} - ${mu}) * ${inv}`);
      return {
        lp: `(${y} <= 0 ? -Infinity : -0.5 * ${z} * ${z} - ${logY})`,
        lpConst: { expr: `-${logS} - ${C_HALF_LOG_2PI}`, args: [1] },
        dy: `(-${z} * ${inv} - 1) / ${y}`,
        da: [`${z} * ${inv}`, `(${z} * ${z} - 1) * ${inv}`],
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        s = args[1];
      return exp(mu + s * rng.normal());
    },
    fromStandardNormal: ([mu, s], z) => `F.exp((${mu}) + (${s}) * (${z}))`,
  },
  Beta: {
    name: "Beta",
    argNames: ["alpha", "beta"],
    support: "unit",
    discrete: false,
    values: { lower: 0, upper: 1, lowerOpen: true, upperOpen: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([al, b]) => `${al} / (${al} + ${b})`,
    emit(y, [a, b], cx) {
      const lb = cx.hoist(`F.lbeta(${a}, ${b})`, [0, 1]);
      const dab = cx.hoist(`F.digamma(${a} + ${b})`, [0, 1]);
      const logY = cx.local(`F.log(${y})`);
      const log1mY = cx.local(`F.log1p(-${y})`);
      return {
        lp: `(${y} < 0 || ${y} > 1 ? -Infinity : (${a} - 1) * ${logY} + (${b} - 1) * ${log1mY} - ${lb})`,
        dy: `(${a} - 1) / ${y} - (${b} - 1) / (1 - ${y})`,
        da: [`${logY} - F.digamma(${a}) + ${dab}`, `${log1mY} - F.digamma(${b}) + ${dab}`],
      };
    },
    draw: (rng, args) => {
      const a = args[0],
        b = args[1];
      return betaVariate(rng, a, b);
    },
  },
  Uniform: {
    name: "Uniform",
    argNames: ["lower", "upper"],
    support: "bounded",
    discrete: false,
    values: {},
    domain: (a) => [finiteArg(a, 0), finiteArg(a, 1), { arg: 1, code: `${a[1]} > ${a[0]}`, requirement: "greater than lower" }],
    mean: ([lo, hi]) => `0.5 * (${lo} + ${hi})`,
    emit(y, [lo, hi], cx) {
      const w = cx.hoist(`1 / (${hi} - ${lo})`, [0, 1]);
      return {
        lp: `(${y} < ${lo} || ${y} > ${hi} ? -Infinity : F.log(${w}))`,
        dy: `0`,
        da: [`${w}`, `-${w}`],
      };
    },
    draw: (rng, args) => {
      const lo = args[0],
        hi = args[1];
      return lo + (hi - lo) * rng.uniform();
    },
  },
  BernoulliLogit: {
    name: "BernoulliLogit",
    argNames: ["logit"],
    support: "binary",
    discrete: true,
    values: { lower: 0, upper: 1, integer: true },
    domain: (a) => [notNaNArg(a, 0)],
    mean: ([eta]) => `1 / (1 + F.exp(-${eta}))`,
    emit(y, [eta], cx) {
      const { softplus, logistic } = logisticTerms(cx, eta);
      return { lp: `${y} * ${eta} - ${softplus}`, da: [`${y} - ${logistic}`] };
    },
    draw: (rng, args) => {
      const eta = args[0];
      return rng.uniform() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    },
  },
  BinomialLogit: {
    name: "BinomialLogit",
    argNames: ["n", "logit"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [trialsArg(a, 0), notNaNArg(a, 1)],
    mean: ([n, eta]) => `${n} / (1 + F.exp(-${eta}))`,
    emit(y, [n, eta], cx) {
      const { softplus, logistic } = logisticTerms(cx, eta);
      return {
        lp: `${binomialCoefficient(n, y)} + ${y} * ${eta} - ${n} * ${softplus}`,
        da: [null, `${y} - ${n} * ${logistic}`],
      };
    },
    draw: (rng, args) => {
      const n = args[0],
        eta = args[1];
      return binomialVariate(rng, n, 1 / (1 + Math.exp(-eta)));
    },
  },
  PoissonLog: {
    name: "PoissonLog",
    argNames: ["logRate"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [{ arg: 0, code: `${a[0]} <= ${MAX_LOG_RATE}`, requirement: `a number ≤ ${MAX_LOG_RATE} (its exponential, the rate, must be finite)` }],
    mean: ([la]) => `F.exp(${la})`,
    emit(y, [la], cx) {
      const rate = cx.local(`F.exp(${la})`);
      return { lp: `${y} * ${la} - ${rate} - F.lgamma(${y} + 1)`, da: [`${y} - ${rate}`] };
    },
    draw: (rng, args) => {
      const la = args[0];
      return poissonVariate(rng, Math.exp(la));
    },
  },
  NegativeBinomial: {
    // NB2 as Stan's neg_binomial_2(mu, phi): mean mu, variance mu + mu²/phi.
    name: "NegativeBinomial",
    argNames: ["mu", "phi"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([mu]) => mu,
    emit(y, [mu, phi], cx) {
      const logMuPhi = cx.local(`F.log(${mu} + ${phi})`);
      const ratio = cx.local(`(${y} + ${phi}) / (${mu} + ${phi})`);
      // From NB_LARGE_PHI on, the terms in φ with their large parts cancelled analytically (special.ts).
      const large = `${phi} >= ${NB_LARGE_PHI}`;
      return {
        lp:
          `(${large} ? F.negBinomialPhiTerms(${y}, ${mu}, ${phi}, ${logMuPhi}) - F.lgamma(${y} + 1) + ${y} * F.log(${mu})` +
          ` : F.lgamma(${y} + ${phi}) - F.lgamma(${y} + 1) - F.lgamma(${phi}) + ${y} * F.log(${mu}) + ${phi} * F.log(${phi}) - (${y} + ${phi}) * ${logMuPhi})`,
        da: [
          // y/μ − (y + φ)/(μ + φ) as φ/(μ + φ) · (y − μ)/μ: the subtraction done exactly on y − μ (the two ratios agree
          // to many digits at large μ: 1.6e-4 relative error at μ = 1e12 the plain way), in two factors that do not
          // overflow where the result is finite.
          `(${phi} / (${mu} + ${phi})) * ((${y} - ${mu}) / ${mu})`,
          `(${large} ? F.negBinomialPhiGradient(${y}, ${mu}, ${phi}) : F.digamma(${y} + ${phi}) - F.digamma(${phi}) + F.log(${phi}) + 1 - ${logMuPhi} - ${ratio})`,
        ],
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        phi = args[1];
      // A gamma-Poisson mixture; a rate past the largest double (mu near it) is a draw too large to hold.
      const rate = (gammaVariate(rng, phi) * mu) / phi;
      return rate < Infinity ? poissonVariate(rng, rate) : Infinity;
    },
  },
  Weibull: {
    // Stan's weibull(alpha, sigma): shape alpha, scale sigma. Observed values > 0: at 0 the density is infinite for a
    // shape below 1 (so is the likelihood: no posterior) and 0 above it.
    name: "Weibull",
    argNames: ["alpha", "sigma"],
    support: "positive",
    discrete: false,
    values: { lower: 0, lowerOpen: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([al, s]) => `${s} * F.exp(F.lgamma(1 + 1 / ${al}))`,
    emit(y, [al, s], cx) {
      const logS = cx.hoist(`F.log(${s})`, [1]);
      const logZ = cx.local(`F.log(${y}) - ${logS}`);
      const t = cx.local(`F.exp(${al} * ${logZ})`);
      return {
        lp: `(${y} < 0 ? -Infinity : F.log(${al}) - ${logS} + (${al} - 1) * ${logZ} - ${t})`,
        dy: `(${al} - 1 - ${al} * ${t}) / ${y}`,
        da: [`1 / ${al} + ${logZ} * (1 - ${t})`, `${al} * (${t} - 1) / ${s}`],
      };
    },
    draw: (rng, args) => {
      const al = args[0],
        s = args[1];
      return s * Math.pow(-Math.log(rng.uniformOpen()), 1 / al);
    },
  },
  GammaMean: {
    // Gamma by its mean mu and shape alpha (rate alpha / mu), as brms' Gamma family.
    name: "GammaMean",
    argNames: ["mu", "alpha"],
    support: "positive",
    discrete: false,
    values: { lower: 0, lowerOpen: true },
    domain: (a) => [positiveArg(a, 0), positiveArg(a, 1)],
    mean: ([mu]) => mu,
    emit(y, [mu, al], cx) {
      const rate = cx.local(`${al} / ${mu}`);
      const logRate = cx.local(`F.log(${rate})`);
      const logY = cx.local(`F.log(${y})`);
      // With μ < 0 and α < 0 the rate is positive: only the guarded log Γ(α) makes the log-density NaN there.
      const lgammaShape = cx.hoist(lgammaOfShape(al), [1]);
      return {
        lp: `(${y} < 0 ? -Infinity : ${al} * ${logRate} - ${lgammaShape} + (${al} - 1) * ${logY} - ${rate} * ${y})`,
        dy: `(${al} - 1) / ${y} - ${rate}`,
        da: [`${rate} * (${y} / ${mu} - 1)`, `${logRate} + 1 - F.digamma(${al}) + ${logY} - ${y} / ${mu}`],
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        al = args[1];
      return (gammaVariate(rng, al) * mu) / al;
    },
  },
  BetaProportion: {
    // Stan's beta_proportion(mu, kappa): mean mu, precision kappa (Beta(mu·kappa, (1 − mu)·kappa)).
    name: "BetaProportion",
    argNames: ["mu", "kappa"],
    support: "unit",
    discrete: false,
    values: { lower: 0, upper: 1, lowerOpen: true, upperOpen: true },
    domain: (a) => [{ arg: 0, code: `${a[0]} > 0 && ${a[0]} < 1`, requirement: "in (0, 1)" }, positiveArg(a, 1)],
    mean: ([mu]) => mu,
    emit(y, [mu, k], cx) {
      const al = cx.local(`${mu} * ${k}`);
      const be = cx.local(`(1 - ${mu}) * ${k}`);
      const logY = cx.local(`F.log(${y})`);
      const log1mY = cx.local(`F.log1p(-${y})`);
      const psiA = cx.local(`F.digamma(${al})`);
      const psiB = cx.local(`F.digamma(${be})`);
      return {
        lp: `(${y} < 0 || ${y} > 1 ? -Infinity : (${al} - 1) * ${logY} + (${be} - 1) * ${log1mY} - F.lbeta(${al}, ${be}))`,
        dy: `(${al} - 1) / ${y} - (${be} - 1) / (1 - ${y})`,
        da: [`${k} * (${logY} - ${log1mY} - ${psiA} + ${psiB})`, `${mu} * (${logY} - ${psiA}) + (1 - ${mu}) * (${log1mY} - ${psiB}) + F.digamma(${k})`],
      };
    },
    draw: (rng, args) => {
      const mu = args[0],
        k = args[1];
      return betaVariate(rng, mu * k, (1 - mu) * k);
    },
  },
  Bernoulli: {
    name: "Bernoulli",
    argNames: ["p"],
    support: "binary",
    discrete: true,
    values: { lower: 0, upper: 1, integer: true },
    domain: (a) => [{ arg: 0, code: `${a[0]} >= 0 && ${a[0]} <= 1`, requirement: "in [0, 1]" }],
    mean: ([p]) => p,
    emit(y, [p]) {
      return { lp: `F.xlogy(${y}, ${p}) + F.xlog1my(1 - ${y}, ${p})`, da: [`(${y} === 1 ? 1 / ${p} : -1 / (1 - ${p}))`] };
    },
    draw: (rng, args) => {
      const p = args[0];
      return rng.uniform() < p ? 1 : 0;
    },
  },
  BernoulliProbit: {
    // P(y = 1) = Φ(eta): the probit link, with log Φ computed in both tails.
    name: "BernoulliProbit",
    argNames: ["eta"],
    support: "binary",
    discrete: true,
    values: { lower: 0, upper: 1, integer: true },
    domain: (a) => [notNaNArg(a, 0)],
    mean: ([eta]) => `F.Phi(${eta})`,
    emit(y, [eta], cx) {
      const s = cx.local(`(2 * ${y} - 1)`);
      return { lp: `F.logPhi(${s} * ${eta})`, da: [`${s} * F.dlogPhi(${s} * ${eta})`] };
    },
    draw: (rng, args) => {
      const eta = args[0];
      return rng.uniform() < phiOf(eta) ? 1 : 0;
    },
  },
  Binomial: {
    name: "Binomial",
    argNames: ["n", "p"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [trialsArg(a, 0), { arg: 1, code: `${a[1]} >= 0 && ${a[1]} <= 1`, requirement: "in [0, 1]" }],
    mean: ([n, p]) => `${n} * ${p}`,
    emit(y, [n, p]) {
      return {
        lp: `${binomialCoefficient(n, y)} + F.xlogy(${y}, ${p}) + F.xlog1my(${n} - ${y}, ${p})`,
        // Written so that y = 0 (or y = n) at p = 0 (or 1) has no 0/0 term.
        da: [null, `(${y} === 0 ? 0 : ${y} / ${p}) - (${n} === ${y} ? 0 : (${n} - ${y}) / (1 - ${p}))`],
      };
    },
    draw: (rng, args) => {
      const n = args[0],
        p = args[1];
      return binomialVariate(rng, n, p);
    },
  },
  Poisson: {
    name: "Poisson",
    argNames: ["rate"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [{ arg: 0, code: `${a[0]} >= 0 && ${a[0]} < Infinity`, requirement: "≥ 0 and finite" }],
    mean: ([rate]) => rate,
    emit(y, [rate]) {
      return { lp: `F.xlogy(${y}, ${rate}) - ${rate} - F.lgamma(${y} + 1)`, da: [`(${y} === 0 ? 0 : ${y} / ${rate}) - 1`] };
    },
    draw: (rng, args) => {
      const rate = args[0];
      return poissonVariate(rng, rate);
    },
  },
  NegativeBinomialLog: {
    // NB2 with a log link: mean exp(eta), overdispersion phi (Stan's neg_binomial_2_log).
    name: "NegativeBinomialLog",
    argNames: ["eta", "phi"],
    support: "count",
    discrete: true,
    values: { lower: 0, integer: true },
    domain: (a) => [
      { arg: 0, code: `${a[0]} <= ${MAX_LOG_RATE}`, requirement: `a number ≤ ${MAX_LOG_RATE} (its exponential, the mean, must be finite)` },
      positiveArg(a, 1),
    ],
    mean: ([eta]) => `F.exp(${eta})`,
    emit(y, [eta, phi], cx) {
      const logPhi = cx.hoist(`F.log(${phi})`, [1]);
      const logMuPhi = cx.local(`F.logAddExp(${eta}, ${logPhi})`);
      // As NegativeBinomial, with μ = e^η: one exponential a row.
      const mu = cx.local(`F.exp(${eta})`);
      const ratio = cx.local(`(${y} + ${phi}) / (${mu} + ${phi})`);
      const large = `${phi} >= ${NB_LARGE_PHI}`;
      return {
        lp:
          `(${large} ? F.negBinomialPhiTerms(${y}, ${mu}, ${phi}, ${logMuPhi}) - F.lgamma(${y} + 1) + ${y} * ${eta}` +
          ` : F.lgamma(${y} + ${phi}) - F.lgamma(${y} + 1) - F.lgamma(${phi}) + ${y} * ${eta} + ${phi} * ${logPhi} - (${y} + ${phi}) * ${logMuPhi})`,
        da: [
          // y − (y + φ)·μ/(μ + φ), as φ(y − μ)/(μ + φ) (NegativeBinomial's reason).
          `(${phi} / (${mu} + ${phi})) * (${y} - ${mu})`,
          `(${large} ? F.negBinomialPhiGradient(${y}, ${mu}, ${phi}) : F.digamma(${y} + ${phi}) - F.digamma(${phi}) + ${logPhi} + 1 - ${logMuPhi} - ${ratio})`,
        ],
      };
    },
    draw: (rng, args) => {
      const mu = Math.exp(args[0]),
        phi = args[1];
      const rate = (gammaVariate(rng, phi) * mu) / phi;
      return rate < Infinity ? poissonVariate(rng, rate) : Infinity;
    },
  },
};

/** Φ(eta) for the probit draw (special.ts's, through the import the compiled code uses). */
const phiOf = (eta: number): number => SPECIAL.Phi(eta);

/** The domain's conditions compiled to one function: the index of the first that fails, or −1. */
function compileDomainCheck(def: FamilyDefinition): (a: Float64Array | number[]) => number {
  const args = def.argNames.map((_, k) => `a[${k}]`);
  const body = def
    .domain(args)
    .map((c, i) => `if (!(${c.code})) return ${i};`)
    .join("\n");
  return new Function("a", `"use strict";\n${body}\nreturn -1;`) as (a: Float64Array | number[]) => number;
}

function withChecks(def: FamilyDefinition): Family {
  const firstFailing = compileDomainCheck(def);
  const conditions = def.domain(def.argNames.map((_, k) => `a[${k}]`));
  const argumentProblem = (a: Float64Array | number[]): ArgCondition | null => {
    const i = firstFailing(a);
    return i < 0 ? null : conditions[i];
  };
  return {
    ...def,
    argumentProblem,
    random(rng, a) {
      const problem = argumentProblem(a);
      if (problem !== null) throw new DistributionArgumentError(def.name, problem.arg, def.argNames[problem.arg], a[problem.arg], problem.requirement);
      return def.draw(rng, a);
    },
  };
}

export const FAMILIES = Object.fromEntries(Object.entries(FAMILY_DEFINITIONS).map(([name, def]) => [name, withChecks(def)])) as Record<FamilyName, Family>;

/**
 * What an observed value of the family is, for the answers and metrics that fit it: 0/1 (a Bernoulli), a count
 * (Poisson, negative binomial, binomial) or a continuous value.
 */
export type ResponseKind = "binary" | "count" | "continuous";

export function responseKindOf(family: Family): ResponseKind {
  return family.support === "binary" ? "binary" : family.support === "count" ? "count" : "continuous";
}

export function familyOf(name: string): Family {
  const f = (FAMILIES as Record<string, Family>)[name];
  if (!f) throw new Error(`unknown distribution family "${name}"`);
  return f;
}
