import { defineConfig } from 'vitest/config';
import { LongestRunsFirst } from './test/support/sequencer.js';

/** Function logs go through the console, so they show only for a failing test (see the file). */
const FUNCTION_LOGS = 'test/support/function-logs.ts';

export default defineConfig({
  test: {
    // Console output, function logs included, is shown for failing tests only.
    silent: 'passed-only',
    // Every core (vitest's default leaves one idle, which on a two-core CI machine means one
    // file at a time).
    maxWorkers: '100%',
    sequence: { sequencer: LongestRunsFirst },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          setupFiles: [FUNCTION_LOGS],
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          setupFiles: [FUNCTION_LOGS],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Each file starts its own emulator, demo site and pollers, and mostly waits on them
          // (retry delays, claims lapsing, SLAs passing at the local time scale): two files at
          // once, on any machine, after the unit and infra files.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
