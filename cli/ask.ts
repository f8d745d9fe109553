/**
 * Reading values someone types: a secret without echo from a terminal, or one value per line from
 * a pipe (`printf '%s\n' "$USER" "$PASS" | sluice credentials set ...`) for scripts and tests.
 */
import type { AskValue } from './commands/credentials.js';
import { CliError } from './target.js';

interface Input extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

interface Prompt {
  write(text: string): unknown;
}

/** From a terminal: asks on `prompt` (stderr), echoes nothing of a secret; Ctrl-C or Ctrl-D ends without a value. */
function fromTerminal(input: Input, prompt: Prompt): AskValue {
  return (field, secret) =>
    new Promise((resolve, reject) => {
      prompt.write(`${field}${secret ? ' (not shown)' : ''}: `);
      let value = '';
      input.setRawMode?.(true);
      input.resume();
      const done = (error?: Error) => {
        input.setRawMode?.(false);
        input.pause();
        input.removeListener('data', onData);
        prompt.write('\n');
        if (error) reject(error);
        else resolve(value);
      };
      const onData = (chunk: Buffer | string) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return done();
          if (char === '\u0003' || char === '\u0004')
            return done(new CliError('stopped; nothing was written', 1));
          if (char === '\u007f' || char === '\b') {
            if (value.length > 0) {
              value = [...value].slice(0, -1).join('');
              if (!secret) prompt.write('\b \b');
            }
            continue;
          }
          value += char;
          if (!secret) prompt.write(char);
        }
      };
      input.on('data', onData);
    });
}

/** From a pipe: the whole input, one value per line, in the order they are asked for. */
function fromPipe(input: Input): AskValue {
  let lines: Promise<string[]> | undefined;
  let next = 0;
  return async (field) => {
    lines ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer | string));
      const text = Buffer.concat(chunks).toString('utf8');
      return text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
    })();
    const value = (await lines)[next];
    next += 1;
    if (value === undefined)
      throw new CliError(`stdin ended before ${field}: give one value per line; nothing was written`, 2);
    return value;
  };
}

export function askFrom(input: Input, prompt: Prompt): AskValue {
  return input.isTTY === true ? fromTerminal(input, prompt) : fromPipe(input);
}
