/**
 * What the synthesized stack guarantees about collection: no local-profile allowance in any
 * deployed function, a login secret the browser collector is told about, a job watchdog inside
 * the function timeout, and a synth that refuses a retry budget too slow for its source's SLA.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../../infra/app.js';
import { SluiceStack } from '../../infra/sluice-stack.js';
import { defineSource } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';
import { sources } from '../../sources/registry.js';

const cdkContext = z
  .object({ context: z.record(z.string(), z.unknown()) })
  .parse(JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'))).context;

/** No asset bundling: these tests read the template, not the bundles. */
function app(): App {
  return new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } });
}

let template: Template;

beforeAll(() => {
  const { stack } = buildApp(app());
  template = Template.fromStack(stack);
});

type Resources = { [id: string]: { Properties?: { [key: string]: unknown } } };

function functionEnvironments(): [string, { [name: string]: unknown }][] {
  const functions = template.findResources('AWS::Lambda::Function') as Resources;
  return Object.entries(functions).map(([id, fn]) => {
    const environment = (
      fn.Properties?.Environment as { Variables?: { [name: string]: unknown } } | undefined
    )?.Variables;
    return [id, environment ?? {}];
  });
}

function logicalIdOf(type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} with ${fragment} in its ID, found ${ids.join(', ')}`);
  return ids[0] as string;
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

describe('portal credentials', () => {
  it('live in a retained Secrets Manager secret per source that signs in, with a generated password', () => {
    const logins = sources.filter((s) => s.kind === 'browser' && s.login !== undefined);
    expect(logins.map((s) => s.name)).toEqual(['demo-portal']);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        GenerateSecretString: {
          SecretStringTemplate: '{"username":"sluice"}',
          GenerateStringKey: 'password',
        },
        Tags: Match.arrayWith([
          { Key: 'sluice:role', Value: 'credentials' },
          { Key: 'sluice:source', Value: 'demo-portal' },
        ]),
      },
    });
  });

  // Who may read them is in the least-privilege matrix (least-privilege.test.ts).
  it('reach the browser collector through SOURCE_CREDENTIALS', () => {
    const secretId = logicalIdOf('AWS::SecretsManager::Secret', 'DemoPortalCredentials');

    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Sluice collector: headless Chromium',
      Environment: {
        Variables: Match.objectLike({
          SOURCE_CREDENTIALS: { 'Fn::Join': ['', Match.arrayWith([{ Ref: secretId }])] },
        }),
      },
    });
  });
});

describe('browser jobs', () => {
  it('end on their own watchdog before the function times out', () => {
    const browser = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'Sluice collector: headless Chromium' },
    }) as Resources;
    const [properties = {}] = Object.values(browser).map((fn) => fn.Properties ?? {});
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
    const stack = new SluiceStack(app(), 'BudgetTooLong', {
      sources: [impatient],
      runbookBaseUrl: 'https://example.com/runbooks',
    });

    expect(() => Template.fromStack(stack)).toThrow(
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
    const stack = new SluiceStack(app(), 'BudgetFits', {
      sources: [patient],
      runbookBaseUrl: 'https://example.com/r',
    });

    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});
