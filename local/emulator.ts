/**
 * The local AWS emulator: moto's server mode on a free loopback port. Finds a Python with moto
 * (the project's own `.sluice/venv`, `SLUICE_MOTO_PYTHON`, or `python3`), and says exactly how to
 * install it when none has it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.js';

export const MOTO_REQUIREMENT = 'moto[server]>=5.2,<6';
const VENV_PYTHON = join(PROJECT_ROOT, '.sluice', 'venv', 'bin', 'python');

export class EmulatorMissingError extends Error {
  override readonly name = 'EmulatorMissingError';
}

export const MOTO_INSTALL_HELP = `Sluice runs locally on moto, the AWS emulator, in its server mode; no Python here has it.
Install it for your python3:
    python3 -m pip install '${MOTO_REQUIREMENT}'
or into a project-local virtualenv that Sluice finds on its own:
    python3 -m venv .sluice/venv && .sluice/venv/bin/pip install '${MOTO_REQUIREMENT}'
or point SLUICE_MOTO_PYTHON at a Python that has it.`;

export interface MotoPython {
  readonly python: string;
  readonly version: string;
}

/** Finds a Python interpreter that can import moto 5. */
export function findMotoPython(env: NodeJS.ProcessEnv = process.env): MotoPython {
  const candidates = [
    env.SLUICE_MOTO_PYTHON,
    existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined,
    'python3',
  ].filter((c): c is string => c !== undefined && c !== '');
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import moto, flask; print(moto.__version__)'], {
      encoding: 'utf8',
    });
    const version = probe.stdout?.trim();
    if (probe.status === 0 && version !== undefined && /^5\./.test(version)) return { python, version };
  }
  throw new EmulatorMissingError(MOTO_INSTALL_HELP);
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Emulator {
  readonly endpoint: string;
  readonly version: string;
  stop(): Promise<void>;
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited with code ${child.exitCode} while starting`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto did not answer at ${endpoint} within ${timeoutMs} ms`);
}

export interface StartEmulatorOptions {
  /** Where moto's own log goes. */
  readonly logFile: string;
}

/**
 * Starts `moto.server` with two corrections.
 *
 * moto serves requests on threads and its DynamoDB backend takes no lock, so two concurrent
 * conditional writes to one item can both pass their condition — which real DynamoDB never
 * allows, and which Sluice's claims and conditional upserts rely on. Serializing DynamoDB
 * requests (and nothing else: SQS long polls stay concurrent) restores the atomicity the real
 * service guarantees. S3's conditional PUT (\`If-None-Match: *\`, which keeps raw storage
 * append-only) has the same gap in moto — two simultaneous writes of one key both succeeded on a
 * loaded machine — and conditional PUTs are serialized the same way.
 *
 * moto's TransactWriteItems deep-copies every table it touches before each transaction, to roll
 * back on failure, and every copied item stays registered in moto's model tracker forever: with
 * a ledger of a few thousand items, a 1,000-job chaos run grew moto past 20 GB and each
 * transaction took longer than the last. The transaction now backs up only the items it names and
 * puts exactly those back when it is cancelled — the same all-or-nothing outcome.
 *
 * Two more for the change feed: moto's UpdateItem of a new item streams its bare key as an
 * INSERT before the finished item (DynamoDB streams one record), and its EventBridge compiled a
 * JSONPath grammar per path per event delivered to a target — over a second per event, which
 * held the change feed to about 90 events a minute. Both are corrected in the launcher.
 * moto's update-expression validator checks the SET/REMOVE/ADD clause counts once per nested
 * expression node, walking the whole tree each time: a quarter of every UpdateItem of a record
 * (31.2 → 21.8 ms an item, measured in-process). It checks the root once, which finds the same.
 * DynamoDB requests are serialized, so that time is every other writer's wait as well. Stream
 * reads take no part in that lock: they only read what writes appended, and reading 1,000
 * records held every writer up for up to a second. A request that took over a second, waiting
 * or working, is logged to moto.log as \`sluice: slow call <operation> waited … took …\`.
 * And one addition: moto has no PutCompositeAlarm, though its PutMetricAlarm already stores an
 * `AlarmRule` as a composite alarm, so the local environment can put the template's composite
 * alarms into CloudWatch like the others (local/provision-resources.ts).
 */
