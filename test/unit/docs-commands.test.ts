/**
 * Every command the runbooks, the docs and the README tell someone to type exists as written:
 * each `sluice ...` goes through the CLI's own parser (cli/grammar.ts), which refuses an unknown
 * command, an option the command does not take, or a wrong number of arguments; each
 * `npm run <script>` names a script of package.json, and its options after `--` go through that
 * script's own parser (run with `--help`, which parses and exits before doing anything).
 * Placeholders (`<source>`), optional parts (`[--dry-run]`) and alternatives (`a | b`) count as written.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, parseCommandLine } from '../../cli/grammar.js';
import { DOCUMENTS, ROOT } from '../support/documents.js';

/** Every piece of code in a Markdown file: inline code spans and the lines of fenced blocks. */
function codeIn(markdown: string): string[] {
  const code: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) code.push(line);
    else for (const match of line.matchAll(/`([^`]+)`/g)) code.push(match[1] ?? '');
  }
  return code;
}

/** Splits a command line into words, keeping quoted text together (without its quotes). */
function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/**
 * The words as they would be typed: a placeholder becomes a value, brackets and parentheses of
 * optional parts and groups go, `|` between alternatives and `...` of repeats go.
 */
function asTyped(text: string): string[] {
  return words(text)
    .map((word) => (word.includes('<') ? 'X' : word.replace(/^[[(]+|[\])]+$/g, '').replace(/\.\.\.$/, '')))
    .filter((word) => word !== '' && word !== '|' && word !== '...');
}

interface Found {
  readonly document: string;
  readonly text: string;
}

function commandsIn(pattern: RegExp): Found[] {
  const found: Found[] = [];
  for (const document of DOCUMENTS) {
    for (const code of codeIn(readFileSync(join(ROOT, document), 'utf8'))) {
      const withoutComment = code.replace(/\s#\s.*$/, '');
      for (const match of withoutComment.matchAll(pattern)) found.push({ document, text: match[0].trim() });
    }
  }
  return found;
}

// `sluice` followed by a command or an option; `sluice:role=...` tags are not commands.
const SLUICE = /(?:^|[\s(])(?:npx\s+)?sluice\s+(?=[a-z-])[^`|]*(?:\|[^`|]*)*/g;
const NPM = /\bnpm (?:run [\w:-]+|start|test)(?:\s+--(?:\s+[^\s`]+)*)?/g;

const sluiceCommands = commandsIn(SLUICE).map((f) => ({
  ...f,
  args: asTyped(f.text.replace(/^.*?\bsluice\s+/, '')),
}));
const GLOBAL_ONLY = new Set(['--local', '--json', '--help']);

describe('the sluice commands the documents show', () => {
  it('are found, in the runbooks and in the docs', () => {
    expect(sluiceCommands.filter((c) => c.document.startsWith('runbooks/')).length).toBeGreaterThan(30);
    expect(sluiceCommands.filter((c) => c.document.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it.each(
    sluiceCommands
      // `npx sluice --local ...` names the flag, not a command.
      .filter((c) => !c.args.every((word) => GLOBAL_ONLY.has(word)))
      .map((c) => [`${c.document}: ${c.text}`, c.args] as const),
  )('%s', (_, args) => {
    // A command named in prose (`sluice job` shows it) is a reference: the command must exist.
    const named = COMMANDS.find(
      (c) => c.words.length === args.length && c.words.every((w, i) => args[i] === w),
    );
    if (named === undefined) expect(() => parseCommandLine(args)).not.toThrow();
  });
});

describe('the parser the test relies on', () => {
  it('refuses an option a command does not take, an unknown command, and missing arguments', () => {
    expect(() => parseCommandLine(asTyped('replay <source> --jobs <jobKey>'))).toThrow(
      "Unknown option '--jobs'",
    );
    expect(() => parseCommandLine(asTyped('tasks list --note x'))).toThrow('tasks list takes no --note');
    expect(() => parseCommandLine(asTyped('dlq peek <source>'))).toThrow('unknown command "dlq peek"');
    expect(() => parseCommandLine(asTyped('job'))).toThrow('job takes 1 argument(s), got 0');
  });

  it('reads placeholders, optional parts and alternatives as typed', () => {
    expect(asTyped(`dlq discard <source> <jobKey>... | --all --reason "<why>"`)).toEqual([
      'dlq',
      'discard',
      'X',
      'X',
      '--all',
      '--reason',
      'X',
    ]);
    expect(asTyped('enqueue demo-catalog \'{"page":3}\' [--job-id <id>]')).toEqual([
      'enqueue',
      'demo-catalog',
      '{"page":3}',
      '--job-id',
      'X',
    ]);
  });
});

const SCRIPTS = new Set(
  Object.keys(
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { [name: string]: string } })
      .scripts,
  ),
);

const npmCommands = commandsIn(NPM).map((f) => {
  const [, script = '', options = ''] = /^npm (?:run )?([\w:-]+)(?:\s+--\s*(.*))?$/.exec(f.text) ?? [];
  return { ...f, script, options: asTyped(options) };
});

describe('the npm commands the documents show', () => {
  it.each(npmCommands.map((c) => [`${c.document}: ${c.text}`, c.script] as const))(
    '%s names a script of package.json',
    (_, script) => {
      expect(SCRIPTS.has(script), `npm run ${script}`).toBe(true);
    },
  );

  // Each distinct command line once: the script's own parser reads it, then --help stops it.
  const withOptions = [
    ...new Map(
      npmCommands
        .filter((c) => c.options.length > 0 && SCRIPTS.has(c.script))
        .map((c) => [`${c.script} ${c.options.join(' ')}`, c] as const),
    ).values(),
  ];
  it.each(withOptions.map((c) => [`npm run ${c.script} -- ${c.options.join(' ')}`, c] as const))(
    '%s parses',
    (_, command) => {
      const result = spawnSync(
        'npm',
        ['run', '--silent', command.script, '--', ...command.options, '--help'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      );
      expect(result.status, `${command.document}: ${result.stderr}`).toBe(0);
    },
    60_000,
  );
});
