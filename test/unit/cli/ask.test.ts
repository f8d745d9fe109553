import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askFrom } from '../../../cli/ask.js';

/** A terminal: a stream that says it is a TTY and records raw mode, and what the prompt showed. */
function terminal() {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    raw: [] as boolean[],
    setRawMode(mode: boolean) {
      input.raw.push(mode);
      return input;
    },
  });
  let shown = '';
  const prompt = {
    write: (text: string) => {
      shown += text;
    },
  };
  return { input, prompt, shown: () => shown };
}

describe('askFrom a terminal', () => {
  it('shows what is typed of a plain value, nothing of a secret, and handles backspace', async () => {
    const { input, prompt, shown } = terminal();
    const ask = askFrom(input, prompt);

    const username = ask('username', false);
    input.write('opx\u007fs\r');
    expect(await username).toBe('ops');
    const password = ask('password', true);
    input.write('s3cr');
    input.write('et!\u007f\n');

    expect(await password).toBe('s3cret');
    expect(shown()).toBe('username: opx\b \bs\npassword (not shown): \n');
    expect(shown()).not.toContain('s3cr');
    expect(input.raw).toEqual([true, false, true, false]);
  });

  it('ends with nothing on Ctrl-C and leaves the terminal as it was', async () => {
    const { input, prompt } = terminal();
    const password = askFrom(input, prompt)('password', true);
    input.write('half\u0003');

    await expect(password).rejects.toThrow('stopped; nothing was written');
    expect(input.raw).toEqual([true, false]);
  });
});

describe('askFrom a pipe', () => {
  it('reads one value per line, in order, keeping spaces and non-ASCII', async () => {
    const input = new PassThrough();
    input.end('ops robot\r\npässwörd \n');
    const ask = askFrom(input, { write: () => true });

    expect(await ask('username', false)).toBe('ops robot');
    expect(await ask('password', true)).toBe('pässwörd ');
  });

  it('says which value the input ended before', async () => {
    const input = new PassThrough();
    input.end('only-one\n');
    const ask = askFrom(input, { write: () => true });

    await ask('username', false);
    await expect(ask('password', true)).rejects.toThrow('stdin ended before password');
  });
});
