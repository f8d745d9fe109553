/**
 * Environment configuration, parsed at cold start. A missing or malformed variable throws with
 * its name; nothing falls back to a made-up default.
 */
import { z } from 'zod';

export function readEnvironment<T extends z.ZodRawShape>(
  shape: T,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${problems}`);
  }
  return result.data;
}

/** An environment variable holding JSON that must match `schema`. */
export function jsonVariable<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** A JSON object of strings, e.g. `{"https://catalog.example.com":"http://127.0.0.1:4000"}`. */
export const JsonStringMap = jsonVariable(z.record(z.string(), z.string()));