const MOTO_LAUNCHER = `
import copy
import sys
import threading
import time
import moto.server as server
import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table

class _TablesAreNotCopied:
    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

dynamodb_models.copy = _TablesAreNotCopied
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items

def transact_write_items(self, transact_items):
    saved = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = self.get_item(table.name, key)
            attrs = None if current is None else copy.deepcopy(current.to_json()["Attributes"])
            saved.append((table.name, key, attrs))
        except Exception:
            continue  # an invalid entry: the transaction itself refuses it below
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(saved):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise

dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
from moto.cloudwatch.responses import CloudWatchResponse
if not hasattr(CloudWatchResponse, "put_composite_alarm"):
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm

from moto.dynamodb.models.table import StreamShard
_stream_add = StreamShard.add

def stream_add(self, old, new):
    # UpdateItem of a new item puts its bare key first, which moto streams as an INSERT of its
    # own before the finished item's; DynamoDB streams only the finished item.
    keys = {self.table.hash_key_attr, self.table.range_key_attr}
    if old is None and new is not None and set(new.attrs) <= keys:
        return
    _stream_add(self, old, new)

StreamShard.add = stream_add

import functools
import jsonpath_ng.ext as jsonpath_ext
# EventBridge builds a JSONPath parser (a ply grammar) for each of 8 constant paths of every event
# it delivers to a target, ~0.15 s apiece: over a second per event. Each path is parsed once here.
jsonpath_ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ext.parse)

from moto.dynamodb.parsing import validators as dynamodb_validators

def _verify_action_counts_once(self, node, *args, **kwargs):
    # The root's clauses are all the expression's clauses: one check finds what the check of every
    # nested UpdateExpression node found, without walking the tree again for each of them.
    return self.verify_action_counts(node)

dynamodb_validators.ActionCountValidator.traverse = _verify_action_counts_once

_run_simple = server.run_simple

def run_simple(host, port, app, **options):
    dynamodb = threading.Lock()
    s3_conditional_puts = threading.Lock()

    def atomic_where_aws_is(environ, start_response):
        # Writes and reads of tables, one at a time; stream reads only read what writes appended.
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return timed(environ, dynamodb, app, start_response)
        if environ.get("REQUEST_METHOD") == "PUT" and "HTTP_IF_NONE_MATCH" in environ:
            return timed(environ, s3_conditional_puts, app, start_response)
        return timed(environ, None, app, start_response)

    _run_simple(host, port, atomic_where_aws_is, **options)

SLOW_CALL_SECONDS = 1.0

def timed(environ, lock, app, start_response):
    """Runs one request; logs a slow one with the time it waited for its lock and the time moto took."""
    asked = time.monotonic()
    if lock is not None:
        lock.acquire()
    try:
        started = time.monotonic()
        body = list(app(environ, start_response))
        done = time.monotonic()
    finally:
        if lock is not None:
            lock.release()
    if done - asked <= SLOW_CALL_SECONDS:
        return body
    target = environ.get("HTTP_X_AMZ_TARGET") or (
        environ.get("REQUEST_METHOD", "") + " " + environ.get("PATH_INFO", "/").split("/")[1]
    )
    # A long poll waits by design.
    if not target.endswith(".ReceiveMessage"):
        sys.stderr.write(
            "sluice: slow call %s waited %d ms, took %d ms\\n"
            % (target, (started - asked) * 1000, (done - started) * 1000)
        )
    return body

server.run_simple = run_simple
server.main()
`;

export async function startEmulator(options: StartEmulatorOptions): Promise<Emulator> {
  const { python, version } = findMotoPython();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  mkdirSync(join(options.logFile, '..'), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const child = spawn(python, ['-c', MOTO_LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', log, log],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  });
  try {
    await waitUntilReady(endpoint, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    endpoint,
    version,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
