// The fenced code blocks of a Markdown page, and its sample outputs as patterns: how the doc tests run a page as
// written and match each command's output against the ```text block that follows it.

export interface Block {
  lang: string;
  lines: string[];
}

/** The fenced code blocks of a Markdown text, in order, without their blank lines. */
export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) out.push({ lang: m[1], lines: m[2].split("\n").filter((l) => l.trim() !== "") });
  return out;
}

/** A sample output as a regular expression over the whole output: "…" (and whatever `alsoAny` matches) for any text. */
export function pattern(sample: string, alsoAny?: RegExp): RegExp {
  return new RegExp(
    `^${(alsoAny === undefined ? sample : sample.replace(alsoAny, "…"))
      .split("…")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*?")}$`,
    "s",
  );
}
