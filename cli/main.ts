/**
 * `sluice`: the operator's command line, against the deployed app (default AWS credentials) or
 * the local environment (`--local`). `runCli` is the whole program; `cli/sluice.mjs` only starts it.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_APP_NAME } from '../functions/core/resource-names.js';
import { LOCAL_ENV_FILE } from '../local/local-env-file.js';
import { askFrom } from './ask.js';
import {
  type AskValue,
  credentialShapeFor,
  renderCredentialsSet,
  setCredentials,
} from './commands/credentials.js';
import {
  discardDeadLetters,
  listDeadLetters,
  renderDeadLetter,
  renderListings,
  requeueDeadLetters,
  showDeadLetter,
} from './commands/dlq.js';
import { enqueueJob } from './commands/enqueue.js';
import { findJobs, renderJobs } from './commands/job.js';
import { nextSteps, scaffoldSource } from './commands/new-source.js';
import { collectStatus, renderStatus } from './commands/status.js';
import { listTasks, renderTasks, resolveTask } from './commands/tasks.js';
import { operatorName } from './operator-notes.js';
import { runReplay } from './replay-bridge.js';
import { awsTarget, CliError, explainAwsError, localTarget, type SluiceTarget } from './target.js';

export const USAGE = `usage: sluice [--local] <command> [options]

Where it runs
  (default)                 the deployed app "Sluice" (its core stack and every source stack,
                            tagged sluice:app=Sluice), found with the default AWS credentials
  --local                   the local environment of \`npm start -- --keep\` (.sluice/local-env.json)
  --region <r>, --app <name> (another deployment of Sluice), --local-env <file>

Commands
  status [--source <s>] [--window <minutes>] [--json]
                            each source's SLIs: success rate, attempts, latency, records, data age,
                            queue and DLQ depth, hand-off backlog; then the shared pipeline
  job <jobKey|traceId> [--json]
                            every attempt of a job, its errors, raw and snapshot keys, tasks, notes
  dlq list [<source>|transform] [--limit <n>]
  dlq show <source>|transform <messageId|jobKey>
  dlq requeue <source>|transform (<messageId|jobKey>... | --all) [--by <name>]
  dlq discard <source>|transform (<messageId|jobKey>... | --all) --reason "<why>" [--by <name>]
  replay <source> --from <yyyy-mm-dd> [--to <yyyy-mm-dd>] [--dry-run] [--rate <n>|max] [--fresh]
                            re-run transforms from raw storage, without fetching again;
                            --dry-run reports new/changed/unchanged/stale/invalid, writes nothing
  tasks list [--source <s>] [--status open|resolved]
  tasks resolve <taskId> --note "<what was decided>" [--by <name>]
  enqueue <source> ['<input JSON>'] [--job-id <id>] [--trace-id <id>]
                            a manual re-run: a new job with a fresh job ID (no input: {})

Your own sources
  new-source <name> --kind http|browser [--login form|bearer|basic] [--origin <url>]
             [--download] [--owner <team>]
                            a new source folder (definition, parser, sample, parser test),
                            registered, with its schema and workflow map: \`npm test\` passes
  credentials set <source>  the source's login or token into its secret <app>/<source>/login
                            (with --local: the local environment's); typed without echo, or
                            piped one value per line (username, password; or the token)

Exit codes: 0 done, 1 failed or nothing to act on, 2 wrong usage.`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Where `credentials set` reads values. @default the terminal without echo, or piped stdin */
  readonly ask?: AskValue;
}

const OPTIONS = {
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
  'job-id': { type: 'string' },
  'trace-id': { type: 'string' },
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

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new CliError(`--${name} must be a positive whole number, got ${text}`, 2);
  return value;
}

