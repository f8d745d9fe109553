/**
 * Per-step timings of one collection, taken from outside the collector: the browser, the raw
 * store and the ledger are wrapped, and each job runs inside its own AsyncLocalStorage context so
 * steps of concurrent jobs are not mixed. The collector's own code runs unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Browser } from 'playwright-core';
import type { CollectorLedger, RawStore } from './sluice-ports.js';
import { now } from './stats.js';

/** Step name → milliseconds spent in it by one job. */
export type StepTimings = Map<string, number>;

const current = new AsyncLocalStorage<StepTimings>();

export function withSteps<T>(steps: StepTimings, work: () => Promise<T>): Promise<T> {
  return current.run(steps, work);
}

export function addStep(name: string, ms: number): void {
  const steps = current.getStore();
  if (steps !== undefined) steps.set(name, (steps.get(name) ?? 0) + ms);
}

export async function timeStep<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = now();
  try {
    return await work();
  } finally {
    addStep(name, now() - started);
  }
}

type AnyFunction = (...args: unknown[]) => unknown;

/** A proxy of `target` whose listed async methods are timed as steps; `wrap` post-processes results. */
function timedMethods<T extends object>(
  target: T,
  steps: { readonly [method: string]: string },
  wrap: { readonly [method: string]: (result: unknown) => unknown } = {},
): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const method = value as AnyFunction;
      const step = typeof property === 'string' ? steps[property] : undefined;
      if (step === undefined) return method.bind(object);
      const post = typeof property === 'string' ? wrap[property] : undefined;
      return async (...args: unknown[]) => {
        const result = await timeStep(step, async () => method.apply(object, args));
        return post === undefined ? result : post(result);
      };
    },
  });
}

/** A what-if change to the collector's screenshot: other options, or none taken at all. */
export type ScreenshotChange = { readonly [option: string]: unknown } | 'skip';

/** Wraps `screenshot` so the collector's call runs with `change` applied. */
function changedScreenshot(page: object, change: ScreenshotChange): object {
  return new Proxy(page, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (property !== 'screenshot' || typeof value !== 'function') return value;
      const screenshot = value as AnyFunction;
      return async (options: { [option: string]: unknown } = {}) =>
        change === 'skip' ? Buffer.alloc(0) : screenshot.call(object, { ...options, ...change });
    },
  });
}

/**
 * The browser, with context creation, navigation, waiting, DOM capture and screenshot timed;
 * with `screenshot`, the collector's screenshot call is changed as a what-if.
 */
export function profiledBrowser(
  browser: Browser,
  changes: { readonly screenshot?: ScreenshotChange } = {},
): Browser {
  const page = (value: unknown) =>
    timedMethods(
      changes.screenshot === undefined
        ? (value as object)
        : changedScreenshot(value as object, changes.screenshot),
      {
        goto: 'navigate (goto, domcontentloaded)',
        waitForSelector: 'wait for ready selector',
        content: 'capture rendered DOM',
        screenshot: 'screenshot',
      },
    );
  const context = (value: unknown) =>
    timedMethods(
      value as object,
      { route: 'install egress route', newPage: 'new page', close: 'close context' },
      { newPage: page },
    );
  return timedMethods(browser, { newContext: 'new context' }, { newContext: context });
}

/** The raw store, with the artifact puts (parallel: first start to last end) and the manifest put timed. */
export function profiledRawStore(
  store: RawStore,
): RawStore & { readonly bytesPut: () => number; readonly objectsPut: () => number } {
  let bytes = 0;
  let objects = 0;
  const windows = new WeakMap<StepTimings, { start: number; inFlight: number }>();
  return {
    bytesPut: () => bytes,
    objectsPut: () => objects,
    get: (key) => store.get(key),
    async put(key, body, options) {
      bytes += body.byteLength;
      objects += 1;
      if (key.endsWith('/manifest.json'))
        return timeStep('S3 put manifest (last)', () => store.put(key, body, options));
      const steps = current.getStore();
      const window = steps === undefined ? undefined : (windows.get(steps) ?? { start: now(), inFlight: 0 });
      if (steps !== undefined && window !== undefined) {
        window.inFlight += 1;
        windows.set(steps, window);
      }
      try {
        return await store.put(key, body, options);
      } finally {
        if (steps !== undefined && window !== undefined && --window.inFlight === 0) {
          addStep('S3 put artifacts (parallel)', now() - window.start);
          windows.delete(steps);
        }
      }
    },
  };
}

export function profiledLedger(ledger: CollectorLedger): CollectorLedger {
  return {
    recordAttempt: (entry) => timeStep('ledger write', () => ledger.recordAttempt(entry)),
    history: (jobKey) => ledger.history(jobKey),
    claim: (request) => timeStep('ledger claim', () => ledger.claim(request)),
    release: (jobKey, owner) => ledger.release(jobKey, owner),
  };
}
