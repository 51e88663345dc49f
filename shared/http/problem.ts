import type { ServerResponse } from 'node:http';
import { toCexError, type CexError, type ErrorCode } from '../errors/index.js';

/** RFC 9457 problem details, as every 4xx/5xx of CEX answers (docs/rest-api.md). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function toProblem(err: CexError): Problem {
  return {
    type: `urn:cex:problem:${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    // A 500's message may carry internals; 502-504 name which peer failed and how.
    detail: err.status >= 500 && ![502, 503, 504].includes(err.status) ? 'internal error' : (err.detail ?? err.message),
    code: err.code,
  };
}

/** Answers with the problem for `err` (any thrown value); returns the status sent. */
export function sendProblem(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): number {
  const cex = toCexError(err);
  const body = JSON.stringify(toProblem(cex));
  if (res.headersSent) {
    res.destroy();
    return cex.status;
  }
  res.writeHead(cex.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // RFC 6750: a 401 tells the client which scheme to use.
    ...(cex.status === 401 ? { 'www-authenticate': `Bearer error="invalid_token", error_description="${cex.code}"` } : {}),
    ...headers,
  });
  res.end(body);
  return cex.status;
}

/** Answers 2xx with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
