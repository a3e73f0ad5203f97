import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/validate/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores here: sampler tests start worker threads of their own.
    maxWorkers: 2,
  },
});
