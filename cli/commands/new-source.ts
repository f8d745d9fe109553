/**
 * `sluice new-source <name> --kind http|browser [--login form|bearer|basic] [--origin <url>]
 * [--download] [--owner <team>]`: a new source folder that passes `npm test` as generated.
 *
 * It writes `sources/<name>/source.ts` (the definition, its workflow from the shared parts),
 * `parser.ts`, `fixtures/sample.*` (a made-up answer in the shape the parser reads: replace it with
 * a real one) and `test/unit/sources/<name>/parser.test.ts`; registers the source in
 * `sources/registry.ts` and `sources/parsers.ts`; and regenerates what `npm test` checks is
 * current: `schemas/` (`npm run schemas`), the workflow map, OWNERS.md and the pinned source
 * stack (`npm run docs`).
 *
 * The registry stays a list of static imports, edited here, rather than a folder scan: the
 * collector and transform bundles (esbuild) and the CDK app must see every source at build time,
 * and a Lambda bundle has no `sources/` folder to scan. A unit test refuses a source folder the
 * registry does not list.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { SourceName } from '../../functions/core/contracts.js';
import { PROJECT_ROOT } from '../../local/paths.js';
import { CliError } from '../target.js';

export type ScaffoldKind = 'http' | 'browser';
export type ScaffoldLogin = 'form' | 'bearer' | 'basic';

export interface NewSourceOptions {
  readonly name: string | undefined;
  readonly kind: string | undefined;
  readonly login?: string | undefined;
  readonly origin?: string | undefined;
  /** A browser source whose artifact is a CSV download. */
  readonly download?: boolean;
  /** The team that owns all four roles to begin with. @default team-collection / team-data */
  readonly owner?: string | undefined;
  /** Where the repository is. @default the project root */
  readonly root?: string;
  /** Run `npm run schemas` and `npm run docs` afterwards. @default true */
  readonly regenerate?: boolean;
}

export interface ScaffoldedSource {
  readonly name: string;
  /** Every file written or changed, relative to the root. */
  readonly files: readonly string[];
}

interface Plan {
  readonly name: string;
  readonly kind: ScaffoldKind;
  readonly login: ScaffoldLogin | undefined;
  readonly origin: URL;
  readonly download: boolean;
  readonly owners: { collection: string; transformation: string; dataStore: string; businessRules: string };
}

const USAGE =
  'usage: sluice new-source <name> --kind http|browser [--login form|bearer|basic] [--origin <url>] [--download] [--owner <team>]';

