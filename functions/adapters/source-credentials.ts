/**
 * Credentials for sources that sign in: read from Secrets Manager (never from a message, never
 * from a definition) through Powertools Parameters' cached SecretsProvider, reused for a few
 * minutes per container so a rotated secret is picked up. A value the portal refused is dropped
 * at once, so an operator who fixes the secret and requeues does not meet the old one again.
 * Nothing here logs a secret value; callers get it only to type it into a login form.
 */
import { GetParameterError } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { CredentialShape } from '../../sources/define.js';

/** What a source's secret holds (JSON) when it signs in with a login: a portal, basic auth, a form. */
export const SourceCredentialsSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });
export type SourceCredentials = z.infer<typeof SourceCredentialsSecret>;

/** What a source's secret holds (JSON) when it sends a bearer token or an API key. */
export const SourceTokenSecret = z.object({ token: z.string().min(1) });
export type SourceToken = z.infer<typeof SourceTokenSecret>;

/** The secret's JSON per credential shape (sources/define.ts credentialShapeOf). */
export const SECRET_SCHEMAS = { login: SourceCredentialsSecret, token: SourceTokenSecret } as const;
export type SecretOf<S extends CredentialShape> = z.infer<(typeof SECRET_SCHEMAS)[S]>;

/** The fields of each shape, in the order `sluice credentials set` asks for them; `true` = secret. */
export const SECRET_FIELDS: { readonly [S in CredentialShape]: readonly (readonly [string, boolean])[] } = {
  login: [
    ['username', false],
    ['password', true],
  ],
  token: [['token', true]],
};

export interface CredentialStore {
  /** The source's secret read as `shape`: a login (`{"username", "password"}`) or a token. */
  read<S extends CredentialShape>(source: string, shape: S): Promise<SecretOf<S>>;
  /** Drops a cached value, e.g. after the portal refused it: the next `get` reads the secret. */
  forget(source: string): void;
}

/** How long a secret value is reused before it is read again. */
const CACHE_SECONDS = 5 * 60;

export class SecretsManagerCredentials implements CredentialStore {
  private readonly provider: SecretsProvider;
  /** Sources whose cached value must not be used again (refused, or not a valid login). */
  private readonly stale = new Set<string>();

  constructor(
    client: SecretsManagerClient,
    /** The secret (name or ARN) holding a source's login. */
    private readonly secretIdOf: (source: string) => string,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  /** The source's login (`{"username", "password"}`). */
  get(source: string): Promise<SourceCredentials> {
    return this.read(source, 'login');
  }

  async read<S extends CredentialShape>(source: string, shape: S): Promise<SecretOf<S>> {
    const secretId = this.secretIdOf(source);
    let value: unknown;
    try {
      // Parsed here, not with Powertools' `json` transform: its error would quote the value.
      value = await this.provider.get(secretId, {
        maxAge: CACHE_SECONDS,
        forceFetch: this.stale.has(source),
      });
    } catch (error) {
      // The SDK's own error says what happened (throttled, denied, not found) and classifies as such.
      throw error instanceof GetParameterError && error.cause instanceof Error ? error.cause : error;
    }
    this.stale.delete(source);
    const parsed = parseSecret(source, value, shape);
    if (!parsed.success) {
      // A bad value stays cached by the provider: read it again once someone has fixed it.
      this.stale.add(source);
      throw new Error(parsed.problem);
    }
    return parsed.value;
  }

  forget(source: string): void {
    this.stale.add(source);
  }
}

/** Reads a secret's text as `shape`. Never echoes the value: says what is wrong with it, not what it is. */
export function parseSecret<S extends CredentialShape>(
  source: string,
  value: unknown,
  shape: S,
): { success: true; value: SecretOf<S> } | { success: false; problem: string } {
  const expected = `expected {${SECRET_FIELDS[shape].map(([field]) => `"${field}": ...`).join(', ')}}`;
  if (typeof value !== 'string')
    return { success: false, problem: `the secret for ${source} is not text; ${expected}` };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { success: false, problem: `the secret for ${source} is not JSON; ${expected}` };
  }
  const parsed = SECRET_SCHEMAS[shape].safeParse(json);
  if (parsed.success) return { success: true, value: parsed.data as SecretOf<S> };
  const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
  return { success: false, problem: `the secret for ${source} lacks a non-empty ${fields}` };
}
