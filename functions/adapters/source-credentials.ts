/**
 * Credentials for sources that sign in: read from Secrets Manager (never from a message, never
 * from a definition), cached for a few minutes per container so a rotated secret is picked up.
 * Nothing here logs a secret value; callers get it only to type it into a login form.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

/** What a source's secret holds (JSON). */
export const SourceCredentialsSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });
export type SourceCredentials = z.infer<typeof SourceCredentialsSecret>;

export interface CredentialStore {
  get(source: string): Promise<SourceCredentials>;
  /** Drops a cached value, e.g. after the portal refused it. */
  forget(source: string): void;
}

/** How long a secret value is reused before it is read again. */
const CACHE_MS = 5 * 60 * 1000;

export class SecretsManagerCredentials implements CredentialStore {
  private readonly cache = new Map<string, { value: SourceCredentials; readAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    /** The secret (name or ARN) holding a source's login. */
    private readonly secretIdOf: (source: string) => string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(source: string): Promise<SourceCredentials> {
    const cached = this.cache.get(source);
    if (cached !== undefined && this.now() - cached.readAt < CACHE_MS) return cached.value;
    const answer = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretIdOf(source) }));
    let json: unknown;
    try {
      json = JSON.parse(answer.SecretString ?? '');
    } catch {
      // Never echo the value: say what is wrong with it, not what it is.
      throw new Error(`the secret for ${source} is not JSON; expected {"username": ..., "password": ...}`);
    }
    const parsed = SourceCredentialsSecret.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
      throw new Error(`the secret for ${source} lacks a non-empty ${fields}`);
    }
    this.cache.set(source, { value: parsed.data, readAt: this.now() });
    return parsed.data;
  }

  forget(source: string): void {
    this.cache.delete(source);
  }
}