/** `acme-prices` → `acmePrices`. */
function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function pascal(name: string): string {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

function title(name: string): string {
  return name
    .split('-')
    .map((word, i) => (i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word))
    .join(' ');
}

function planOf(options: NewSourceOptions): Plan {
  const { name, kind } = options;
  if (name === undefined || kind === undefined) throw new CliError(USAGE, 2);
  const parsedName = SourceName.safeParse(name);
  if (!parsedName.success) {
    throw new CliError(
      `${JSON.stringify(name)} is not a source name: ${parsedName.error.issues[0]?.message}`,
      2,
    );
  }
  if (kind !== 'http' && kind !== 'browser') {
    throw new CliError(`--kind must be http or browser, got ${JSON.stringify(kind)}`, 2);
  }
  const login = options.login;
  if (login !== undefined && login !== 'form' && login !== 'bearer' && login !== 'basic') {
    throw new CliError(`--login must be form, bearer or basic, got ${JSON.stringify(login)}`, 2);
  }
  if (kind === 'browser' && login !== undefined && login !== 'form') {
    throw new CliError('a browser source signs in through its login form: --login form, or none', 2);
  }
  if (options.download === true && kind !== 'browser') {
    throw new CliError('--download is for browser sources (an HTTP source fetches its export directly)', 2);
  }
  let origin: URL;
  try {
    origin = new URL(options.origin ?? `https://${name}.example.com`);
  } catch {
    throw new CliError(`--origin must be a URL like https://prices.example.com, got ${options.origin}`, 2);
  }
  if (origin.protocol !== 'https:' && origin.protocol !== 'http:') {
    throw new CliError(`--origin must be http(s), got ${origin.protocol}`, 2);
  }
  if (origin.pathname !== '/' || origin.search !== '' || origin.username !== '') {
    throw new CliError(
      `--origin must be an origin (no path, query or credentials), got ${options.origin}`,
      2,
    );
  }
  const owner = options.owner;
  if (owner !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(owner)) {
    throw new CliError(
      `--owner must be a team name of lowercase letters, digits and dashes, got ${owner}`,
      2,
    );
  }
  return {
    name,
    kind,
    login: login as ScaffoldLogin | undefined,
    origin,
    download: options.download === true,
    owners: {
      collection: owner ?? 'team-collection',
      transformation: owner ?? 'team-data',
      dataStore: owner ?? 'team-data',
      businessRules: owner ?? 'team-data',
    },
  };
}

/** What the parser reads and the sample answer is. */
function format(plan: Plan): { ext: string; accept: string; contentType: string } {
  if (plan.download) return { ext: 'csv', accept: 'text/csv', contentType: 'text/csv' };
  if (plan.kind === 'http')
    return { ext: 'json', accept: 'application/json', contentType: 'application/json' };
  return { ext: 'html', accept: 'text/html', contentType: 'text/html' };
}

function authLine(plan: Plan): string {
  switch (plan.login) {
    case undefined:
      return '';
    case 'bearer':
      return "  // The token is in the source's secret (`npx sluice credentials set <name>`), sent as\n  // `authorization: Bearer <token>`; for an API key header: { kind: 'bearer', header: 'x-api-key', scheme: '' }.\n  auth: { kind: 'bearer' },\n";
    case 'basic':
      return "  // The username and password are in the source's secret (`npx sluice credentials set <name>`).\n  auth: { kind: 'basic' },\n";
    case 'form':
      return plan.kind === 'http'
        ? "  // Signs in by posting this form; the session cookie it answers with is reused while valid.\n  auth: { kind: 'form', path: '/login', usernameField: 'username', passwordField: 'password' },\n"
        : `  login: {
    path: '/login',
    usernameField: 'form input[name="username"]',
    passwordField: 'form input[name="password"]',
    submit: 'form button[type="submit"]',
    signedInWhen: '[data-signed-in]',
    rejectedWhen: '.login-error',
    formWhen: 'form input[type="password"]',
    secretDescription: 'the account Sluice signs in with, as {"username", "password"}',
  },
`;
  }
}

function collectSteps(plan: Plan): { steps: string; signIn: string; imports: string[] } {
  const host = plan.origin.host;
  const imports = ['sourceWorkflow'];
  const signs = plan.login !== undefined;
  const formLogin = plan.login === 'form';
  let signInLine = '';
  let steps = '';
  if (formLogin) {
    imports.unshift('signInStep');
    signInLine = "    signInStep: 'sign-in',\n";
    steps += `      signInStep({ host: '${host}', how: 'through its login form', kind: '${plan.kind}' }),\n`;
  } else if (signs) {
    signInLine = `    signInStep: '${plan.kind === 'http' ? 'fetch' : 'render'}',\n`;
  }
  if (plan.kind === 'http') {
    steps += `      {
        id: 'fetch',
        does: 'GET / from ${host} over plain HTTP${signs && !formLogin ? ' with the credentials from its secret' : ''}',
        owner: 'collection',
        stage: 'collect',
      },
`;
  } else {
    steps += `      {
        id: 'render',
        does: '${plan.download ? `Open /export on ${host} in headless Chromium, click the export link and keep the downloaded CSV` : `Open / on ${host} in headless Chromium and keep the rendered page`}',
        owner: 'collection',
        stage: 'collect',
      },
`;
  }
  return { steps, signIn: signInLine, imports };
}

function sourceFile(plan: Plan): string {
  const { name, kind, origin } = plan;
  const { accept } = format(plan);
  const { steps, signIn, imports } = collectSteps(plan);
  const what = plan.download
    ? 'a CSV export, downloaded in headless Chromium'
    : kind === 'http'
      ? 'plain HTTP'
      : 'headless Chromium';
  const collectPlan =
    kind === 'http'
      ? `  request: () => ({ path: '/', accept: '${accept}' }),\n`
      : plan.download
        ? "  browse: () => ({ path: '/export', readyWhen: 'a#export', download: { click: 'a#export' } }),\n"
        : "  browse: () => ({ path: '/', readyWhen: 'table#items' }),\n";
  return `import { defineSource } from '../define.js';
import { ${imports.join(', ')} } from '../workflow.js';

/**
 * ${title(name)}, collected from ${origin.host} with ${what}.
 *
 * Scaffolded by \`npx sluice new-source\`: set its owners, SLA and budgets; make the
 * ${kind === 'http' ? 'request' : 'page plan'} ask for what you need (give the source an \`input\` schema when a job must say
 * which page or account); put a real answer in fixtures/ and teach parser.ts to read it. No
 * input schema: a job for it needs no \`input\`.
 */
export const ${camel(name)} = defineSource({
  name: '${name}',
  title: '${title(name)}',
  description: 'Records from ${origin.host}, collected with ${what}.',
  kind: '${kind}',
  owners: {
    collection: '${plan.owners.collection}',
    transformation: '${plan.owners.transformation}',
    dataStore: '${plan.owners.dataStore}',
    businessRules: '${plan.owners.businessRules}',
  },
  freshnessSlaMinutes: 24 * 60,
  dedupeWindowSeconds: 3600,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 2,
  batchSize: ${kind === 'http' ? 5 : 1},
  origin: '${origin.origin}',
  allowedHosts: ['${origin.host}'],
${authLine(plan)}  workflow: sourceWorkflow({
    kind: '${kind}',
${signIn}    collect: [
${steps}    ],
    transform: {
      parses: '${plan.download ? 'each row of the CSV export' : kind === 'http' ? 'each item of the JSON answer' : 'each row of the table'} becomes one record (id, name)',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'businessRules',
    },
  }),
${collectPlan}});
`;
}

function parserFile(plan: Plan): string {
  const { name } = plan;
  const Record = `${pascal(name)}Record`;
  const header = `import { z } from 'zod';
import { defineParser } from '../define.js';

/** One record: change it to what the source's answer holds. Every field is validated before any write. */
export const ${Record} = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
    name: z.string().min(1).max(500),
  })
  .strict();
export type ${Record} = z.infer<typeof ${Record}>;

const clean = (text: unknown) => (typeof text === 'string' ? text.replace(/\\s+/g, ' ').trim() : text);
`;
  if (plan.download) {
    return `import { parse } from 'csv-parse/sync';
${header}
/** One row of the export, as csv-parse hands it over (every column a string). */
const ExportRow = z.record(z.string(), z.string());

/** The CSV export: a header row, RFC 4180 quoting, a BOM or not; a malformed row throws (a person looks). */
export const ${camel(name)}Parser = defineParser<${Record}>({
  source: '${name}',
  record: ${Record},
  parse(body) {
    const rows = ExportRow.array().parse(
      parse(body, { columns: true, bom: true, skip_empty_lines: true, trim: true }),
    );
    return rows.map((row) => ({ entityId: clean(row.id) as string, data: { id: clean(row.id), name: clean(row.name) } }));
  },
});
`;
  }
  if (plan.kind === 'http') {
    return `${header}
/** The answer's envelope; its items are loose here so the record schema says what is wrong. */
const Item = z.object({ id: z.unknown(), name: z.unknown() }).catch({ id: undefined, name: undefined });
const Answer = z.object({ data: z.array(Item) });

/** A JSON answer \`{"data": [{"id", "name"}, ...]}\`; a body that is not one throws (a person looks). */
export const ${camel(name)}Parser = defineParser<${Record}>({
  source: '${name}',
  record: ${Record},
  parse(body) {
    const answer = Answer.parse(JSON.parse(body.toString('utf8')));
    return answer.data.map((item) => ({
      entityId: typeof item.id === 'string' ? item.id : '',
      data: { id: item.id, name: clean(item.name) },
    }));
  },
});
`;
  }
  return `import * as cheerio from 'cheerio';
${header}
/** The rendered page's table: one \`tr[data-id]\` per item, its name in \`.name\`. */
export const ${camel(name)}Parser = defineParser<${Record}>({
  source: '${name}',
  record: ${Record},
  parse(body) {
    const $ = cheerio.load(body.toString('utf8'));
    return $('table#items tr[data-id]')
      .toArray()
      .map((element) => {
        const row = $(element);
        const id = row.attr('data-id') ?? '';
        return { entityId: id, data: { id, name: clean(row.find('.name').text()) } };
      });
  },
});
`;
}

function sampleFile(plan: Plan): string {
  if (plan.download)
    return '\uFEFFid,name\r\nA-1,First item\r\nA-2,"Second item, with a comma"\r\nA-3,Café Ünïcode\r\n';
  if (plan.kind === 'http')
    return '{"data":[{"id":"A-1","name":"First item"},{"id":"A-2","name":"Café Ünïcode"}]}\n';
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Items</title></head>
<body><table id="items"><tbody>
<tr data-id="A-1"><td class="name">First item</td></tr>
<tr data-id="A-2"><td class="name">Café Ünïcode</td></tr>
</tbody></table></body></html>
`;
}

function parserTestFile(plan: Plan): string {
  const { name } = plan;
  const { ext, contentType } = format(plan);
  const parser = `${camel(name)}Parser`;
  return `import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ${parser} } from '../../../../sources/${name}/parser.js';

/** The sample in the source's fixtures/: replace it with a real answer, and these expectations with its records. */
const sample = readFileSync(new URL('../../../../sources/${name}/fixtures/sample.${ext}', import.meta.url));
const context = { finalUrl: '${plan.origin.origin}/', contentType: '${contentType}' };

describe('${name} parser', () => {
  it('reads every item of the sample into a valid record', () => {
    const records = ${parser}.parse(sample, context);

    expect(records.map((r) => r.entityId)).toEqual(${plan.download ? "['A-1', 'A-2', 'A-3']" : "['A-1', 'A-2']"});
    for (const record of records) expect(${parser}.record.safeParse(record.data).success).toBe(true);
  });

  it('keeps non-ASCII text intact', () => {
    const names = ${parser}.parse(sample, context).map((r) => (r.data as { name: string }).name);

    expect(names).toContain('Café Ünïcode');
  });
});
`;
}

/** Adds `import { <symbol> } from '<from>'` and `<symbol>,` as the last entry of `arrayStart`'s list. */
function register(file: string, symbol: string, from: string, arrayStart: string): void {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(arrayStart);
  const close = at === -1 ? -1 : text.indexOf('];', at);
  if (at === -1 || close === -1)
    throw new CliError(`${file} has no \`${arrayStart}\` list to add ${symbol} to`);
  const importLine = `import { ${symbol} } from '${from}';\n`;
  const lastImport = text.lastIndexOf('\nimport ', at);
  const afterImports = text.indexOf('\n', text.indexOf(';', lastImport + 1)) + 1;
  const withEntry = `${text.slice(0, close)}  ${symbol},\n${text.slice(close)}`;
  writeFileSync(file, `${withEntry.slice(0, afterImports)}${importLine}${withEntry.slice(afterImports)}`);
}

