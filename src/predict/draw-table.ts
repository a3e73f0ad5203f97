// The posterior's draws as the predictor reads them, and their serving order. The draws a request uses are n
// consecutive rows of the table put in a random order once, at load, from a random starting row: each is a draw chosen
// at random across all chains, and a request's draws are distinct (n ≤ the number of draws), as ArviZ's
// `extract(num_samples=n)` picks them. Reading neighbouring rows rather than scattered ones is the point: on a busy
// server scattered reads are cache and TLB misses (bench/README.md, "Measurements behind the code").
import { BayesServeError } from "../errors.js";
import { Rng } from "../random/rng.js";

/** Posterior draws as stored in an artefact: [chain][draw][name]. */
export interface DrawTable {
  names: string[];
  chains: number;
  draws: number;
  values: Float64Array;
  /** Rows already in the serving order (made by shuffledDrawTable), so the Predictor uses them as they are. */
  shuffled?: boolean;
}

/** The seed of the serving order: fixed, so a seeded answer is the same in every process serving the same draws. */
export const DRAW_ORDER_SEED = 0x5eed0dde;

/**
 * The table's rows in a random order (Fisher–Yates, seeded by DRAW_ORDER_SEED), written into `into` when given (the
 * server's shared buffer) or a new array. The Predictor serves from such a table; it makes one itself when given
 * draws in their stored order.
 */
export function shuffledDrawTable(table: DrawTable, into?: Float64Array): DrawTable {
  const width = table.names.length;
  const total = table.chains * table.draws;
  if (table.values.length !== total * width) {
    throw new BayesServeError("ARTIFACT", `the draw table holds ${table.values.length} values, not chains × draws × names = ${total * width}`);
  }
  const values = into ?? new Float64Array(total * width);
  if (values.length !== total * width) throw new RangeError(`shuffledDrawTable: the target holds ${values.length} values, not ${total * width}`);
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const rng = new Rng(DRAW_ORDER_SEED, 0);
  for (let i = total - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let i = 0; i < total; i++) values.set(table.values.subarray(order[i] * width, (order[i] + 1) * width), i * width);
  return { names: table.names, chains: table.chains, draws: table.draws, values, shuffled: true };
}
