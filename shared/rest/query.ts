import * as z from 'zod';
import { isErrorCode, ValidationError, type ErrorCodeWithStatus } from '../errors/index.js';

/**
 * Query and path parameters are validated with zod schemas that also feed
 * /openapi.json. Each field carries its stable error code in its metadata
 * (`x-error-code`), so a bad value answers 400 with e.g. INVALID_AWAIT_TIMEOUT.
 */
export function param<T extends z.ZodType>(schema: T, code: ErrorCodeWithStatus<400>, description: string): T {
  return schema.meta({ description, 'x-error-code': code }) as T;
}

function codeOf(schema: z.ZodType | undefined, fallback: ErrorCodeWithStatus<400>): ErrorCodeWithStatus<400> {
  const meta = schema ? z.globalRegistry.get(schema) : undefined;
  const code = meta?.['x-error-code'];
  // Only param() writes x-error-code, and it takes 400 codes only.
  return isErrorCode(code) ? (code as ErrorCodeWithStatus<400>) : fallback;
}

/**
 * Parses the query against `schema`. Multi-valued parameters listed in
 * `repeatable` may repeat (their values are comma-joined); any other
 * parameter given twice is refused. Unknown parameters never get here: the router refuses them (assertKnownQuery).
 */
export function parseQuery<S extends z.ZodObject>(schema: S, query: URLSearchParams, repeatable: readonly string[] = []): z.infer<S> {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const values = query.getAll(key);
    if (values.length > 1 && !repeatable.includes(key)) {
      throw new ValidationError(
        codeOf(schema.shape[key] as z.ZodType, 'INVALID_PARAMETER'),
        `query parameter ${key} is given more than once`,
      );
    }
    raw[key] = values.length === 0 ? undefined : values.join(',');
  }
  return parseWith(schema, raw);
}

/** Parses path parameters (already percent-decoded) against `schema`. */
export function parsePath<S extends z.ZodObject>(schema: S, params: Record<string, string>): z.infer<S> {
  return parseWith(schema, params);
}

function parseWith<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  const value = raw[field];
  const shape = schema.shape[field] as z.ZodType | undefined;
  if (value === undefined) {
    const description = shape ? z.globalRegistry.get(shape)?.description : undefined;
    throw new ValidationError(codeOf(shape, 'INVALID_PARAMETER'), `${field} is required${description ? `: ${description}` : ''}`);
  }
  // A URL's user and password are never echoed (a refused callbackUrl may carry them).
  const text = typeof value === 'string' ? value.replace(/\/\/[^/?#@]*@/, '//…@') : undefined;
  const shown = text !== undefined ? `"${text.length > 64 ? text.slice(0, 64) + '…' : text}"` : 'missing value';
  throw new ValidationError(codeOf(shape, 'INVALID_PARAMETER'), `${field}: ${shown} is not valid: ${issue.message}`);
}

/**
 * An integer given as a decimal string within [min, max]. A refusal says
 * which bound was passed, in `unit` when given ("must be at most 60
 * seconds"), however many digits the value has.
 */
export function intString(min: number, max: number, unit?: string) {
  const inUnit = unit ? ` ${unit}` : '';
  return (
    z
      .string()
      .transform((text, ctx) => {
        const fail = (message: string) => {
          ctx.addIssue({ code: 'custom', message });
          return z.NEVER;
        };
        if (!/^-?\d+$/.test(text)) return fail(`must be a whole number${unit ? ` of ${unit}` : ''}`);
        const n = Number(text);
        if (n < min) return fail(`must be at least ${min}${inUnit}`);
        if (n > max) return fail(`must be at most ${max}${inUnit}`);
        return n;
      })
      // /openapi.json documents it as the integer it is.
      .meta({ type: 'integer', minimum: min, maximum: max })
  );
}

/** A comma-separated list whose items each match `item`, at most `maxItems`, no empty items. */
export function csv<T extends z.ZodType<unknown, string>>(item: T, maxItems: number) {
  return z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()))
    .pipe(z.array(item).min(1).max(maxItems));
}
