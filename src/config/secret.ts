import { z } from 'zod';

/**
 * How a secret field is masked: `value` hides the whole string; `url` hides only the credentials a
 * URL carries (the userinfo password, or a lone user name, and credential-like query parameters).
 */
export type SecretKind = 'value' | 'url';

/** The one list of secret fields: schemas registered here are masked in `config check --print`, logs and errors. */
export const secretFields = z.registry<{ secret: SecretKind }>();

/** Marks a field whose whole value is a secret (password, token, passphrase…). */
export function secret<T extends z.ZodType>(schema: T): T {
  const marked = schema.clone() as T;
  secretFields.add(marked, { secret: 'value' });
  return marked;
}

/** Marks a URL field whose userinfo or query string may carry credentials. */
export function secretUrl<T extends z.ZodType>(schema: T): T {
  const marked = schema.clone() as T;
  secretFields.add(marked, { secret: 'url' });
  return marked;
}

/** The mark of this schema node (inherited through `.describe()` and other clones), if any. */
export function secretKindOf(schema: z.core.$ZodType): SecretKind | undefined {
  return secretFields.get(schema)?.secret;
}
