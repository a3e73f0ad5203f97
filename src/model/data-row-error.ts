// A data row the model cannot take — a value outside what the model allows (data-checks in bind.ts) or a row at which
// the likelihood is undefined (row-check.ts) — by its position in the data given to the fit, so that the train pipeline
// can name the row's file and line.
import { BayesServeError } from "../errors.js";

/** A data row at which the model is undefined: its position in the data given to the fit, and the data it reads. */
export class DataRowError extends BayesServeError {
  constructor(
    /** 0-based row of the data given to the fit. */
    readonly row: number,
    /** The data inputs involved, with their values at this row. */
    readonly values: Record<string, number>,
    /** What is undefined, without the row: "the likelihood's argument logRate = … is NaN". */
    readonly reason: string,
    /** The message where no place is known (the default names the row and its values). */
    message = `data row ${row} (${Object.entries(values)
      .map(([k, v]) => `${k} = ${v}`)
      .join(", ")}): ${reason}`,
  ) {
    super("DATA_VALUE", message);
    this.name = "DataRowError";
  }

  /** The same problem described at another place (a file's line), keeping the data values. */
  describedAt(where: string): BayesServeError {
    return new BayesServeError(
      "DATA_VALUE",
      `${where} (${Object.entries(this.values)
        .map(([k, v]) => `${k} = ${v}`)
        .join(", ")}): ${this.reason}`,
    );
  }
}
