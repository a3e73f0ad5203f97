// The posteriordb reference posteriors translated into the model language (test/fixtures/posteriordb). Not translated:
// garch-garch11 — its volatility is a recursion over time (sigma[t] depends on sigma[t-1]), which the model language
// cannot express, and beta1's upper bound depends on another parameter (1 - alpha1), which the transforms do not support.
import { definition as ark } from "./ark.js";
import { definition as diamonds } from "./diamonds.js";
import { definition as earnings } from "./earnings-logearn-height.js";
import { definition as eightSchools } from "./eight-schools-noncentered.js";
import { definition as gpRegr } from "./gp-regr.js";
import { definition as kidiqInteraction } from "./kidiq-kidscore-interaction.js";
import { definition as kidiqMomiq } from "./kidiq-kidscore-momiq.js";
import { definition as kilpisjarvi } from "./kilpisjarvi.js";
import { definition as lowDimGaussMix } from "./low-dim-gauss-mix.js";
import { definition as mesquite } from "./mesquite-logmesquite.js";
import { definition as nes } from "./nes2000-nes.js";
import { definition as blr } from "./sblrc-blr.js";
import type { PosteriordbModel } from "./types.js";

export type { PosteriordbModel, RawData } from "./types.js";

/** By posteriordb name. */
export const POSTERIORDB_MODELS: Record<string, PosteriordbModel> = Object.fromEntries(
  [eightSchools, kidiqMomiq, kidiqInteraction, earnings, mesquite, ark, blr, nes, kilpisjarvi, lowDimGaussMix, gpRegr, diamonds].map(
    (d) => [d.posterior, d],
  ),
);
