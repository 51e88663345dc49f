import { z } from 'zod';
import type { Route } from './router.js';

const PROBLEM = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().describe('stable upper-case identifier, e.g. INVALID_AWAIT_TIMEOUT'),
});

/**
 * The OpenAPI 3.1 document of `routes`, generated from the same zod schemas
 * the handlers validate with, so the document cannot drift from the code.
 */
export function buildOpenApi(routes: readonly Route[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const pathItem = (paths[route.path] ??= {});
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParams = route.query
      ? Object.entries(route.query.shape).map(([name, schema]) => ({
          name,
          in: 'query',
          required: !(schema as z.ZodType).safeParse(undefined).success,
          schema: jsonSchema(schema as z.ZodType, 'input'),
        }))
      : [];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses ?? { 200: { description: 'OK' } })) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output') } } } : {}),
      };
    }
    responses.default = {
      description: 'Error (problem details)',
      content: { 'application/problem+json': { schema: jsonSchema(PROBLEM, 'output') } },
    };
    pathItem[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      'x-cex-unit': route.unit,
      parameters: [...pathParams, ...queryParams],
      ...(route.requestBody
        ? {
            requestBody: {
              content: Object.fromEntries(
                route.requestBody.contentTypes.map((t) => [t, { schema: route.requestBody?.schema ? jsonSchema(route.requestBody.schema, 'input') : {} }]),
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
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  } catch {
    return {};
  }
}
