/**
 * Runs a function's bundled handler the way Lambda does: a pool of execution environments
 * ("containers", here worker threads) that each import the bundle once and serve one invocation
 * at a time, with the function's environment, its own /tmp, and its timeout enforced.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { LocalFunctionSpec } from './provision.js';

export interface InvocationResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly name: string; readonly message: string; readonly stack?: string };
  readonly durationMs: number;
  readonly coldStart: boolean;
  readonly initMs?: number;
}

export interface LocalFunctionOptions {
  readonly cdkOutDir: string;
  /** Each container gets a folder under here as its TMPDIR (Lambda's /tmp). */
  readonly scratchDir: string;
  /** Appended to the function's environment from the template (endpoint, credentials, profile). */
  readonly extraEnvironment: { readonly [name: string]: string };
  readonly logFile: string;
  /** Called for every line the function writes (logs and EMF metrics). */
  readonly onLogLine?: (functionLogicalId: string, line: string) => void;
  /** Called after every invocation, as Lambda would count it in its own metrics. */
  readonly onInvocation?: (functionLogicalId: string, result: InvocationResult) => void;
  readonly region: string;
  readonly accountId: string;
}

interface Container {
  readonly id: number;
  readonly worker: Worker;
  readonly tmpDir: string;
  readonly ready: Promise<number>;
  busy: boolean;
  invocations: number;
  /** The event of the invocation running now. */
  event?: unknown;
}

/** Kills processes (a browser, say) a container started, found by its private TMPDIR in their command line. */
function killProcessesUsing(path: string): void {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (commandLine.includes(path) && Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // the process ended, or is not ours to read
    }
  }
}

export class LocalFunction {
  private readonly containers: Container[] = [];
  private nextId = 1;
  private readonly log: WriteStream;
  private stopped = false;
  readonly stats = { coldStarts: 0, invocations: 0, timeouts: 0, crashes: 0, initMs: [] as number[] };

