// Whether a new fit should replace the version serving: besides the sampler's gate, it must not predict the newest
// data worse than `latest` does. Both are scored on the same held-out rows of the new data (the log pointwise
// predictive density, exact over a random subset of each posterior's draws), and the new fit is refused when it is
// worse by more than `maxElpdDrop` standard errors of the paired difference, as loo_compare judges a difference.
import { MAX_ELPD_DROP_DEFAULT } from "../defaults.js";
import type { ComparisonVerdict } from "../artifact/manifest.js";
import type { ArtifactStore } from "../artifact/store.js";
import { servedModel } from "../artifact/served-model.js";
import { BayesServeError } from "../errors.js";
import { compareScores, heldOutLpd, type InstanceRows, type Predictor } from "../predict/index.js";

/** The exit status of `train` when the fit is stored but not promoted (the gate or the comparison refused it); the
 *  training Job fails at once on it rather than retrying (deploy/render-job.ts). */
export const EXIT_NOT_PROMOTED = 3;
/**
 * Exit code of `train --merge` refusing the staged chains (one missing, damaged, of another fit: chain-stage.ts): running
 * the merge again cannot help until the chain is run again, so a Kubernetes Job does not retry it.
 */
export const EXIT_STAGE_REFUSED = 4;

/** Refuse a new fit worse than latest by more than this many SEs of the difference (the default). */
export const DEFAULT_MAX_ELPD_DROP = MAX_ELPD_DROP_DEFAULT;

export type { ComparisonVerdict };

/** The new fit against `latest` on the held-out rows; null when the store has no latest yet. */
export async function compareWithLatest(
  store: ArtifactStore,
  fresh: Predictor,
  instances: InstanceRows,
  ys: ArrayLike<number>,
  maxElpdDrop = DEFAULT_MAX_ELPD_DROP,
): Promise<ComparisonVerdict | null> {
  const target = fresh.schema.target;
  const latest = await store.readLatest();
  if (latest === null) return null;
  const base = {
    against: latest,
    rows: instances.length,
    elpd_new: null,
    elpd_latest: null,
    elpd_diff: null,
    se_diff: null,
    max_elpd_drop: maxElpdDrop,
    refused: false,
  };
  // A fit that answers other requests than latest (another target, other features) would break latest's clients the
  // moment it is served: not promoted unless asked for (--no-compare, `models promote`), whatever its scores.
  let serving;
  try {
    serving = await store.readManifest(latest);
  } catch (err) {
    if (err instanceof BayesServeError) return { ...base, note: `version ${latest} cannot be read: ${err.message}` };
    throw err;
  }
  const servingForm = requestForm(serving.features, serving.target.name);
  const freshForm = requestForm(fresh.schema.features, target);
  if (servingForm !== freshForm)
    return {
      ...base,
      refused: true,
      note:
        `version ${latest}, serving now, answers other requests (${servingForm}) than this fit (${freshForm}): promoting it would break ` +
        `the service's clients. Train it into a store of its own (--store), or promote it on purpose: --no-compare, or ` +
        `\`bayes-serve models promote VERSION\``,
    };
  if (instances.length < 2) return { ...base, note: "fewer than 2 held-out rows: nothing to compare on (use --test-fraction > 0)" };
  let latestScore;
  try {
    const bundle = await store.readBundle(latest, { files: "posterior" });
    latestScore = heldOutLpd(servedModel(bundle.manifest, bundle.draws).predictor, instances, ys);
  } catch (err) {
    // A latest that cannot score these rows (another model, other columns) is not a comparison: say why.
    if (err instanceof BayesServeError) return { ...base, note: `version ${latest} cannot predict these data: ${err.message}` };
    throw err;
  }
  const freshScore = heldOutLpd(fresh, instances, ys);
  const { elpdDiff, seDiff } = compareScores(latestScore, freshScore);
  const refused = elpdDiff < 0 && -elpdDiff > maxElpdDrop * seDiff;
  return { ...base, elpd_new: freshScore.elpd, elpd_latest: latestScore.elpd, elpd_diff: elpdDiff, se_diff: seDiff, refused };
}

/** What a request to a model holds and what it predicts, e.g. `age, exposure → "claims"`. */
function requestForm(features: readonly { name: string }[], target: string): string {
  return `${features
    .map((f) => f.name)
    .sort()
    .join(", ")} → "${target}"`;
}

/** The verdict in one line, for the gate's failures and the report. */
export function describeComparison(v: ComparisonVerdict): string {
  if (v.note !== undefined || v.elpd_diff === null || v.se_diff === null)
    return `${v.refused ? "not promoted over" : "no comparison with"} ${v.against}: ${v.note ?? "not scored"}`;
  const diff = `elpd ${v.elpd_diff >= 0 ? "+" : ""}${v.elpd_diff.toFixed(2)} (SE ${v.se_diff.toFixed(2)}) against ${v.against} on ${v.rows} held-out rows`;
  return v.refused ? `predicts worse than ${v.against}: ${diff}, beyond ${v.max_elpd_drop} SE` : diff;
}
