import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedSchemas } from '../../scripts/generate-schemas.js';

describe('checked-in JSON Schemas for upstream teams', () => {
  for (const [path, expected] of generatedSchemas()) {
    const name = relative(process.cwd(), path);
    it(`${name} matches the zod contract (run \`npm run schemas\` when this fails)`, () => {
      expect(existsSync(path), `${name} is missing`).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe(expected);
    });
  }
});
