// The page's assets: their file names, and the browser script (browser.ts) compiled to the classic script the page
// inlines — types stripped and the whole wrapped in a function, so that its names stay out of the window's scope. One
// home for both ways the server gets them: at build time (scripts/bundle-server.mjs writes dist/server/page/) and, run
// from the sources, once at start-up (../page.ts).
import { BayesServeError } from "../../errors.js";

export const PAGE_FILES = {
  /** The script's TypeScript source, in src/server/page/. */
  scriptSource: "browser.ts",
  /** The compiled script, in dist/server/page/. */
  compiledScript: "browser.js",
  /** The style sheet, in both. */
  styleSheet: "page.css",
} as const;

export async function compileBrowserScript(source: string, file: string): Promise<string> {
  // Imported here, not at the top: a server started from the build never compiles, and never loads esbuild.
  const { transform } = await import("esbuild");
  try {
    const { code } = await transform(source, { loader: "ts", format: "iife", target: "es2020", sourcefile: file, legalComments: "none", logLevel: "silent" });
    return code;
  } catch (e) {
    throw new BayesServeError("CONFIG", `the page's script ${file} does not compile: ${(e as Error).message}`, { cause: e });
  }
}
