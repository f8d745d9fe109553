/**
 * Writes JSON Schemas of the job contract for upstream teams (`npm run schemas`):
 *   schemas/collect-job.schema.json          the SQS message body
 *   schemas/sources/<source>.input.schema.json  each source's `input`
 *   schemas/record-changed.schema.json       the change feed's event detail, for downstream teams
 * A unit test fails when any checked-in file is stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CollectJob } from '../functions/core/contracts.js';
import { RecordChangedDetail } from '../functions/core/record-changes.js';
import { sources } from '../sources/registry.js';

const SCHEMAS_DIR = join(fileURLToPath(new URL('..', import.meta.url)), 'schemas');

function document(id: string, title: string, schema: z.ZodType): string {
  // `io: 'input'` describes what a sender may send: fields with defaults are optional.
  const body = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ $id: `https://sluice.example/schemas/${id}`, title, ...body }, null, 2)}\n`;
}

/** Every schema file, by path under the repository root, with its expected content. */
export function generatedSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    join(SCHEMAS_DIR, 'collect-job.schema.json'),
    document('collect-job.schema.json', 'CollectJob', CollectJob),
  );
  files.set(
    join(SCHEMAS_DIR, 'record-changed.schema.json'),
    document('record-changed.schema.json', 'RecordChanged (detail)', RecordChangedDetail),
  );
  for (const source of sources) {
    const id = `sources/${source.name}.input.schema.json`;
    files.set(join(SCHEMAS_DIR, id), document(id, `${source.title}: CollectJob.input`, source.input));
  }
  return files;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, content] of generatedSchemas()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${path}`);
  }
}
