import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/validate/**", "test/server/load.test.ts"],
          // Two cores here: sampler tests start worker threads of their own.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The load test takes the machine's cores for half a minute: alone, after the rest, so that no other test's
        // timing shares the machine with it.
        extends: true,
        test: { name: "load", include: ["test/server/load.test.ts"], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
