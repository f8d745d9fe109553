/**
 * Portal credentials from Secrets Manager (SDK mocked) through Powertools' SecretsProvider: read
 * once per few minutes per container, read again at once after forget(), never echoed in an
 * error. Against moto's Secrets Manager: test/integration/collection-credentials.test.ts.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretsManagerCredentials } from '../../functions/adapters/source-credentials.js';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const mock = mockClient(client);
const SECRET = 'Sluice/demo-portal/login';
const secretOf = (source: string) => `Sluice/${source}/login`;

beforeEach(() => {
  mock.reset();
  // Powertools' cache reads the clock through Date.
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-27T08:00:00Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SecretsManagerCredentials', () => {
  it("reads the source's secret and reuses it for five minutes", async () => {
    mock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: '{"username":"sluice","password":"s3cret-value"}' });
    const store = new SecretsManagerCredentials(client, secretOf);

    const first = await store.get('demo-portal');
    vi.advanceTimersByTime(4 * 60 * 1000);
    await store.get('demo-portal');
    vi.advanceTimersByTime(2 * 60 * 1000);
    await store.get('demo-portal');

    expect(first).toEqual({ username: 'sluice', password: 's3cret-value' });
    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      SECRET,
      SECRET,
    ]);
  });

  it('reads again after forget', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });
    const store = new SecretsManagerCredentials(client, secretOf);

    await store.get('demo-portal');
    store.forget('demo-portal');
    await store.get('demo-portal');

    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads a value it refused once more on the next get, so a fixed secret is used at once', async () => {
    mock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"username":"u"}' })
      .resolves({ SecretString: '{"username":"u","password":"p"}' });
    const store = new SecretsManagerCredentials(client, secretOf);

    await expect(store.get('demo-portal')).rejects.toThrow('lacks a non-empty password');
    await expect(store.get('demo-portal')).resolves.toEqual({ username: 'u', password: 'p' });
  });

  it("throws the SDK's own error when Secrets Manager cannot be read, so it classifies as an AWS failure", async () => {
    const denied = Object.assign(new Error('User is not authorized to perform GetSecretValue'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    mock.on(GetSecretValueCommand).rejects(denied);
    const store = new SecretsManagerCredentials(client, secretOf);

    await expect(store.get('demo-portal')).rejects.toBe(denied);
  });

  it('says which field is missing without showing the value', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","pass":"leaked-if-shown"}' });
    const store = new SecretsManagerCredentials(client, secretOf);

    const error = await store.get('demo-portal').catch((e: Error) => e);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('the secret for demo-portal lacks a non-empty password');
    expect((error as Error).message).not.toContain('leaked-if-shown');
  });

  it('refuses a secret that is not JSON without showing it', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: 'plain-password-value' });
    const store = new SecretsManagerCredentials(client, secretOf);

    await expect(store.get('demo-portal')).rejects.toThrow(/^the secret for demo-portal is not JSON/);
    await expect(store.get('demo-portal')).rejects.not.toThrow(/plain-password-value/);
  });

  it("reads each source's own secret, by the name the stack gives it", async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });
    const store = new SecretsManagerCredentials(client, secretOf);

    await store.get('demo-portal');
    await store.get('acme-portal');

    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      'Sluice/demo-portal/login',
      'Sluice/acme-portal/login',
    ]);
  });
});