function day(name: string, text: string | undefined): string | undefined {
  if (text !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    throw new CliError(`--${name} must be a day like 2026-11-27, got ${text}`, 2);
  }
  return text;
}

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  connect: (options: {
    local: boolean;
    localEnv: string;
    region?: string;
    app?: string;
  }) => Promise<SluiceTarget> = (o) =>
    o.local
      ? localTarget(o.localEnv)
      : awsTarget({ ...(o.region ? { region: o.region } : {}), ...(o.app ? { appName: o.app } : {}) }),
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`sluice: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (command === undefined && !values.help ? io.stderr : io.stdout)(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }

  let target: SluiceTarget | undefined;
  const connected = async () => {
    target ??= await connect({
      local: values.local,
      localEnv: values['local-env'] ?? LOCAL_ENV_FILE,
      ...(values.region === undefined ? {} : { region: values.region }),
      ...(values.app === undefined ? {} : { app: values.app }),
    });
    return target;
  };
  const print = (text: string) => io.stdout(text);
  const by = operatorName(values.by);

  try {
    switch (command) {
      case 'new-source': {
        const options = {
          name: rest[0],
          kind: values.kind,
          login: values.login,
          origin: values.origin,
          download: values.download,
          owner: values.owner,
        };
        print(nextSteps(scaffoldSource(options), options));
        return 0;
      }
      case 'credentials': {
        const [action, source] = rest;
        if (action !== 'set')
          throw new CliError(`usage: sluice credentials set <source> (got ${action ?? 'nothing'})`, 2);
        credentialShapeFor(source);
        const connectedTarget = await connected();
        const done = await setCredentials(
          connectedTarget,
          source,
          io.ask ?? askFrom(process.stdin, process.stderr),
        );
        print(renderCredentialsSet(done, connectedTarget.description));
        return 0;
      }
      case 'status': {
        const windowMinutes = positiveInteger('window', values.window);
        const report = await collectStatus(await connected(), {
          windowMinutes,
          ...(values.source === undefined ? {} : { source: values.source }),
        });
        print(values.json ? JSON.stringify(report, null, 2) : renderStatus(report));
        return 0;
      }
      case 'job': {
        const [key] = rest;
        if (key === undefined) throw new CliError('usage: sluice job <jobKey|traceId>', 2);
        const jobs = await findJobs(await connected(), key);
        print(values.json ? JSON.stringify(jobs, null, 2) : renderJobs(jobs));
        return 0;
      }
      case 'dlq': {
        const [action, queue, ...ids] = rest;
        switch (action) {
          case 'list': {
            const listings = await listDeadLetters(
              await connected(),
              queue,
              positiveInteger('limit', values.limit),
            );
            print(values.json ? JSON.stringify(listings, null, 2) : renderListings(listings));
            return 0;
          }
          case 'show': {
            const [id] = ids;
            if (queue === undefined || id === undefined)
              throw new CliError('usage: sluice dlq show <source>|transform <messageId|jobKey>', 2);
            const letter = await showDeadLetter(await connected(), queue, id);
            print(values.json ? JSON.stringify(letter, null, 2) : renderDeadLetter(letter));
            return 0;
          }
          case 'requeue': {
            if (queue === undefined)
              throw new CliError('usage: sluice dlq requeue <source>|transform (<id>... | --all)', 2);
            const done = await requeueDeadLetters(await connected(), queue, { ids, all: values.all }, by);
            print(
              `requeued ${done.length} message(s) from the ${queue} DLQ to its queue:\n${done.map((l) => `  ${l.jobKey}  (${l.messageId}, was ${l.reason})`).join('\n')}\nfollow each with: sluice job <jobKey>`,
            );
            return 0;
          }
          case 'discard': {
            if (queue === undefined)
              throw new CliError(
                'usage: sluice dlq discard <source>|transform (<id>... | --all) --reason "<why>"',
                2,
              );
            const done = await discardDeadLetters(
              await connected(),
              queue,
              { ids, all: values.all },
              values.reason,
              by,
            );
            print(
              `discarded ${done.length} message(s) from the ${queue} DLQ:\n${done.map((l) => `  ${l.jobKey}  (${l.messageId}, was ${l.reason})`).join('\n')}`,
            );
            return 0;
          }
          default:
            throw new CliError(
              `usage: sluice dlq list|show|requeue|discard ... (got ${action ?? 'nothing'})`,
              2,
            );
        }
      }
      case 'replay': {
        const [source] = rest;
        const connectedTarget = await connected();
        const from = day('from', values.from);
        if (
          source === undefined ||
          !connectedTarget.resources.sourceQueues.has(source) ||
          from === undefined
        ) {
          throw new CliError(
            `usage: sluice replay <source> --from <day> [--to <day>] [--dry-run] [--rate <n>|max] [--fresh]; known sources: ${[...connectedTarget.resources.sourceQueues.keys()].join(', ')}`,
            2,
          );
        }
        return runReplay(
          connectedTarget,
          {
            source,
            from,
            to: day('to', values.to),
            dryRun: values['dry-run'],
            rate: values.rate,
            fresh: values.fresh,
          },
          { print, printError: io.stderr },
        );
      }
      case 'tasks': {
        const [action, taskId] = rest;
        if (action === 'list') {
          const tasks = await listTasks(await connected(), {
            status: values.status,
            ...(values.source === undefined ? {} : { source: values.source }),
          });
          print(values.json ? JSON.stringify(tasks, null, 2) : renderTasks(tasks, values.status));
          return 0;
        }
        if (action === 'resolve') {
          const task = await resolveTask(await connected(), taskId, values.note, by);
          print(
            `resolved ${task.taskId} (${task.source}, job ${task.jobKey}).\nTo run the job again: sluice enqueue ${task.source} '<input>' (the input is in: sluice job ${task.jobKey})`,
          );
          return 0;
        }
        throw new CliError(`usage: sluice tasks list|resolve ... (got ${action ?? 'nothing'})`, 2);
      }
      case 'enqueue': {
        const [source, input] = rest;
        const enqueued = await enqueueJob(await connected(), source, input, {
          ...(values['job-id'] === undefined ? {} : { jobId: values['job-id'] }),
          ...(values['trace-id'] === undefined ? {} : { traceId: values['trace-id'] }),
        });
        print(
          `enqueued a ${enqueued.source} job\n  job key   ${enqueued.jobKey}\n  trace ID  ${enqueued.traceId}\nfollow it with: sluice job ${enqueued.jobKey}`,
        );
        return 0;
      }
      default:
        throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`sluice: ${error.message}`);
      return error.exitCode;
    }
    const explained = explainAwsError(error, values.app ?? DEFAULT_APP_NAME, values.region);
    io.stderr(
      explained instanceof CliError
        ? `sluice: ${explained.message}`
        : `sluice: ${explained.name}: ${explained.message}`,
    );
    return 1;
  }
}
