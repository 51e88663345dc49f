/**
 * In-process harness for the functions the bridge feeds: the unit's services
 * on a test database (built and started as its root does), its handler
 * registered with functions-framework as the unit root registers it, the
 * framework's server on a free port, and CloudEvent posts in binary and
 * structured mode.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { AVRO_CONTENT_TYPE, EXTENSIONS, type FunctionAnswer } from '../../shared/bridge/contract.js';
import { loadConfig } from '../../shared/config/index.js';
import { UNITS } from '../../functions/index.js';
import { CEX_VERSION } from '../../shared/host/serve.js';
import { createHostHandler } from '../../shared/host/server.js';
import { registerFunction } from '../../shared/roots/unit.js';
import { buildServices, startServices, type Services as Runtime } from '../../shared/roots/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { internalAuthHeader, TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';

export type Mode = 'binary' | 'structured';
export const MODES: Mode[] = ['binary', 'structured'];

export interface FunctionHost {
  db: TestDatabase;
  rt: Runtime;
  cex: string;
  kpc: string;
  url: string;
  close(): Promise<void>;
}

/**
 * Creates a database and the unit's services, and serves the unit as a
 * functions-framework function on a free port.
 */
export async function startFunctionHost(unit: string, env: Record<string, string> = {}): Promise<FunctionHost> {
  const db = await createTestDatabase();
  const cex = uniqueInstanceName();
  const kpc = uniquePrefix('kpc');
  const rt = buildServices(
    loadConfig({
      DATABASE_URL: db.url,
      CEX_INSTANCE_NAME: cex,
      KPC_INSTANCE_NAME: kpc,
      CEX_LOG_LEVEL: 'silent',
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
      ...env,
    }),
    unit,
  );
  startServices(rt);
  const definition = UNITS.find((u) => u.name === unit);
  if (!definition) throw new Error(`no unit named ${unit}`);
  registerFunction(definition, createHostHandler(rt, { units: [definition], devMode: false, version: CEX_VERSION }));
  const server: Server = getTestServer(unit);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    db,
    rt,
    cex,
    kpc,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.shutdown();
      await db.drop();
    },
  };
}

export interface PostedEvent {
  status: number;
  answer: FunctionAnswer | undefined;
  text: string;
}

/**
 * POSTs one CloudEvent of `type` carrying `bytes`, as the bridge does
 * (binary: Avro body + ce-* headers) or as a structured JSON event with
 * `data_base64`; `reply` becomes the natsreply extension. The bridge's
 * internal credential is sent unless `credential` says otherwise (null: none).
 */
export async function postEvent(
  url: string,
  mode: Mode,
  type: string,
  bytes: Uint8Array,
  options: { reply?: string; subject?: string; credential?: string | null } = {},
): Promise<PostedEvent> {
  const attributes: Record<string, string> = {
    id: randomUUID(),
    source: 'test/endpoint',
    type,
    specversion: '1.0',
    [EXTENSIONS.subject]: options.subject ?? 'kaa.v1.service.cex.esp.ClientData',
    [EXTENSIONS.replica]: 'test-bridge',
  };
  if (options.reply !== undefined) attributes[EXTENSIONS.reply] = options.reply;
  const auth = options.credential === null ? {} : internalAuthHeader(options.credential);
  const init: RequestInit =
    mode === 'binary'
      ? {
          method: 'POST',
          headers: {
            ...auth,
            'content-type': AVRO_CONTENT_TYPE,
            ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce-${k}`, v])),
          },
          body: bytes,
        }
      : {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({
            ...attributes,
            datacontenttype: AVRO_CONTENT_TYPE,
            data_base64: Buffer.from(bytes).toString('base64'),
          }),
        };
  const res = await fetch(url, init);
  const text = await res.text();
  const answer = res.status === 200 ? (JSON.parse(text) as FunctionAnswer) : undefined;
  return { status: res.status, answer, text };
}

/** The one message of an answer, as (subject, bytes). */
export function onlyMessage(posted: PostedEvent): { subject: string; data: Buffer } {
  if (posted.status !== 200 || !posted.answer) throw new Error(`expected 200 with an answer, got ${posted.status}: ${posted.text}`);
  if (posted.answer.publish.length !== 1) throw new Error(`expected one message, got ${posted.answer.publish.length}`);
  const [message] = posted.answer.publish;
  return { subject: message!.subject, data: Buffer.from(message!.data, 'base64') };
}
