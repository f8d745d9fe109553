/**
 * `sluice`: the operator's command line, against the deployed app (default AWS credentials) or
 * the local environment (`--local`). `runCli` is the whole program; `cli/sluice.mjs` only starts it.
 */
import { DEFAULT_APP_NAME } from '../functions/core/resource-names.js';
import { LOCAL_ENV_FILE } from '../local/local-env-file.js';
import { askFrom } from './ask.js';
import { collectAlarms, renderAlarms } from './commands/alarms.js';
import { listChanges, renderChanges } from './commands/changes.js';
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
import { parseCommandLine } from './grammar.js';
import { operatorName } from './operator-notes.js';
import { runReplay, runReplayOfJob } from './replay-bridge.js';
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
                            every attempt of a job, its errors, raw and snapshot keys, tasks, notes,
                            and the tree of follow-up jobs it started with each one's outcome
  dlq list [<source>|transform] [--limit <n>]
  dlq show <source>|transform <messageId|jobKey>
  dlq requeue <source>|transform (<messageId|jobKey>... | --all) [--by <name>]
  dlq discard <source>|transform (<messageId|jobKey>... | --all) --reason "<why>" [--by <name>]
  alarms [--state ALARM|OK|INSUFFICIENT_DATA|all]
                            the app's alarms, those not OK unless --state says otherwise: state,
                            since when, why, and the runbook (locally: as the environment evaluates them)
  replay <source> --from <yyyy-mm-dd> [--to <yyyy-mm-dd>] [--dry-run] [--rate <n>|max] [--fresh]
  replay <source> --job <jobKey> [--dry-run]
                            re-run transforms from raw storage, without fetching again: a range of
                            days, or every collection of one job; --dry-run reports
                            new/changed/unchanged/stale/invalid, writes nothing
  changes [--source <s>] [--limit <n>] [--json]
                            the RecordChanged events the change feed published (newest last):
                            version, meaningful, priority and what changed
  tasks list [--source <s>] [--status open|resolved]
                            open tasks with their evidence; resolved ones with who resolved them and why
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
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    io.stderr(`sluice: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, args: rest } = parsed;
  const command = parsed.command?.words.join(' ');
  if (values.help || command === undefined) {
    const asked = values.help || argv.includes('help');
    (asked ? io.stdout : io.stderr)(USAGE);
    return asked ? 0 : 2;
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
      case 'credentials set': {
        const [source] = rest;
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
        const [key = ''] = rest;
        const jobs = await findJobs(await connected(), key);
        // Follow-up keys are a string set in the ledger.
        const sets = (_key: string, v: unknown) => (v instanceof Set ? [...v] : v);
        print(values.json ? JSON.stringify(jobs, sets, 2) : renderJobs(jobs));
        return 0;
      }
      case 'alarms': {
        const report = await collectAlarms(await connected(), { state: values.state ?? 'not-ok' });
        print(values.json ? JSON.stringify(report, null, 2) : renderAlarms(report));
        return 0;
      }
      case 'dlq list': {
        const [queue] = rest;
        const listings = await listDeadLetters(
          await connected(),
          queue,
          positiveInteger('limit', values.limit),
        );
        print(values.json ? JSON.stringify(listings, null, 2) : renderListings(listings));
        return 0;
      }
      case 'dlq show': {
        const [queue = '', id = ''] = rest;
        const letter = await showDeadLetter(await connected(), queue, id);
        print(values.json ? JSON.stringify(letter, null, 2) : renderDeadLetter(letter));
        return 0;
      }
      case 'dlq requeue': {
        const [queue = '', ...ids] = rest;
        const done = await requeueDeadLetters(await connected(), queue, { ids, all: values.all }, by);
        print(
          `requeued ${done.length} message(s) from the ${queue} DLQ to its queue:\n${done.map((l) => `  ${l.jobKey}  (${l.messageId}, was ${l.reason})`).join('\n')}\nfollow each with: sluice job <jobKey>`,
        );
        return 0;
      }
      case 'dlq discard': {
        const [queue = '', ...ids] = rest;
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
      case 'replay': {
        const [source = ''] = rest;
        const connectedTarget = await connected();
        if (!connectedTarget.resources.sourceQueues.has(source)) {
          throw new CliError(
            `unknown source ${JSON.stringify(source)}; known sources: ${[...connectedTarget.resources.sourceQueues.keys()].join(', ')}`,
            2,
          );
        }
        const from = day('from', values.from);
        if ((from === undefined) === (values.job === undefined)) {
          throw new CliError(
            'usage: sluice replay <source> (--from <day> [--to <day>] [--rate <n>|max] [--fresh] | --job <jobKey>) [--dry-run]',
            2,
          );
        }
        if (values.job !== undefined) {
          return runReplayOfJob(
            connectedTarget,
            { source, jobKey: values.job, dryRun: values['dry-run'] },
            { print, printError: io.stderr },
          );
        }
        return runReplay(
          connectedTarget,
          {
            source,
            from: from as string,
            to: day('to', values.to),
            dryRun: values['dry-run'],
            rate: values.rate,
            fresh: values.fresh,
          },
          { print, printError: io.stderr },
        );
      }
      case 'changes': {
        const listing = await listChanges(await connected(), {
          limit: positiveInteger('limit', values.limit),
          ...(values.source === undefined ? {} : { source: values.source }),
        });
        print(values.json ? JSON.stringify(listing, null, 2) : renderChanges(listing, values.source));
        return 0;
      }
      case 'tasks list': {
        const tasks = await listTasks(await connected(), {
          status: values.status,
          ...(values.source === undefined ? {} : { source: values.source }),
        });
        print(values.json ? JSON.stringify(tasks, null, 2) : renderTasks(tasks, values.status));
        return 0;
      }
      case 'tasks resolve': {
        const [taskId] = rest;
        const task = await resolveTask(await connected(), taskId, values.note, by);
        print(
          `resolved ${task.taskId} (${task.source}, job ${task.jobKey}).\nTo run the job again: sluice enqueue ${task.source} '<input>' (the input is in: sluice job ${task.jobKey})`,
        );
        return 0;
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
