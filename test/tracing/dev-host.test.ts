/**
 * Tracing in the dev host (`make run`: every unit and the bridge in one
 * process, dist/functions/main.js unbundled): the bridge hands events to the
 * units without HTTP (LocalEventDesk), so the context crosses in the
 * CloudEvent's own attributes (ce-traceparent). Exports go to an OTLP/HTTP
 * JSON receiver in this test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { espClientDataSubject, espExtensionDataSubject } from '../../shared/protocol/index.js';
import { startSimulator, type Simulator } from '../../shared/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

let receiver: OtlpReceiver;
let db: TestDatabase;
let nc: NatsConnection;
let host: DevHost;
let sim: Simulator;
const cex = uniqueInstanceName();
const kpc = uniquePrefix('kpc');

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  db = await createTestDatabase();
  nc = await connect({ servers: testNatsUrl(), name: 'cex-tracing-dev-host-test' });
  host = await startDevHost({
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_INSTANCE_NAME: cex,
    KPC_INSTANCE_NAME: kpc,
    CEX_AUTH: 'off',
    CEX_LOG_LEVEL: 'info',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  sim = await startSimulator({ nc, cexInstanceName: cex, kpcInstanceName: kpc, endpointPrefix: `${uniquePrefix('ep')}-` });
}, 90_000);

afterAll(async () => {
  await sim?.stop().catch(() => undefined);
  await host?.stop('SIGTERM');
  await nc?.drain().catch(() => undefined);
  await db?.drop();
  await receiver?.close();
});

async function received<T>(find: (spans: ReceivedSpan[]) => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = find(receiver.spans());
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not received; got ${receiver
          .spans()
          .map((s) => s.name)
          .join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tracing in the dev host', () => {
  it('a sync invoke is one trace through the in-process bridge; the endpoint message crosses to esp-inbound in ce-traceparent', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const [endpoint] = sim.endpointIds;
    const res = await fetch(`${host.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=15`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const inTrace = (s: ReceivedSpan) => s.traceId === traceId;
    const server = await received((spans) => spans.find((s) => inTrace(s) && s.kind === 2), 'the server span');
    expect(server).toMatchObject({ service: 'cex-dev-host', parentSpanId: callerSpan });
    const push = await received(
      (spans) => spans.find((s) => inTrace(s) && s.name === `publish ${espExtensionDataSubject(kpc)}`),
      'the push',
    );
    expect(push.parentSpanId).toBe(server.spanId);
    const result = await received((spans) => spans.find((s) => inTrace(s) && s.name === 'record result'), 'the result');
    expect(result.parentSpanId).toBe(server.spanId);
    // No HTTP hop: esp-inbound's event span is the child of the bridge's consumer span itself.
    const event = await received((spans) => spans.find((s) => s.spanId === result.links[0]?.spanId), 'the ClientData event span');
    const forward = await received((spans) => spans.find((s) => s.spanId === event.parentSpanId), 'its parent');
    expect(event.name).toBe('process org.kaaproject.esp.v1.ClientData');
    expect(forward).toMatchObject({ kind: 5, name: `process ${espClientDataSubject(cex)}`, traceId: event.traceId });
    expect(host.output()).toContain('"msg":"tracing on"');
  });
});