  constructor(
    readonly spec: LocalFunctionSpec,
    private readonly options: LocalFunctionOptions,
  ) {
    mkdirSync(join(options.logFile, '..'), { recursive: true });
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  get name(): string {
    return this.spec.logicalId;
  }

  private handlerLocation(): { file: string; exportName: string } {
    const [file, exportName] = this.spec.handler.split('.');
    if (file === undefined || exportName === undefined)
      throw new Error(`unsupported handler ${this.spec.handler}`);
    return { file: join(this.options.cdkOutDir, this.spec.assetPath, `${file}.mjs`), exportName };
  }

  private startContainer(): Container {
    const id = this.nextId++;
    const tmpDir = join(this.options.scratchDir, `${this.spec.logicalId}-${id}-${randomUUID().slice(0, 8)}`);
    mkdirSync(tmpDir, { recursive: true });
    const { file, exportName } = this.handlerLocation();
    const worker = new Worker(new URL('./lambda-container.mjs', import.meta.url), {
      workerData: {
        handlerFile: file,
        handlerName: exportName,
        functionName: this.spec.name,
        memorySize: this.spec.memorySize,
      },
      env: {
        ...process.env,
        ...this.spec.environment,
        ...this.options.extraEnvironment,
        TMPDIR: tmpDir,
        AWS_LAMBDA_FUNCTION_NAME: this.spec.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.spec.memorySize),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_REGION: this.options.region,
        AWS_DEFAULT_REGION: this.options.region,
      },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(256, this.spec.memorySize) },
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.log.write(`[${this.spec.logicalId}#${id}] ${line}\n`);
        this.options.onLogLine?.(this.spec.logicalId, line);
      });
    }
    const ready = new Promise<number>((resolve, reject) => {
      const onMessage = (message: { type: string; initMs?: number; error?: { message: string } }) => {
        if (message.type === 'ready') {
          worker.off('message', onMessage);
          resolve(message.initMs ?? 0);
        } else if (message.type === 'init-error') {
          worker.off('message', onMessage);
          reject(new Error(`${this.spec.logicalId} failed to initialise: ${message.error?.message}`));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`${this.spec.logicalId} container exited (${code}) during init`)),
      );
    });
    // An unhandled failure after init is reported through the invocation that is running.
    ready.catch(() => undefined);
    const container: Container = { id, worker, tmpDir, ready, busy: false, invocations: 0 };
    this.containers.push(container);
    this.stats.coldStarts += 1;
    return container;
  }

  private discard(container: Container): void {
    const index = this.containers.indexOf(container);
    if (index !== -1) this.containers.splice(index, 1);
    void container.worker.terminate().finally(() => {
      killProcessesUsing(container.tmpDir);
      rmSync(container.tmpDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    });
  }

  /** Invokes the handler with `event` in an idle container, starting one when all are busy. */
  async invoke(event: unknown): Promise<InvocationResult> {
    if (this.stopped) throw new Error(`${this.spec.logicalId} is stopped`);
    const started = Date.now();
    let container = this.containers.find((c) => !c.busy);
    const coldStart = container === undefined;
    container ??= this.startContainer();
    container.busy = true;
    this.stats.invocations += 1;
    let initMs: number | undefined;
    try {
      initMs = await container.ready;
      if (coldStart) this.stats.initMs.push(initMs);
    } catch (error) {
      this.discard(container);
      const failed: InvocationResult = {
        ok: false,
        error: { name: 'Runtime.InitError', message: (error as Error).message },
        durationMs: Date.now() - started,
        coldStart,
      };
      this.options.onInvocation?.(this.spec.logicalId, failed);
      return failed;
    }
    const active = container;
    active.event = event;
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const id = randomUUID();
    const result = await new Promise<InvocationResult>((resolve) => {
      const finish = (value: Omit<InvocationResult, 'durationMs' | 'coldStart' | 'initMs'>) => {
        clearTimeout(timer);
        active.worker.off('message', onMessage);
        active.worker.off('exit', onExit);
        resolve({ ...value, durationMs: Date.now() - started, coldStart, ...(coldStart ? { initMs } : {}) });
      };
      const onMessage = (message: {
        type: string;
        id?: string;
        ok?: boolean;
        value?: unknown;
        error?: InvocationResult['error'];
      }) => {
        if (message.type !== 'result' || message.id !== id) return;
        finish(
          message.ok === true ? { ok: true, value: message.value } : { ok: false, error: message.error },
        );
      };
      const onExit = (code: number) =>
        finish({
          ok: false,
          error: { name: 'Runtime.ExitError', message: `container exited with code ${code}` },
        });
      const timer = setTimeout(() => {
        this.stats.timeouts += 1;
        finish({
          ok: false,
          error: {
            name: 'Sandbox.Timedout',
            message: `Task timed out after ${this.spec.timeoutSeconds}.00 seconds`,
          },
        });
      }, timeoutMs);
      active.worker.on('message', onMessage);
      active.worker.once('exit', onExit);
      active.worker.postMessage({
        type: 'invoke',
        id,
        event,
        requestId: id,
        deadline: Date.now() + timeoutMs,
        functionArn: `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${this.spec.name}`,
      });
    });
    active.invocations += 1;
    active.event = undefined;
    this.options.onInvocation?.(this.spec.logicalId, result);
    if (
      !result.ok &&
      (result.error?.name === 'Sandbox.Timedout' || result.error?.name === 'Runtime.ExitError')
    ) {
      // Lambda throws away an environment whose invocation timed out or crashed.
      this.discard(active);
    } else {
      active.busy = false;
    }
    return result;
  }

  /**
   * Kills, at once, every container whose running invocation's event matches: the process dies
   * mid-invocation, as when Lambda's host fails or the function runs out of memory. The
   * invocation fails with Runtime.ExitError and the container is thrown away, so the event
   * source mapping deletes nothing and the messages come back after their visibility timeout.
   * Returns how many containers it killed.
   */
  crashContainersRunning(matches: (event: unknown) => boolean): Promise<number> {
    const doomed = this.containers.filter((c) => c.busy && c.event !== undefined && matches(c.event));
    this.stats.crashes += doomed.length;
    return Promise.all(doomed.map((c) => c.worker.terminate())).then(() => doomed.length);
  }

  /** How many containers are alive (warm or busy). */
  get containerCount(): number {
    return this.containers.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const containers = this.containers.splice(0);
    await Promise.all(
      containers.map(async (container) => {
        const exited = new Promise<void>((resolve) => container.worker.once('exit', () => resolve()));
        container.worker.postMessage({ type: 'shutdown' });
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        await container.worker.terminate();
        killProcessesUsing(container.tmpDir);
        rmSync(container.tmpDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      }),
    );
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}
