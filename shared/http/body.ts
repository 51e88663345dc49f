import type { IncomingMessage } from 'node:http';
import { CexError } from '../errors/index.js';

/** 413 for a body past the limit; the stream is abandoned, never buffered whole. */
export class PayloadTooLargeError extends CexError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', `the request body exceeds ${limit} bytes`);
  }
}

/**
 * Reads the request body into one Buffer, refusing more than `limit` bytes:
 * at once from Content-Length, or as soon as the stream passes the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(new CexError('BODY_READ_FAILED', 'the request body could not be read', { cause: err }));
      failed = true;
    });
  });
}
