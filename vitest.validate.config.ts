import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/validate/**/*.test.ts"],
    testTimeout: 1_200_000,
    maxWorkers: 1,
  },
});
