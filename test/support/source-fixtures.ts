/**
 * What each source folder gives the tests that cover every source: its raw bodies
 * (`sources/<name>/fixtures/*`, exactly as its collector stores them) and valid inputs derived from
 * its input schema. A source that lacks one fails those tests with a message saying what to add,
 * so a new source is covered without editing any test.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../local/paths.js';
import type { SourceDefinition } from '../../sources/define.js';

/** The content type a collector stores a body of this extension with. */
const CONTENT_TYPES: { readonly [extension: string]: string } = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface SourceFixture {
  readonly name: string;
  readonly body: Buffer;
  readonly contentType: string;
}

export function fixturesDir(source: string): string {
  return join(PROJECT_ROOT, 'sources', source, 'fixtures');
}

/**
 * The raw bodies in `sources/<source>/fixtures/` (`inputs.json` aside), each a body that parses
 * into valid records. Throws, saying what to add, when there is none.
 */
export function rawFixtures(source: string): SourceFixture[] {
  const dir = fixturesDir(source);
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name !== 'inputs.json' && CONTENT_TYPES[extname(name)] !== undefined)
        .sort()
    : [];
  if (files.length === 0) {
    throw new Error(
      `sources/${source}/fixtures/ has no raw body: add at least one response the source really sends, ` +
        `byte for byte as its collector stores it (${Object.keys(CONTENT_TYPES).join(', ')}), that parses into valid records`,
    );
  }
  return files.map((name) => ({
    name,
    body: readFileSync(join(dir, name)),
    contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
  }));
}

// ---- Inputs --------------------------------------------------------------------------------------

/** A JSON Schema, as far as the generator reads one. */
interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
}

class UnsupportedSchema extends Error {}

function arbitraryOf(schema: JsonSchema, path: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined) return fc.oneof(...alternatives.map((s) => arbitraryOf(s, path)));
  switch (schema.type) {
    case 'object': {
      const properties = Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, property]) => [
          name,
          arbitraryOf(property, `${path}.${name}`),
        ]),
      );
      return fc.record(properties, { requiredKeys: [...(schema.required ?? [])] });
    }
    case 'string': {
      const minLength = schema.minLength ?? 0;
      const maxLength = schema.maxLength ?? 200;
      const text =
        schema.pattern !== undefined
          ? fc.stringMatching(new RegExp(schema.pattern))
          : fc.string({ minLength, maxLength: Math.min(maxLength, minLength + 200), unit: 'grapheme' });
      return text.filter((value) => value.length >= minLength && value.length <= maxLength);
    }
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum ?? -1_000_001) + 1;
      const max = schema.maximum ?? (schema.exclusiveMaximum ?? 1_000_001) - 1;
      return fc.integer({ min, max });
    }
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'array':
      if (schema.items === undefined) throw new UnsupportedSchema(`${path} is an array without items`);
      return fc.array(arbitraryOf(schema.items, `${path}[]`), {
        minLength: schema.minItems ?? 0,
        maxLength: schema.maxItems ?? 5,
      });
    default:
      throw new UnsupportedSchema(
        `${path} has a schema the generator cannot read: ${JSON.stringify(schema)}`,
      );
  }
}

const ExampleInputs = z.array(z.record(z.string(), z.unknown())).min(1);

/**
 * Valid inputs of a source: derived from its input schema (through its JSON Schema), or — when
 * the schema uses something the generator cannot read — taken from `fixtures/inputs.json`.
 * Every value is checked against the schema itself. Throws, saying what to add, when neither works.
 */
export function validInputs(source: SourceDefinition): fc.Arbitrary<{ [key: string]: unknown }> {
  const isValid = (value: unknown) => source.input.safeParse(value).success;
  const examples = join(fixturesDir(source.name), 'inputs.json');
  if (existsSync(examples)) {
    const listed = ExampleInputs.parse(JSON.parse(readFileSync(examples, 'utf8')));
    const invalid = listed.filter((input) => !isValid(input));
    if (invalid.length > 0)
      throw new Error(
        `sources/${source.name}/fixtures/inputs.json holds inputs its schema refuses: ${JSON.stringify(invalid)}`,
      );
    return fc.constantFrom(...listed);
  }
  try {
    const schema = z.toJSONSchema(source.input, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
    return arbitraryOf(schema, 'input')
      .filter(isValid)
      .map((value) => value as { [key: string]: unknown });
  } catch (error) {
    throw new Error(
      `cannot derive inputs for ${source.name} from its input schema (${(error as Error).message}): ` +
        `add sources/${source.name}/fixtures/inputs.json, a JSON array of valid inputs`,
    );
  }
}
