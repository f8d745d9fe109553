/**
 * Test files in vitest's own order (slowest known first, then largest), except that each
 * project's longest runs start first. A fresh clone has no timings, so vitest would order the
 * files by size, and the small files that drive the whole-pipeline scenarios would start last,
 * running minutes alone after everything else: started first, the other files fill the second
 * worker beside them. A file missing from the list only costs time.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_RUNS = [
  'test/integration/chaos.test.ts',
  'test/integration/alarms.test.ts',
  // Runs every npm script a document shows with --help: about a minute, the unit files' longest.
  'test/unit/docs-commands.test.ts',
];

function rank(spec: TestSpecification): number {
  const index = LONGEST_RUNS.findIndex((path) => spec.moduleId.endsWith(path));
  return index === -1 ? LONGEST_RUNS.length : index;
}

export class LongestRunsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // vitest keeps each project's files together; reorder within each run of one project only.
    const runs: TestSpecification[][] = [];
    for (const spec of sorted) {
      const run = runs.at(-1);
      if (run !== undefined && run[0]?.project.name === spec.project.name) run.push(spec);
      else runs.push([spec]);
    }
    return runs.flatMap((run) => run.sort((a, b) => rank(a) - rank(b)));
  }
}
