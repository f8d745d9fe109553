/**
 * What the synthesized stacks guarantee about collection: no local-profile allowance in any
 * deployed function, a login secret the browser collector finds by name, a job watchdog inside
 * the function timeout, and a synth that refuses a retry budget too slow for its source's SLA.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loginSecretName } from '../../functions/core/resource-names.js';
import { credentialShapeOf, defineSource } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';
import { sources } from '../../sources/registry.js';
import { type SynthesizedSluice, sluiceApp, synthesizeSluice } from './sluice-template.js';

let sluice: SynthesizedSluice;
/** Every template of the app. */
let templates: Template[];

beforeAll(() => {
  sluice = synthesizeSluice();
  templates = sluice.stacks.map((s) => s.template);
});

type Resources = { [id: string]: { Properties?: { [key: string]: unknown } } };

function functionEnvironments(): [string, { [name: string]: unknown }][] {
  return templates.flatMap((template) => {
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    return Object.entries(functions).map(([id, fn]): [string, { [name: string]: unknown }] => {
      const environment = (
        fn.Properties?.Environment as { Variables?: { [name: string]: unknown } } | undefined
      )?.Variables;
      return [id, environment ?? {}];
    });
  });
}

describe('the deployed stack contains no local allowance', () => {
  it.each(['SLUICE_ORIGIN_OVERRIDES', 'SLUICE_TIME_SCALE', 'SLUICE_CHROMIUM_EXECUTABLE', 'AWS_ENDPOINT_URL'])(
    'no function has %s in its environment',
    (name) => {
      for (const [id, environment] of functionEnvironments()) {
        expect(Object.keys(environment), id).not.toContain(name);
      }
    },
  );

  it('no function environment names a loopback address or the demo site', () => {
    for (const [id, environment] of functionEnvironments()) {
      expect(JSON.stringify(environment), id).not.toMatch(/127\.0\.0\.1|localhost|\[::1\]/);
    }
  });
});

describe('login and token secrets', () => {
  // Every source that signs in — a portal, an API with a token, a site with a login form.
  const signingIn = sources.filter((s) => credentialShapeOf(s) !== undefined);
  const generated = {
    login: { SecretStringTemplate: '{"username":"sluice"}', GenerateStringKey: 'password' },
    token: { SecretStringTemplate: '{}', GenerateStringKey: 'token' },
  };

  it.each(signingIn.map((s) => [s.name, credentialShapeOf(s) ?? 'login'] as const))(
    '%s: its %s lives in a Secrets Manager secret named after it, kept but for a failed first deploy',
    (name, shape) => {
      const { template } = sluice.stackOf(name);

      template.hasResource('AWS::SecretsManager::Secret', {
        // Kept when removed; deleted when the deploy that made it fails, so the name is free again.
        DeletionPolicy: 'RetainExceptOnCreate',
        Properties: {
          Name: loginSecretName('Sluice', name),
          GenerateSecretString: generated[shape],
          Tags: Match.arrayWith([
            { Key: 'sluice:role', Value: 'credentials' },
            { Key: 'sluice:source', Value: name },
          ]),
        },
      });
    },
  );

  // Who may read them is in the least-privilege matrix (least-privilege.test.ts).
  it('are found by the collectors by name: one per source that signs in, no environment lists one', () => {
    expect(signingIn.length).toBeGreaterThan(0);
    expect(
      sluice.stacks.flatMap(({ template }) =>
        Object.keys(template.findResources('AWS::SecretsManager::Secret')),
      ),
    ).toHaveLength(signingIn.length);
    for (const [id, environment] of functionEnvironments()) {
      expect(JSON.stringify(environment), id).not.toMatch(/SecretsManager|secret|CREDENTIALS/i);
    }
  });
});

describe('browser jobs', () => {
  it('end on their own watchdog before the function times out', () => {
    const browser = Object.values(
      sluice.stackOf('demo-portal').template.findResources('AWS::Lambda::Function', {
        Properties: { Description: 'Sluice collector: headless Chromium' },
      }) as Resources,
    );
    expect(browser).toHaveLength(1);
    const [properties = {}] = browser.map((fn) => fn.Properties ?? {});
    const timeout = Number(properties.Timeout);
    const variables = z
      .object({ Variables: z.record(z.string(), z.unknown()) })
      .parse(properties.Environment).Variables;

    expect(Number(variables.JOB_TIMEOUT_MS)).toBeLessThan(timeout * 1000);
    expect(Number(variables.NAVIGATION_TIMEOUT_MS)).toBeLessThan(Number(variables.JOB_TIMEOUT_MS));
  });
});

describe('retry budgets', () => {
  it('refuses to synthesize a budget that cannot surface a persistent failure within half the SLA', () => {
    const impatient = defineSource({ ...demoCatalog, name: 'impatient', freshnessSlaMinutes: 60 });
    const { app } = sluiceApp({ extraSources: [impatient] });

    expect(() => app.synth()).toThrow(
      /source impatient: its retry budget cannot surface a persistent failure within half its 60-minute freshness SLA \(1800 s\): worst case 6000 s/,
    );
  });

  it('synthesizes the same source once its budget fits', () => {
    const patient = defineSource({
      ...demoCatalog,
      name: 'patient',
      freshnessSlaMinutes: 60,
      retry: { delaysSeconds: [30, 120, 300], maxRetryAfterSeconds: 120 },
    });
    const { app } = sluiceApp({ extraSources: [patient] });

    expect(() => app.synth()).not.toThrow();
  });
});
