/**
 * Slow clients: a request whose headers, or whose body, do not arrive within
 * their deadlines gets 408 REQUEST_TIMEOUT (problem+json) and its connection
 * is closed; nothing is stored and the process goes on serving. The sync
 * wait after a request was received is not counted. The deadlines are
 * configured short here (CEX_HTTP_HEADERS_TIMEOUT_MS, CEX_HTTP_REQUEST_TIMEOUT_MS;
 * production: 30 s and 60 s).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startRestHost, type RestHost } from '../helpers/rest-host.js';

let db: TestDatabase;
let host: RestHost;
beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRestHost(db, { CEX_HTTP_HEADERS_TIMEOUT_MS: '1000', CEX_HTTP_REQUEST_TIMEOUT_MS: '2000' });
});
afterAll(async () => {
  await host?.stop();
  await db?.drop();
});

/** Writes `head` (and `body`) and never more; resolves with what came back once the server closed the connection. */
function slowRequest(head: string, body = ''): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port: Number(new URL(host.url).port) });
    let text = '';
    // A deadline for a test gone wrong (the server never answering), far past the configured 1-2 s.
    const guard = setTimeout(() => socket.destroy(new Error('no answer within 30 s')), 30_000);
    socket.on('connect', () => socket.write(head + body));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    // 'end': the server closed its side; we never end ours.
    socket.on('end', () => {
      clearTimeout(guard);
      socket.destroy();
      resolve({ text, closedByServer: true });
    });
  });
}

function expect408(answer: { text: string; closedByServer: boolean }): void {
  expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
  expect(answer.text.toLowerCase()).toContain('content-type: application/problem+json');
  expect(answer.text.toLowerCase()).toContain('connection: close');
  const problem = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as { status: number; code: string };
  expect(problem).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
  expect(answer.closedByServer).toBe(true);
}

const stored = async () => (await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM commands`)[0]!.n;

describe('slow clients', () => {
  it('answers 408 and closes the connection when the headers never finish', async () => {
    const before = await stored();
    const answer = await slowRequest(
      'POST /api/v1/endpoints/slow-1/commands/reboot?awaitTimeout=0 HTTP/1.1\r\nHost: cex\r\nContent-Type: application/json\r\n',
    );
    expect408(answer);
    expect(await stored()).toBe(before);
    expect((await fetch(`${host.url}/readyz`)).status).toBe(200);
  });

  it('answers 408 and closes the connection when the body stops short of its Content-Length', async () => {
    const before = await stored();
    const head =
      'POST /api/v1/endpoints/slow-2/commands/reboot?awaitTimeout=0 HTTP/1.1\r\nHost: cex\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const answer = await slowRequest(head, '{"n":');
    expect408(answer);
    expect(await stored()).toBe(before);
    expect((await fetch(`${host.url}/readyz`)).status).toBe(200);
  });

  it('does not count the sync wait: a caller waiting past the request deadline gets its 202', async () => {
    // awaitTimeout 3 s > the 2 s request deadline: the request was received in time.
    const res = await fetch(`${host.url}/api/v1/endpoints/slow-3/commands/reboot?awaitTimeout=3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":3}',
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { status: string }).status).toBe('PENDING');
  });
});
