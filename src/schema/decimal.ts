// A number written as text, read only when it is written as people write decimals: the CSV reader's values and the V2
// endpoint's numbers given as strings (parameters.quantiles) read alike. Number() alone would also take hexadecimal,
// binary and octal literals ("0x1", "0b1", "0o7"), blank padding, "Infinity", and "" as 0.

/** A decimal number: an optional sign, digits with an optional point, an optional exponent; nothing else. */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `text` as a number when it is a decimal (see DECIMAL), else NaN. It may be ±Infinity (a decimal beyond a double). */
export function parseDecimal(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}
