import * as z from 'zod';
import type { HeaderSpec, Route } from './router.js';

const problemSchema = z
  .object({
    type: z.string().describe('urn:cex:problem:<code in kebab case>'),
    title: z.string().describe('The HTTP reason phrase'),
    status: z.number().int(),
    detail: z.string().describe('What was wrong, in words'),
    code: z.string().describe('Stable upper-case identifier, e.g. INVALID_AWAIT_TIMEOUT'),
  })
  .strict()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details: every 4xx and 5xx answer' });

// Statuses any REST route may answer; a route adds its own in `errors`.
const COMMON_ERRORS: Record<number, string> = {
  400: 'A parameter, header or body is not valid; `code` names which (e.g. INVALID_AWAIT_TIMEOUT, UNKNOWN_PARAMETER)',
  401: 'No bearer token, or an invalid or expired one',
  403: 'The token lacks the scope this route needs',
  500: 'Internal error',
  503: 'Postgres cannot be reached (nothing was stored), or this instance is shutting down: retry',
};

const ERROR_HEADERS: Record<number, Record<string, HeaderSpec>> = {
  401: { 'WWW-Authenticate': { description: 'Bearer, with the error code' } },
  503: { 'Retry-After': { description: 'Seconds to wait before retrying, when known (TOO_MANY_WAITERS)', schema: z.string() } },
};

/**
 * The OpenAPI 3.1 document of `routes`, generated from the same zod schemas
 * the handlers validate with, so the document cannot drift from the code.
 * Named schemas (zod `meta({ id })`) land in components.schemas.
 */
/**
 * `maximums`: query parameters whose upper bound is configured (e.g. awaitTimeout by
 * CEX_MAX_AWAIT_TIMEOUT_SECONDS); the document gives this process's bound, not the schema's.
 */
export function buildOpenApi(
  routes: readonly Route[],
  info: { title: string; version: string },
  maximums: Readonly<Record<string, number>> = {},
): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output') => toSchema(schema, io, schemas);
  const problem = { 'application/problem+json': { schema: convert(problemSchema, 'output') } };
  const headersOf = (headers: Record<string, HeaderSpec>) =>
    Object.fromEntries(
      Object.entries(headers).map(([name, h]) => [
        name,
        { description: h.description, required: h.required ?? false, schema: h.schema ? convert(h.schema, 'output') : { type: 'string' } },
      ]),
    );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const pathItem = (paths[route.path] ??= {});
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => {
        const schema = route.params?.shape[m[1]!] as z.ZodType | undefined;
        return { name: m[1], in: 'path', required: true, schema: schema ? convert(schema, 'input') : { type: 'string' } };
      }),
      ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: withMaximum(convert(schema as z.ZodType, 'input'), maximums[name]),
      })),
      ...Object.entries(route.headers ?? {}).map(([name, h]) => ({
        name,
        in: 'header',
        required: h.required ?? false,
        description: h.description,
        schema: h.schema ? convert(h.schema, 'input') : { type: 'string' },
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses ?? { 200: { description: 'OK' } })) {
      responses[status] = {
        description: r.description,
        ...(r.headers ? { headers: headersOf(r.headers) } : {}),
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: convert(r.schema, 'output') } } } : {}),
      };
    }
    const errors = { ...COMMON_ERRORS, ...route.errors };
    for (const status of Object.keys(errors)
      .map(Number)
      .sort((a, b) => a - b)) {
      responses[status] = {
        description: errors[status],
        ...(ERROR_HEADERS[status] ? { headers: headersOf(ERROR_HEADERS[status]) } : {}),
        content: problem,
      };
    }
    responses.default = { description: 'Any other error (405, 408, 431, …)', content: problem };
    pathItem[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      'x-cex-unit': route.unit,
      parameters,
      ...(route.requestBody
        ? {
            requestBody: {
              content: Object.fromEntries(
                route.requestBody.contentTypes.map((t) => [
                  t,
                  { schema: route.requestBody?.schema ? convert(route.requestBody.schema, 'input') : {} },
                ]),
              ),
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

/**
 * JSON Schema of `schema` for use inside the document: zod's `$defs` move to
 * components.schemas (refs rewritten), and no `$schema` keyword is left
 * (3.1's default dialect is 2020-12 already).
 */
function toSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, unknown>): unknown {
  const {
    $schema: _dialect,
    $defs,
    ...root
  } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
    const clean = tidy(def);
    if (id in components && JSON.stringify(components[id]) !== JSON.stringify(clean)) {
      throw new Error(`openapi: two different schemas are named ${id} (an input and an output shape?)`);
    }
    components[id] = clean;
  }
  return tidy(root);
}

function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$schema') continue;
    out[key] = key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\/\$defs\//, '#/components/schemas/') : tidy(inner);
  }
  // An integer parameter (intString) is documented as one; its text pattern is the wire detail.
  if (out.type === 'integer') delete out.pattern;
  return out;
}

function withMaximum(schema: unknown, maximum: number | undefined): unknown {
  return maximum === undefined || typeof schema !== 'object' || schema === null ? schema : { ...schema, maximum };
}
