import type { OpenAPIV3_1 } from 'openapi-types';
import type { operations } from './cex-api.js';

/**
 * A client typed by the TypeScript generated from /openapi.json
 * (cex-api.d.ts): request parameters are checked by tsc when the tests
 * compile, and every answer is recorded so that check-answers.ts can make
 * tsc check it against the generated response types.
 */
export type Operation = keyof operations;
type Responses<O extends Operation> = operations[O]['responses'];
/** The body type the document gives for one status of one operation. */
export type Body<O extends Operation, S extends keyof Responses<O>> = Responses<O>[S] extends { content: infer C } ? C[keyof C] : never;
type RequestParams<O extends Operation> = Pick<operations[O]['parameters'], 'path' | 'query' | 'header'>;

/** One answer as the server gave it. */
export interface Recorded {
  operation: Operation;
  status: number;
  /** Media type without parameters ('' without a body). */
  contentType: string;
  /** Parsed JSON; for text/event-stream the parsed `data:` of each event. */
  body: unknown;
  headers: Headers;
}

export class TypedApi {
  readonly recorded: Recorded[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly doc: OpenAPIV3_1.Document,
  ) {}

  /** Calls `operation`; `events` reads that many server-sent events, then hangs up. */
  async call<O extends Operation>(
    operation: O,
    params: RequestParams<O>,
    options: { json?: unknown; events?: number } = {},
  ): Promise<Recorded> {
    const [template, method] = this.find(operation);
    const p = params as { path?: Record<string, unknown>; query?: Record<string, unknown>; header?: Record<string, string> };
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(p.path?.[name])));
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(p.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const abort = new AbortController();
    const res = await fetch(url, {
      method: method.toUpperCase(),
      headers: { ...p.header, ...(options.json === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
      signal: abort.signal,
    });
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    let body: unknown;
    if (contentType === 'text/event-stream') body = await readEvents(res, options.events ?? Infinity, abort);
    else {
      const text = await res.text();
      body = text ? JSON.parse(text) : undefined;
    }
    const recorded: Recorded = { operation, status: res.status, contentType, body, headers: res.headers };
    this.recorded.push(recorded);
    return recorded;
  }

  /** The documented header names of one answer, as the document spells them. */
  documentedHeaders(operation: Operation, status: number): string[] {
    const [path, method] = this.find(operation);
    const op = this.doc.paths![path]![method] as OpenAPIV3_1.OperationObject;
    const response = (op.responses as Record<string, OpenAPIV3_1.ResponseObject>)[String(status)];
    return Object.keys(response?.headers ?? {});
  }

  private find(operation: Operation): [string, OpenAPIV3_1.HttpMethods] {
    for (const [path, item] of Object.entries(this.doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item ?? {})) {
        if ((op as OpenAPIV3_1.OperationObject).operationId === operation) return [path, method as OpenAPIV3_1.HttpMethods];
      }
    }
    throw new Error(`/openapi.json has no operation ${operation}`);
  }
}

/** The body of `answer`, typed as the document says for `status` (which is checked). */
export function bodyOf<O extends Operation, S extends keyof Responses<O> & number>(answer: Recorded, operation: O, status: S): Body<O, S> {
  if (answer.operation !== operation || answer.status !== status) {
    throw new Error(`expected ${operation} to answer ${status}, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body as Body<O, S>;
}

async function readEvents(res: Response, count: number, abort: AbortController): Promise<unknown[]> {
  const events: unknown[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim());
        buffer = buffer.slice(end + 2);
        if (data.length > 0) events.push(JSON.parse(data.join('\n')));
        if (events.length >= count) {
          abort.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  return events;
}
