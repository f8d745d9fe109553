import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactError, redactSecrets, secretShapes } from '../../functions/core/secret-redaction.js';

describe('redactError', () => {
  it('redacts the message and stack of an error and of each of its causes', () => {
    const secret = 'Hunter2-Error-77d1';
    const cause = new Error(`portal said: wrong password ${secret}`);
    const error = new Error(`sign-in failed after typing ${secret}`, { cause });
    expect(redactError(error, [secret])).toBe(error);
    for (const e of [error, cause]) {
      expect(e.message).toContain(REDACTED);
      expect(`${e.message}\n${e.stack}`).not.toContain(secret);
    }
  });

  it('leaves an error alone when there is no secret, and what is not an Error as it is', () => {
    const error = new Error('plain');
    expect(redactError(error, [])).toBe(error);
    expect(error.message).toBe('plain');
    expect(redactError('a string with Hunter2', ['Hunter2'])).toBe('a string with Hunter2');
  });
});

describe('redactSecrets', () => {
  it('redacts a password the way Playwright quotes it in a call log', () => {
    const password = 'Canary-Pasted-5e2b90aa\n';
    const log = `page.fill: Timeout\nCall log:\n  - fill("Canary-Pasted-5e2b90aa\\n")`;
    expect(redactSecrets(log, [password])).toBe(`page.fill: Timeout\nCall log:\n  - fill("${REDACTED}")`);
  });

  it('redacts each line of a multi-line secret when the lines turn up apart', () => {
    const secret = 'first-line-4b8d\nsecond-line-e17c';
    const text = 'typing first-line-4b8d\n  - and then second-line-e17c';
    const redacted = redactSecrets(text, [secret]);
    expect(redacted).not.toContain('first-line-4b8d');
    expect(redacted).not.toContain('second-line-e17c');
  });

  it('redacts URL-encoded, form-encoded and HTML-escaped forms', () => {
    const secret = 'p@ss w&rd<"1">';
    for (const form of [
      encodeURIComponent(secret),
      'p%40ss+w%26rd%3C%221%22%3E',
      'p@ss w&amp;rd&lt;&quot;1&quot;&gt;',
    ]) {
      expect(redactSecrets(`body=${form};`, [secret])).toBe(`body=${REDACTED};`);
    }
  });

  it('leaves short lines of a secret alone, so ordinary words survive', () => {
    expect(secretShapes('ab\nlong-enough-line')).not.toContain('ab');
    expect(redactSecrets('ab cd', ['ab\nlong-enough-line'])).toBe('ab cd');
  });

  it('leaves text alone when there is no secret', () => {
    expect(redactSecrets('nothing to hide', [])).toBe('nothing to hide');
    expect(redactSecrets('nothing to hide', [''])).toBe('nothing to hide');
  });

  it('never lets a secret through in any encoding, however it is written and whatever surrounds it', () => {
    const secretChar = fc.constantFrom(...'abcXYZ019-_!@ &<>"\'\\/+%€\n'.split(''));
    const secret = fc
      .array(secretChar, { minLength: 8, maxLength: 24 })
      .map((chars) => chars.join(''))
      .filter((s) => s.trim().length >= 8);
    // What to write: the whole secret, or one line of it (lines of 4+ characters are secrets too).
    const written = secret.chain((s) =>
      fc.constantFrom(s, ...linesOf(s)).map((part) => ({ secret: s, part })),
    );
    fc.assert(
      fc.property(
        written,
        fc.constantFrom(...ENCODINGS),
        fc.infiniteStream(fc.nat()),
        fc.string(),
        fc.string(),
        ({ secret: s, part }, encoding, choices, before, after) => {
          const picks = choices[Symbol.iterator]();
          const encoded = encoding.encode(part, () => picks.next().value ?? 0);

          const redacted = redactSecrets(`${before}${encoded}${after}`, [s]);

          for (const view of decodedViews(redacted)) {
            for (const needle of [s, ...linesOf(s)]) expect(view).not.toContain(needle);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---- The test's own oracle: how text can carry a secret, written from the formats, not the code.

/** The lines of a secret that are secrets on their own: trimmed, four characters or more. */
function linesOf(secret: string): string[] {
  return secret
    .split(/\r\n|\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 4 && line !== secret);
}

const hex = (n: number, width: number, pick: () => number) => {
  const digits = n.toString(16).padStart(width, '0');
  return pick() % 2 === 0 ? digits.toUpperCase() : digits.toLowerCase();
};

/** Percent-encodes one character's UTF-8 bytes. */
const percent = (c: string, pick: () => number) =>
  [...Buffer.from(c, 'utf8')].map((byte) => `%${hex(byte, 2, pick)}`).join('');

const HTML_NAMED: { readonly [c: string]: string } = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Each way text carries a string, choosing per character among the spellings the format allows. */
const ENCODINGS: readonly { readonly name: string; encode(text: string, pick: () => number): string }[] = [
  { name: 'as is', encode: (text) => text },
  {
    // A JSON or JavaScript string literal's content.
    name: 'JSON string',
    encode: (text, pick) =>
      [...text]
        .map((c) => {
          const code = c.charCodeAt(0);
          const escaped: { [c: string]: string } = {
            '"': '\\"',
            '\\': '\\\\',
            '\n': '\\n',
            '\r': '\\r',
            '\t': '\\t',
          };
          if (escaped[c] !== undefined) return pick() % 3 === 0 ? `\\u${hex(code, 4, pick)}` : escaped[c];
          if (code < 0x20 || pick() % 4 === 0)
            return [...c].map((u) => `\\u${hex(u.charCodeAt(0), 4, pick)}`).join('');
          return c;
        })
        .join(''),
  },
  {
    name: 'URL-encoded',
    encode: (text, pick) =>
      [...text]
        .map((c) => (/[A-Za-z0-9\-_.!~*'()]/.test(c) && pick() % 3 !== 0 ? c : percent(c, pick)))
        .join(''),
  },
  {
    name: 'form-encoded',
    encode: (text, pick) =>
      [...text]
        .map((c) => (c === ' ' ? '+' : /[A-Za-z0-9\-_.*]/.test(c) && pick() % 3 !== 0 ? c : percent(c, pick)))
        .join(''),
  },
  {
    name: 'HTML character references',
    encode: (text, pick) =>
      [...text]
        .map((c) => {
          const code = c.codePointAt(0) ?? 0;
          const must = c === '&' || c === '<';
          switch (pick() % (must ? 3 : 4)) {
            case 0:
              return `&#${code};`;
            case 1:
              return `&#x${hex(code, 1, pick)};`;
            case 2:
              return HTML_NAMED[c] ?? `&#${code};`;
            default:
              return c;
          }
        })
        .join(''),
  },
];

/** The text as each format would read it back: any of them showing the secret is a leak. */
function decodedViews(text: string): string[] {
  const html = text.replace(/&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));/g, (_, dec, hx, name) =>
    dec !== undefined
      ? String.fromCodePoint(Number(dec))
      : hx !== undefined
        ? String.fromCodePoint(Number.parseInt(hx, 16))
        : (({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as { [n: string]: string })[name] ?? ''),
  );
  const bytes = (run: string) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8');
  const url = text.replace(/(?:%[0-9a-fA-F]{2})+/g, bytes);
  const form = text.replace(/\+/g, ' ').replace(/(?:%[0-9a-fA-F]{2})+/g, bytes);
  const json = text.replace(/\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g, (_, code, c) =>
    code !== undefined
      ? String.fromCharCode(Number.parseInt(code, 16))
      : ((
          { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as {
            [c: string]: string;
          }
        )[c] ?? ''),
  );
  return [text, html, url, form, json];
}
