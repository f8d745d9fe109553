import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, secretShapes } from '../../functions/core/secret-redaction.js';

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

  it('never lets any shape of a secret through, whatever surrounds it', () => {
    const secretChar = fc.constantFrom(...'abcXYZ019-_!@ &<>"\\\n'.split(''));
    const secret = fc
      .array(secretChar, { minLength: 8, maxLength: 24 })
      .map((chars) => chars.join(''))
      .filter((s) => s.trim().length >= 8);
    fc.assert(
      fc.property(secret, fc.string(), fc.string(), fc.nat(), (s, before, after, pick) => {
        const shapes = secretShapes(s);
        const shape = shapes[pick % shapes.length] as string;
        const redacted = redactSecrets(`${before}${shape}${after}`, [s]);
        for (const leaked of shapes) expect(redacted).not.toContain(leaked);
      }),
    );
  });
});
