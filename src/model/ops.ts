// The elementwise operations as code: each returns the expression for the value and for its partial derivatives,
// given the operands' expressions (and `v`, the name the value is bound to). One table for the compiler's forward and
// adjoint passes and for the predictor's forward-only code.

/** [value, ∂value/∂x] for a unary function of x. */
export function unaryCode(fn: string, x: string, v: string): [string, string] {
  switch (fn) {
    case "neg":
      return [`-${x}`, "-1"];
    case "exp":
      return [`F.exp(${x})`, v];
    case "log":
      return [`F.log(${x})`, `(1 / ${x})`];
    case "log1p":
      return [`F.log1p(${x})`, `(1 / (1 + ${x}))`];
    case "log1m":
      return [`F.log1p(-${x})`, `(-1 / (1 - ${x}))`];
    case "logistic":
      return [`F.logistic(${x})`, `(${v} * (1 - ${v}))`];
    case "softplus":
      return [`F.log1pExp(${x})`, `F.logistic(${x})`];
    case "sqrt":
      return [`Math.sqrt(${x})`, `(0.5 / ${v})`];
    case "square":
      return [`${x} * ${x}`, `(2 * ${x})`];
    case "abs":
      return [`Math.abs(${x})`, `Math.sign(${x})`];
    case "Phi":
      return [`F.Phi(${x})`, `F.normalPdf(${x})`];
    default:
      throw new Error(`unknown unary function ${fn}`);
  }
}

/** [value, ∂/∂x, ∂/∂y] for a binary function of x and y. */
export function binaryCode(fn: string, x: string, y: string, v: string): [string, string, string] {
  switch (fn) {
    case "add":
      return [`${x} + ${y}`, "1", "1"];
    case "sub":
      return [`${x} - ${y}`, "1", "-1"];
    case "mul":
      return [`${x} * ${y}`, y, x];
    case "div":
      return [`${x} / ${y}`, `(1 / ${y})`, `(-${v} / ${y})`];
    case "pow":
      return [`Math.pow(${x}, ${y})`, `(${y} * Math.pow(${x}, ${y} - 1))`, `(${v} * F.log(${x}))`];
    default:
      throw new Error(`unknown binary function ${fn}`);
  }
}
