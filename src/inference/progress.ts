// A progress bar per chain on a terminal (stderr); silence when stderr is not a terminal.
export interface ChainProgress {
  update(chain: number, iteration: number, total: number, warmup: boolean): void;
  finish(): void;
}

/** Null when the stream is not a terminal: then nothing needs reporting at all (chains skip their progress messages). */
export function createProgress(chains: number, stream: NodeJS.WriteStream = process.stderr): ChainProgress | null {
  if (!stream.isTTY) return null;
  const state = Array.from({ length: chains }, () => ({ iteration: 0, total: 1, warmup: true }));
  const started = Date.now();
  let drawn = false;
  let last = 0;
  const width = 30;
  const render = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    if (drawn) stream.write(`\x1b[${chains}A`);
    for (let c = 0; c < chains; c++) {
      const s = state[c];
      const frac = s.iteration / s.total;
      const filled = Math.round(frac * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      const phase = s.iteration >= s.total ? "done    " : s.warmup ? "warm-up " : "sampling";
      stream.write(`\x1b[2Kchain ${c} ${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${phase} ${((now - started) / 1000).toFixed(1)}s\n`);
    }
    drawn = true;
  };
  return {
    update(chain, iteration, total, warmup) {
      state[chain] = { iteration, total, warmup };
      render(false);
    },
    finish() {
      render(true);
    },
  };
}
