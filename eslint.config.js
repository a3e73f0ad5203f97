// ESLint (flat config): typescript-eslint's recommended rules over the TypeScript sources, tests, benchmarks and
// scripts. Formatting is Prettier's (.prettierrc.json), not ESLint's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".tmp/**", "coverage/**", "test/fixtures/**", "artifacts/**", "models/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: {
      // Published coefficients (AS 241, Stirling's series, Lanczos…) are written with the digits their sources give;
      // the compiler rounds each to the nearest double, which is the value intended.
      "no-loss-of-precision": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The page's script runs in the browser (src/server/page/tsconfig.json type-checks it against the DOM).
    files: ["src/server/page/browser.ts"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
