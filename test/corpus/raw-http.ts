/**
 * A raw HTTP/1.1 client for the REST corpus: fetch normalises paths, merges
 * and validates headers, and refuses to send what a hostile client sends
 * (duplicate Content-Length, control characters, absolute-form targets), so
 * each request is written to the socket byte for byte.
 */
import { connect } from 'node:net';

/** A body (or message payload): literal, hex, or generated when too big or too deep to keep literally. */
export interface BodySpec {
  body?: string;
  bodyHex?: string;
  bodyRepeat?: { text: string; times: number; prefix?: string; suffix?: string };
  bodyNest?: { depth: number; open: string; close: string; inner?: string };
}

/** One line of rest.jsonl (see README.md beside it). */
export interface RestInput extends BodySpec {
  id: string;
  note: string;
  method: string;
  target: string;
  /** In order, duplicates kept; a null value writes the name alone (a line without a colon). */
  headers?: [string, string | null][];
  /** Send exactly these headers (no Host, Content-Length or Authorization added). */
  raw?: boolean;
  /** Send the body with Transfer-Encoding: chunked (8 KiB chunks). */
  chunked?: boolean;
  /** Leave out the default Authorization header. */
  noAuth?: boolean;
  /** A slow client: send half the head (`head`), or the head and half the body (`body`), then nothing more. */
  stall?: 'head' | 'body';
  expect: { status: number; code?: string };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** With `awaitClose`: whether the server closed the connection after answering. */
  closed?: boolean;
}

/** The body bytes an input describes. */
export function bodyOf(input: BodySpec): Buffer {
  if (input.body !== undefined) return Buffer.from(input.body, 'utf8');
  if (input.bodyHex !== undefined) return Buffer.from(input.bodyHex, 'hex');
  if (input.bodyRepeat) {
    const r = input.bodyRepeat;
    return Buffer.from((r.prefix ?? '') + r.text.repeat(r.times) + (r.suffix ?? ''), 'utf8');
  }
  if (input.bodyNest) {
    const n = input.bodyNest;
    return Buffer.from(n.open.repeat(n.depth) + (n.inner ?? '') + n.close.repeat(n.depth), 'utf8');
  }
  return Buffer.alloc(0);
}

/**
 * Serialises the request (head, then body): Host, Connection: close and
 * framing added unless `raw`; `keepAlive` leaves Connection: close out (to
 * see whether the server closes the connection by itself).
 */
export function requestBytes(
  input: RestInput,
  host: string,
  authorization: string | undefined,
  keepAlive = false,
): { head: Buffer; body: Buffer } {
  const body = bodyOf(input);
  const lines = [`${input.method} ${input.target} HTTP/1.1`];
  const given = input.headers ?? [];
  const has = (name: string) => given.some(([n]) => n.toLowerCase() === name);
  if (!input.raw) {
    lines.push(`Host: ${host}`);
    if (!keepAlive) lines.push('Connection: close');
    if (authorization && !input.noAuth && !has('authorization')) lines.push(`Authorization: ${authorization}`);
    if (input.chunked) lines.push('Transfer-Encoding: chunked');
    else if (!has('content-length') && (body.length > 0 || input.method === 'POST')) lines.push(`Content-Length: ${body.length}`);
  }
  for (const [name, value] of given) lines.push(value === null ? name : `${name}: ${value}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  if (!input.chunked) return { head, body };
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += 8192) {
    const part = body.subarray(i, i + 8192);
    chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from('0\r\n\r\n'));
  return { head, body: Buffer.concat(chunks) };
}

// Past this, the head goes first and the body only if no answer came within
// EARLY_ANSWER_MS, as curl does with Expect: 100-continue.
const BIG_BODY = 1024 * 1024;
const EARLY_ANSWER_MS = 300;

/**
 * Writes the request to 127.0.0.1:port and reads the response: complete by
 * its Content-Length, or by the server closing the connection. Interim 1xx
 * responses are skipped. The body goes out in 64 KiB pieces and stops once an
 * answer arrives, as a client that reads while it writes does: Node closes a
 * connection right after refusing a body, and bytes still arriving then make
 * the kernel reset it, discarding the answer in flight.
 */
export function sendRaw(
  port: number,
  request: { head: Buffer; body: Buffer },
  timeoutMs = 15_000,
  options: { awaitClose?: boolean; stall?: 'head' | 'body' } = {},
): Promise<RawResponse> {
  if (options.stall) {
    // A slow client: part of the request, then silence (the server's deadline answers).
    const cut =
      options.stall === 'head'
        ? request.head.subarray(0, request.head.length >> 1)
        : Buffer.concat([request.head, request.body.subarray(0, request.body.length >> 1)]);
    request = { head: cut, body: Buffer.alloc(0) };
  }
  const declared = Number(/\r\ncontent-length:\s*(\d+)/i.exec(request.head.toString('latin1'))?.[1] ?? 0);
  const waitMs = request.body.length > BIG_BODY || declared > BIG_BODY ? EARLY_ANSWER_MS : 0;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let complete: RawResponse | undefined;
    let timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    // write, never end: a half-closed client makes Node's server drop answers it has not sent yet.
    socket.on('connect', () => {
      socket.write(request.head);
      let offset = 0;
      // A 100 Continue is no answer: the body is what it asks for.
      const answered = () => /HTTP\/1\.[01] [2-5]\d\d /.test(Buffer.concat(chunks).toString('latin1'));
      const more = () => {
        while (offset < request.body.length && !answered() && !socket.destroyed) {
          const piece = request.body.subarray(offset, offset + 65_536);
          offset += piece.length;
          if (!socket.write(piece)) return void socket.once('drain', more);
        }
      };
      setTimeout(more, waitMs);
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // Complete by its Content-Length: done, whether or not the server closes (raw requests keep alive).
      const done = parseResponse(Buffer.concat(chunks), false);
      if (done && !options.awaitClose) {
        clearTimeout(timer);
        socket.destroy();
        resolve(done);
      } else if (done) {
        // Complete: now see whether the server closes the connection (the
        // 'close' handler resolves with closed: true); a server that keeps it
        // open is caught by the deadline below, which only a failure reaches.
        complete = done;
        clearTimeout(timer);
        timer = setTimeout(() => {
          socket.destroy();
          resolve({ ...done, closed: false });
        }, 10_000);
      }
    });
    // The server may answer (413, 431) and close before the whole request was written.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (complete) return resolve({ ...complete, closed: true });
      try {
        resolve({ ...parseResponse(Buffer.concat(chunks), true)!, closed: true });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** The final response in `all`; undefined while incomplete (unless `closed`, then it throws). */
function parseResponse(all: Buffer, closed: boolean): RawResponse | undefined {
  let rest = all.toString('latin1');
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      if (!closed) return undefined;
      throw new Error(`no HTTP response (got ${JSON.stringify(rest.slice(0, 120))})`);
    }
    const [statusLine, ...headerLines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    if (!status) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = headers['content-length'] === undefined ? Number.NaN : Number(headers['content-length']);
    if (!closed && !(length <= rest.length)) return undefined;
    const body = Buffer.from(Number.isFinite(length) ? rest.slice(0, length) : rest, 'latin1').toString('utf8');
    return { status, headers, body };
  }
}
