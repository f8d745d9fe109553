import { describe, expect, it } from 'vitest';
import { isHtml, screenResponse } from '../../../../functions/core/response-screen.js';
import { DEFAULT_HANDOFF_SIGNS } from '../../../../sources/define.js';

const CAPTCHA_PAGE =
  '<!doctype html><html><head><title>Are you human?</title></head><body><main><div id="captcha" data-captcha="true">Type the letters you see</div></main></body></html>';
const rules = { handoffSigns: DEFAULT_HANDOFF_SIGNS };
const screen = (body: string, contentType: string | undefined) =>
  screenResponse({ body: Buffer.from(body), contentType }, rules);

describe('screenResponse', () => {
  it('hands off an HTML answer that shows a captcha, with the sign it found', () => {
    const verdict = screen(CAPTCHA_PAGE, 'text/html; charset=utf-8');

    expect(verdict).toEqual({ kind: 'hand-off', sign: DEFAULT_HANDOFF_SIGNS[0] });
  });

  it('finds the sign in any HTML answer, also one a JSON or CSV source got instead of its data', () => {
    expect(
      screen('<html><body><div class="g-recaptcha"></div></body></html>', 'application/xhtml+xml').kind,
    ).toBe('hand-off');
    expect(screen('<iframe src="https://challenges.example/captcha?x=1"></iframe>', 'TEXT/HTML').kind).toBe(
      'hand-off',
    );
  });

  it('lets a page without a sign through, even one that mentions captchas in its text', () => {
    expect(screen('<main data-ready="true"><p>We never show a captcha.</p></main>', 'text/html')).toEqual({
      kind: 'clear',
    });
  });

  it('never looks inside data that is not HTML', () => {
    expect(screen('{"captcha": true, "html": "<div id=\\"captcha\\"></div>"}', 'application/json').kind).toBe(
      'clear',
    );
    expect(screen('id,captcha\n1,<div data-captcha>', 'text/csv').kind).toBe('clear');
    expect(screen(CAPTCHA_PAGE, undefined).kind).toBe('clear');
  });

  it("uses the source's own signs, and none when it declares none", () => {
    const wall = { selector: 'form#sso-wall', reason: 'sso-required', message: 'sign in through SSO' };

    expect(
      screenResponse(
        { body: Buffer.from('<form id="sso-wall"></form>'), contentType: 'text/html' },
        { handoffSigns: [wall] },
      ),
    ).toEqual({ kind: 'hand-off', sign: wall });
    expect(
      screenResponse({ body: Buffer.from(CAPTCHA_PAGE), contentType: 'text/html' }, { handoffSigns: [] })
        .kind,
    ).toBe('clear');
  });

  it('knows an HTML content type by its media type alone', () => {
    expect([
      isHtml('text/html;charset=utf-8'),
      isHtml(' text/html'),
      isHtml('text/htmlx'),
      isHtml('text/plain'),
    ]).toEqual([true, true, false, false]);
  });
});
