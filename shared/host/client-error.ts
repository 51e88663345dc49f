import type { Socket } from 'node:net';
import { CexError } from '../errors/index.js';
import { toProblem } from '../http/index.js';

/**
 * Requests Node's HTTP parser refuses before any handler runs (a malformed
 * request line, conflicting Content-Length, a control character in a header,
 * headers past 16 KiB, a body not received within the request timeout) get
 * the problem+json answer every other error gets (docs/rest-api.md), not Node's
 * bare status line. The socket is closed after it: the parser's state is lost.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // Mirrors Node's own handler: answer only while nothing of a response was
  // written to this socket, or the peer would read a corrupted stream.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(toProblem(problemFor(err.code)));
    socket.write(
      `HTTP/1.1 ${statusLine(err.code)}\r\ncontent-type: application/problem+json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function problemFor(code: string | undefined): CexError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new CexError('HEADERS_TOO_LARGE', 'the request headers exceed 16 KiB');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new CexError('REQUEST_TIMEOUT', 'the request was not received in time');
    default:
      return new CexError('MALFORMED_REQUEST', `the request is not valid HTTP/1.1 (${code ?? 'parse error'})`);
  }
}

function statusLine(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  return '400 Bad Request';
}
