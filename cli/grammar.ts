/**
 * What `sluice` accepts: every command, the options it takes and how many arguments. The one
 * parser of a command line — `runCli` uses it, and a test runs every `sluice ...` command the
 * runbooks and docs show through it, so a runbook cannot name a command or an option that does
 * not exist.
 */
import { parseArgs } from 'node:util';
import { CliError } from './target.js';

export const OPTIONS = {
  local: { type: 'boolean', default: false },
  'local-env': { type: 'string' },
  region: { type: 'string' },
  app: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  source: { type: 'string' },
  window: { type: 'string', default: '60' },
  limit: { type: 'string', default: '100' },
  all: { type: 'boolean', default: false },
  reason: { type: 'string' },
  note: { type: 'string' },
  by: { type: 'string' },
  status: { type: 'string', default: 'open' },
  state: { type: 'string' },
  'job-id': { type: 'string' },
  'trace-id': { type: 'string' },
  job: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  rate: { type: 'string' },
  fresh: { type: 'boolean', default: false },
  kind: { type: 'string' },
  login: { type: 'string' },
  origin: { type: 'string' },
  download: { type: 'boolean', default: false },
  owner: { type: 'string' },
} as const;
export type OptionName = keyof typeof OPTIONS;

/** Options every command takes: where it runs, the output format, help. */
const GLOBAL: readonly OptionName[] = ['local', 'local-env', 'region', 'app', 'json', 'help'];

export interface CommandSpec {
  /** The command's words, e.g. `['dlq', 'show']`. */
  readonly words: readonly string[];
  readonly options: readonly OptionName[];
  /** Arguments after the command's words. */
  readonly args: { readonly min: number; readonly max: number };
}

const any = Number.POSITIVE_INFINITY;

export const COMMANDS: readonly CommandSpec[] = [
  { words: ['status'], options: ['source', 'window'], args: { min: 0, max: 0 } },
  { words: ['job'], options: [], args: { min: 1, max: 1 } },
  { words: ['alarms'], options: ['state'], args: { min: 0, max: 0 } },
  { words: ['dlq', 'list'], options: ['limit'], args: { min: 0, max: 1 } },
  { words: ['dlq', 'show'], options: [], args: { min: 2, max: 2 } },
  { words: ['dlq', 'requeue'], options: ['all', 'by'], args: { min: 1, max: any } },
  { words: ['dlq', 'discard'], options: ['all', 'reason', 'by'], args: { min: 1, max: any } },
  { words: ['replay'], options: ['from', 'to', 'job', 'dry-run', 'rate', 'fresh'], args: { min: 1, max: 1 } },
  { words: ['changes'], options: ['source', 'limit'], args: { min: 0, max: 0 } },
  { words: ['tasks', 'list'], options: ['source', 'status'], args: { min: 0, max: 0 } },
  { words: ['tasks', 'resolve'], options: ['note', 'by'], args: { min: 1, max: 1 } },
  { words: ['enqueue'], options: ['job-id', 'trace-id'], args: { min: 1, max: 2 } },
  {
    words: ['new-source'],
    options: ['kind', 'login', 'origin', 'download', 'owner'],
    args: { min: 1, max: 1 },
  },
  { words: ['credentials', 'set'], options: [], args: { min: 1, max: 1 } },
];

type ParseConfig = {
  args: string[];
  options: typeof OPTIONS;
  allowPositionals: true;
  strict: true;
  tokens: true;
};
type Values = ReturnType<typeof parseArgs<ParseConfig>>['values'];

export interface CommandLine {
  /** Undefined for `sluice`, `sluice help` and `--help` alone. */
  readonly command: CommandSpec | undefined;
  readonly values: Values;
  /** The arguments after the command's words. */
  readonly args: readonly string[];
}

/** Parses a command line, refusing (exit code 2) an unknown command, an option the command does not take, or a wrong number of arguments. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed: ReturnType<typeof parseArgs<ParseConfig>>;
  try {
    parsed = parseArgs<ParseConfig>({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  const { values, positionals, tokens } = parsed;
  if (positionals.length === 0 || positionals[0] === 'help') return { command: undefined, values, args: [] };
  const command = COMMANDS.filter((c) => c.words.every((word, i) => positionals[i] === word)).sort(
    (a, b) => b.words.length - a.words.length,
  )[0];
  if (command === undefined) {
    const [first, second] = positionals;
    const family = COMMANDS.filter((c) => c.words[0] === first);
    throw new CliError(
      family.length > 0
        ? `unknown command ${JSON.stringify(`${first} ${second ?? ''}`.trim())}; ${first} takes ${family.map((c) => c.words.slice(1).join(' ')).join(', ')}`
        : `unknown command ${JSON.stringify(first)}`,
      2,
    );
  }
  const name = command.words.join(' ');
  const allowed = new Set<string>([...GLOBAL, ...command.options]);
  for (const token of tokens) {
    if (token.kind === 'option' && !allowed.has(token.name)) {
      throw new CliError(
        `${name} takes no --${token.name}; its options: ${command.options.map((o) => `--${o}`).join(', ') || 'none'}`,
        2,
      );
    }
  }
  const args = positionals.slice(command.words.length);
  if (args.length < command.args.min || args.length > command.args.max) {
    const wanted =
      command.args.min === command.args.max
        ? `${command.args.min}`
        : command.args.max === any
          ? `at least ${command.args.min}`
          : `${command.args.min} to ${command.args.max}`;
    throw new CliError(`${name} takes ${wanted} argument(s), got ${args.length}`, 2);
  }
  return { command, values, args };
}
