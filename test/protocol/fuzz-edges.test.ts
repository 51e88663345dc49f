/**
 * Property-based fuzz of the edges fuzz.test.ts leaves out: the bridge's
 * screen (the first code any NATS message meets), the 12/CIP request checks,
 * the REST body and query parsers, request paths, and the JSON nesting limit
 * at its boundary (fc.json stays far below 64 levels).
 */
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../shared/bridge/index.js';
import { screenMessage } from '../../shared/nats-bridge/index.js';
import { checkCipRequest } from '../../shared/endpoint/index.js';
import { CexError } from '../../shared/errors/index.js';
import { compileRoute, matchRoute, routePath, type Route } from '../../shared/http/index.js';
import { MAX_JSON_DEPTH, parseJsonPayload, PayloadError } from '../../shared/protocol/index.js';
import { commandPath, intString, parseCommandPayload, parsePath, parseQuery } from '../../shared/rest/index.js';
import * as z from 'zod';

const RUNS = 300;

describe('bridge screen (property-based)', () => {
  it('never throws: every message is ok, undecodable or expired, whatever its bytes and type', () => {
    const types = Object.values(EVENT_TYPES);
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        (type, bytes, now) => {
          const verdict = screenMessage(type, bytes, now);
          if (verdict.ok) expect(typeof verdict.envelope.correlationId).toBe('string');
          else expect(['undecodable', 'expired']).toContain(verdict.reason);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('12/CIP request checks (property-based)', () => {
  const request = fc.record({
    correlationId: fc.string(),
    timestamp: fc.integer(),
    timeout: fc.integer(),
    endpointId: fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9._~-]{1,128}$/)),
    commandType: fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/)),
    commandId: fc.oneof(fc.integer(), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
    payload: fc.option(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
        fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
      ),
    ),
  });

  it('answers ok with JSON, or refuses with 400/413 and a reason; never throws', () => {
    fc.assert(
      fc.property(request, fc.integer({ min: 1, max: 200 }), (req, maxBytes) => {
        const checked = checkCipRequest(req, maxBytes);
        if (checked.ok) {
          expect(() => JSON.stringify(checked.payload)).not.toThrow();
        } else {
          expect([400, 413]).toContain(checked.statusCode);
          expect(checked.reasonPhrase.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('REST edge (property-based)', () => {
  const contentType = fc.oneof(
    fc.constantFrom(
      'application/json',
      'text/plain',
      'application/vnd.x+json',
      'application/json; charset=latin1',
      'text/plain; charset=utf-8',
      '',
    ),
    fc.string({ maxLength: 40 }),
  );

  it('parseCommandPayload gives a JSON value or a 400/413/415 CexError, for any bytes and content type', () => {
    fc.assert(
      fc.property(
        contentType,
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((s) => new TextEncoder().encode(s)),
        ),
        (type, bytes) => {
          const req = { headers: { 'content-type': type } } as unknown as IncomingMessage;
          try {
            const value = parseCommandPayload(req, Buffer.from(bytes), 256);
            expect(() => JSON.stringify(value)).not.toThrow();
          } catch (err) {
            expect(err).toBeInstanceOf(CexError);
            expect([400, 413, 415]).toContain((err as CexError).status);
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('query and path parsers refuse with a 400 ValidationError only', () => {
    const schema = z.object({ awaitTimeout: intString(0, 60).optional(), commandTtl: intString(0, 2_147_483_647).optional() });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('awaitTimeout', 'commandTtl', 'x'), fc.string({ maxLength: 20 })), { maxLength: 4 }),
        fc.string(),
        fc.string(),
        (pairs, endpointId, commandType) => {
          for (const parse of [
            () => parseQuery(schema, new URLSearchParams(pairs)),
            () => parsePath(commandPath, { endpointId, commandType }),
          ]) {
            try {
              parse();
            } catch (err) {
              expect(err).toBeInstanceOf(CexError);
              expect((err as CexError).status).toBe(400);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('request targets route or are refused with INVALID_PATH; nothing else escapes', () => {
    const route: Route = {
      unit: 'u',
      method: 'POST',
      path: '/api/v1/endpoints/{endpointId}/commands/{commandType}',
      operationId: 'x',
      summary: 'x',
      handle: async () => undefined,
    };
    const compiled = [compileRoute(route)];
    const target = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.webPath(),
      fc.string().map((s) => `/api/v1/endpoints/${s}/commands/${s}`),
    );
    fc.assert(
      fc.property(target, fc.constantFrom('GET', 'POST', 'HEAD'), (url, method) => {
        try {
          const { pathname } = routePath(url);
          matchRoute(compiled, method, pathname);
        } catch (err) {
          expect(err).toBeInstanceOf(CexError);
          expect((err as CexError).code).toBe('INVALID_PATH');
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('JSON nesting limit at its boundary (property-based)', () => {
  // A value nested `depth` levels, with brackets inside strings that must not count.
  const nested = fc.tuple(
    fc.integer({ min: 1, max: MAX_JSON_DEPTH * 3 }),
    fc.array(fc.constantFrom('[', '{'), { maxLength: MAX_JSON_DEPTH * 3 }),
    fc.constantFrom('"[[{{"', '"\\"]"', '1', 'null'),
  );

  it('accepts exactly the values nested at most MAX_JSON_DEPTH deep', () => {
    fc.assert(
      fc.property(nested, ([depth, kinds, leaf]) => {
        let text: string = leaf;
        for (let i = 0; i < depth; i++) text = (kinds[i] ?? '[') === '[' ? `[${text}]` : `{"k${i}[":${text}}`;
        const bytes = Buffer.from(text);
        if (depth <= MAX_JSON_DEPTH) {
          expect(() => parseJsonPayload(bytes)).not.toThrow();
        } else {
          expect(() => parseJsonPayload(bytes)).toThrow(PayloadError);
          try {
            parseJsonPayload(bytes);
          } catch (err) {
            expect((err as PayloadError).code).toBe('JSON_TOO_DEEP');
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
