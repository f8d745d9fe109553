/**
 * Vitest setup file: keeps function logs out of the test output unless a test fails.
 *
 * Powertools' logger and metrics write their JSON lines straight to process.stdout and stderr,
 * past vitest's console capture, so every handler run in a test printed them. Here each such
 * line goes to the console instead, where vitest keeps it with the test that wrote it and shows
 * it only when that test fails (`silent: 'passed-only'` in vitest.config.ts). Everything else
 * is written as before. A test that reads function output spies on process.stdout/stderr itself
 * and still sees every line.
 */

/** A Powertools log line (`{"level":...`) or an EMF metrics document (`{"_aws":...`). */
const FUNCTION_OUTPUT = /^\{"(?:level|_aws)":/;
const WRAPPED = Symbol.for('sluice.functionLogs');

type Write = NodeJS.WriteStream['write'];

function routeToConsole(stream: NodeJS.WriteStream, toConsole: (line: string) => void): void {
  const marked = stream as NodeJS.WriteStream & { [WRAPPED]?: true };
  if (marked[WRAPPED]) return;
  marked[WRAPPED] = true;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let routing = false;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : undefined;
    // `routing` guards against a console that writes to this very stream.
    if (text === undefined || routing || !FUNCTION_OUTPUT.test(text)) return write(chunk, ...rest);
    routing = true;
    try {
      toConsole(text.replace(/\n$/, ''));
    } finally {
      routing = false;
    }
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as Write;
}

routeToConsole(process.stdout, (line) => console.log(line));
routeToConsole(process.stderr, (line) => console.error(line));