function run(root: string, command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new CliError(`\`${command} ${args.join(' ')}\` failed:\n${result.stdout}\n${result.stderr}`);
  }
}

/**
 * The new files of a source, by path relative to the root, before formatting: its definition,
 * parser, sample answer and parser test. Pure: `scaffoldSource` writes them and registers the source.
 */
export function scaffoldFiles(options: NewSourceOptions): ReadonlyMap<string, string> {
  const plan = planOf(options);
  const { ext } = format(plan);
  const folder = join('sources', plan.name);
  return new Map([
    [join(folder, 'source.ts'), sourceFile(plan)],
    [join(folder, 'parser.ts'), parserFile(plan)],
    [join(folder, 'fixtures', `sample.${ext}`), sampleFile(plan)],
    [join('test', 'unit', 'sources', plan.name, 'parser.test.ts'), parserTestFile(plan)],
  ]);
}

export function scaffoldSource(options: NewSourceOptions): ScaffoldedSource {
  const plan = planOf(options);
  const root = options.root ?? PROJECT_ROOT;
  const folder = join(root, 'sources', plan.name);
  if (existsSync(folder)) throw new CliError(`sources/${plan.name} exists already; pick another name`);
  const written = new Map(
    [...scaffoldFiles(options)].map(([path, content]): [string, string] => [join(root, path), content]),
  );
  for (const [path, content] of written) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  const registry = join(root, 'sources', 'registry.ts');
  const parsers = join(root, 'sources', 'parsers.ts');
  register(registry, camel(plan.name), `./${plan.name}/source.js`, 'export const sources');
  register(parsers, `${camel(plan.name)}Parser`, `./${plan.name}/parser.js`, 'export const parsers');
  const code = [...written.keys()].filter((p) => p.endsWith('.ts'));
  // The templates are close to the formatter's output; this makes them exactly it (import order too).
  run(root, 'npx', ['biome', 'check', '--write', ...code, registry, parsers]);
  const files = [...written.keys(), registry, parsers];
  if (options.regenerate !== false) {
    run(root, 'npx', ['tsx', 'scripts/generate-schemas.ts']);
    run(root, 'npx', ['tsx', 'scripts/generate-operations-docs.ts']);
    files.push(
      join(root, 'schemas', 'sources', `${plan.name}.input.schema.json`),
      join(root, 'runbooks', 'workflows', `${plan.name}.md`),
      join(root, 'runbooks', 'OWNERS.md'),
      join(root, 'infra', 'source-stacks.json'),
    );
  }
  return { name: plan.name, files: files.map((f) => relative(root, f)) };
}

/** What to do next, printed after scaffolding. */
export function nextSteps(scaffolded: ScaffoldedSource, options: NewSourceOptions): string {
  const { name } = scaffolded;
  const signs = options.login !== undefined;
  return [
    `created source ${name}:`,
    ...scaffolded.files.map((f) => `  ${f}`),
    '',
    'next:',
    `  1. edit sources/${name}/source.ts (request, owners, SLA) and parser.ts; put a real answer in sources/${name}/fixtures/`,
    `  2. npm test`,
    `  3. try it on your own site: npm start -- --keep --jobs 0 --target ${name}=http://127.0.0.1:8080`,
    ...(signs ? [`     then: npx sluice --local credentials set ${name}`] : []),
    `  4. npx sluice --local enqueue ${name}      (then: npx sluice --local job <jobKey>)`,
  ].join('\n');
}
