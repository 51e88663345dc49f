/**
 * Tracing (README "Observability"): command-submit, esp-inbound and the
 * nats-bridge as three processes started from their bundles, exporting
 * OTLP/HTTP JSON to a receiver in this test; real Postgres and NATS, the
 * simulator as the endpoint. One sync invoke arriving with a traceparent
 * must yield one trace from the REST call through the push and the
 * endpoint's result to the answer, with the right parents; a push re-sent
 * by a restarted bridge must join the same trace.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  cipCommandRequestSubject,
  encodeCommandInvocationRequest,
  espClientDataSubject,
  espExtensionDataSubject,
} from '../../shared/protocol/index.js';
import { startSimulator, type Simulator } from '../../shared/simulator/index.js';
import { tracingWanted } from '../../shared/tracing/index.js';
import { freePort } from '../../shared/devstack/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/internal.js';
import { testNatsUrl, uniqueInstanceName, uniquePrefix } from '../helpers/nats.js';
import { startUnit, type UnitProcess } from '../deploy/unit-process.js';
import type { ImageLayout } from '../deploy/image-layout.js';
import { startReceiver, type Receiver } from '../callbacks/receiver.js';
import { startEfmpResponder, type EfmpResponder } from '../batch/efmp-responder.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The checkout's own dist/bundles (make build), started as the image starts them.
const layout: ImageLayout = { dir: REPO_ROOT, entry: path.join(REPO_ROOT, 'dist', 'bundles', 'launch.mjs'), remove: async () => undefined };
const INVOKE_ROUTE = '/api/v1/endpoints/{endpointId}/commands/{commandType}';
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
/** Clock skew allowed when ordering spans of two processes (nanoseconds). */
const CROSS_PROCESS_SKEW_NS = 5_000_000;
/** The endpoint's execution time: an answer sent before the result would end this long before it. */
const ENDPOINT_DELAY_MS = 40;

let receiver: OtlpReceiver;
let db: TestDatabase;
let nc: NatsConnection;
let submit: UnitProcess;
let inbound: UnitProcess;
let bridge: UnitProcess;
let bridgeEnv: Record<string, string>;
let sim: Simulator;
let hooks: Receiver;
let registry: EfmpResponder;
const cex = uniqueInstanceName();
const kpc = uniquePrefix('kpc');
const epr = uniquePrefix('epr');

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  hooks = await startReceiver();
  db = await createTestDatabase();
  nc = await connect({ servers: testNatsUrl(), name: 'cex-tracing-test' });
  const common = {
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    CEX_AUTH: 'off',
    CEX_INSTANCE_NAME: cex,
    KPC_INSTANCE_NAME: kpc,
    EPR_INSTANCE_NAME: epr,
    CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    CEX_SHUTDOWN_GRACE_MS: '5000',
    CEX_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    // Only the standard variables turn tracing on and shape it.
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=tracing-test',
  };
  // The bridge first: command-submit asks it for 20/EFMP (CEX_BRIDGE_URL).
  const bridgePort = await freePort();
  const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
  [submit, inbound] = await Promise.all([
    startUnit(layout, 'command-submit', { ...common, CEX_BRIDGE_URL: bridgeUrl }),
    // debug: its 'results recorded' line is written inside the event's span.
    startUnit(layout, 'esp-inbound', { ...common, CEX_LOG_LEVEL: 'debug' }),
  ]);
  bridgeEnv = {
    ...common,
    OTEL_SERVICE_NAME: 'cex-bridge-under-test',
    // The bridge exports protobuf (the traces-only variable wins), the functions JSON: the receiver decodes both.
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    CEX_COMMAND_SUBMIT_URL: submit.url,
    CEX_ESP_INBOUND_URL: inbound.url,
    CEX_REPUSH_INITIAL_MS: '1000',
  };
  bridge = await startUnit(layout, 'nats-bridge', bridgeEnv, { port: bridgePort });
  registry = await startEfmpResponder(nc, epr);
  sim = await startSimulator({
    nc,
    cexInstanceName: cex,
    kpcInstanceName: kpc,
    endpointPrefix: `${uniquePrefix('ep')}-`,
    delayMs: ENDPOINT_DELAY_MS,
  });
}, 90_000);

afterAll(async () => {
  await sim?.stop().catch(() => undefined);
  registry?.stop();
  for (const unit of [bridge, inbound, submit]) await unit?.stop('SIGTERM', 10_000);
  await nc?.drain().catch(() => undefined);
  await db?.drop();
  await receiver?.close();
  await hooks?.close();
});

/** A fresh W3C traceparent, as a traced caller would send it. */
function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** Waits until `find` returns something from the spans received so far. */
async function received<T>(find: (spans: ReceivedSpan[]) => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find(receiver.spans());
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const names = receiver.spans().map((s) => `${s.service} ${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId}`);
      throw new Error(`${what}: not received within ${timeoutMs} ms; received:\n${names.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const one = (spans: ReceivedSpan[], match: (s: ReceivedSpan) => boolean) => spans.find(match);

describe('one trace per command, across processes', () => {
  it('a sync invoke with a traceparent: the REST call, the create, the push, the endpoint result and the answer, with their parents', async () => {
    const caller = callerContext();
    const [endpoint] = sim.endpointIds;
    const res = await fetch(`${submit.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=15`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: caller.traceparent },
      body: JSON.stringify({ delay: 1 }),
    });
    expect(res.status).toBe(200);
    const commandId = Number(res.headers.get('x-command-id'));
    const inTrace = (s: ReceivedSpan) => s.traceId === caller.traceId;

    // command-submit: the server span continues the caller's context.
    const server = await received((spans) => one(spans, (s) => inTrace(s) && s.kind === SERVER), 'the invoke server span');
    expect(server).toMatchObject({
      service: 'cex-command-submit',
      parentSpanId: caller.spanId,
      name: `POST ${INVOKE_ROUTE}`,
      attributes: { 'http.request.method': 'POST', 'http.route': INVOKE_ROUTE, 'http.response.status_code': 200, 'url.scheme': 'http' },
    });
    expect(server.resource).toMatchObject({ 'deployment.environment.name': 'tracing-test', 'service.namespace': 'cex' });

    const create = await received((spans) => one(spans, (s) => inTrace(s) && s.name === 'INSERT commands'), 'the create');
    expect(create).toMatchObject({
      service: 'cex-command-submit',
      kind: CLIENT,
      parentSpanId: server.spanId,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'INSERT', 'db.collection.name': 'commands' },
    });
    const wait = await received((spans) => one(spans, (s) => inTrace(s) && s.name === 'wait for result'), 'the wait');
    expect(wait).toMatchObject({ service: 'cex-command-submit', parentSpanId: server.spanId, attributes: { 'cex.wait.outcome': 'final' } });

    // The bridge, another process, read the context back from the command row.
    const push = await received((spans) => one(spans, (s) => inTrace(s) && s.kind === PRODUCER), 'the push');
    expect(push).toMatchObject({
      service: 'cex-bridge-under-test',
      name: `publish ${espExtensionDataSubject(kpc)}`,
      parentSpanId: server.spanId,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': espExtensionDataSubject(kpc),
        'cex.endpoint_id': endpoint,
        'cex.command_ids': [commandId],
      },
    });

    // esp-inbound, a third process: the result joins the command's trace and
    // links to the endpoint's ClientData message, a trace of its own.
    const result = await received((spans) => one(spans, (s) => inTrace(s) && s.name === 'record result'), 'the result');
    expect(result).toMatchObject({
      service: 'cex-esp-inbound',
      parentSpanId: server.spanId,
      attributes: { 'cex.endpoint_id': endpoint, 'cex.command_type': 'reboot', 'cex.command_id': commandId, 'cex.status_code': 200 },
    });
    expect(result.links).toHaveLength(1);
    const [link] = result.links;
    // The ClientData's trace: bridge consumer span → its HTTP client span →
    // esp-inbound's HTTP server span → its CloudEvent span.
    const event = await received((spans) => one(spans, (s) => s.spanId === link!.spanId), 'the ClientData event span');
    expect(event).toMatchObject({ service: 'cex-esp-inbound', kind: CONSUMER, name: 'process org.kaaproject.esp.v1.ClientData' });
    const hop = await received((spans) => one(spans, (s) => s.spanId === event.parentSpanId), 'the esp-inbound server span');
    expect(hop).toMatchObject({ service: 'cex-esp-inbound', kind: SERVER, traceId: event.traceId, attributes: { 'http.route': '/' } });
    const post = await received((spans) => one(spans, (s) => s.spanId === hop.parentSpanId), "the bridge's POST");
    expect(post).toMatchObject({
      service: 'cex-bridge-under-test',
      kind: CLIENT,
      name: 'POST',
      attributes: { 'http.request.method': 'POST', 'url.full': `${inbound.url}/`, 'http.response.status_code': 200 },
    });
    const forward = await received((spans) => one(spans, (s) => s.spanId === post.parentSpanId), "the bridge's consumer span");
    expect(forward).toMatchObject({
      service: 'cex-bridge-under-test',
      kind: CONSUMER,
      traceId: event.traceId,
      name: `process ${espClientDataSubject(cex)}`,
      attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.consumer.group.name': cex },
    });
    // esp-inbound's 4/ESP answer to the endpoint, published by the bridge within the forward.
    const answer = await received(
      (spans) => one(spans, (s) => s.parentSpanId === forward.spanId && s.kind === PRODUCER),
      "the endpoint's answer",
    );
    expect(answer).toMatchObject({ name: 'publish (reply)', attributes: { 'messaging.system': 'nats' } });

    // The answer: the server span ends after its wait ended (one process, one clock) and
    // after the result was recorded in another process. Each process's span clock is
    // anchored on its own performance.timeOrigin, which sits up to a few ms off the
    // wall clock (0.3 ms seen in CI), so the cross-process order allows that skew; the
    // endpoint's delay keeps an answer sent before the result well outside it.
    expect(server.end).toBeGreaterThanOrEqual(wait.end);
    expect(server.end).toBeGreaterThanOrEqual(result.start - CROSS_PROCESS_SKEW_NS);
    // Logs written while a span is active carry its ids.
    const recorded = inbound.logLines().find((l) => l.msg === 'results recorded' && l.endpointId === endpoint);
    expect(recorded).toMatchObject({ trace_id: event.traceId, span_id: event.spanId });
    expect(receiver.refused()).toBe(0);
    expect(receiver.exports().json).toBeGreaterThan(0);
    expect(receiver.exports().protobuf).toBeGreaterThan(0);
  });

  it("a batch by filter: the 20/EFMP request through the bridge and every command's push and result in the batch request's trace", async () => {
    const caller = callerContext();
    const [endpoint] = sim.endpointIds;
    registry.filters.set('traced-filter', { endpoints: { 'sim-app-v1': [endpoint!] } });
    const efmp: Msg[] = [];
    const sub = nc.subscribe(`kaa.v1.service.${epr}.efmp.ep-list-by-filter-request`, { callback: (_err, msg) => void efmp.push(msg) });
    try {
      const res = await fetch(`${submit.url}/api/v1/endpoints/commands/reboot/batch?filterId=traced-filter`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: caller.traceparent },
        body: '{"all":true}',
      });
      expect(res.status).toBe(202);
      const inTrace = (s: ReceivedSpan) => s.traceId === caller.traceId;
      const server = await received(
        (spans) => one(spans, (s) => inTrace(s) && s.kind === SERVER && s.service === 'cex-command-submit'),
        'the batch request',
      );
      expect(server).toMatchObject({
        parentSpanId: caller.spanId,
        attributes: { 'http.route': '/api/v1/endpoints/commands/{commandType}/batch' },
      });
      // The function asks the bridge over HTTP; the bridge's request span and its NATS publish follow.
      const ask = await received(
        (spans) => one(spans, (s) => inTrace(s) && s.kind === CLIENT && s.name === 'POST'),
        "command-submit's POST to the bridge",
      );
      expect(ask).toMatchObject({
        service: 'cex-command-submit',
        parentSpanId: server.spanId,
        attributes: { 'http.response.status_code': 200 },
      });
      const asked = await received(
        (spans) => one(spans, (s) => inTrace(s) && s.kind === SERVER && s.service === 'cex-bridge-under-test'),
        "the bridge's /nats/request",
      );
      expect(asked).toMatchObject({ parentSpanId: ask.spanId, attributes: { 'http.route': '/nats/request' } });
      const request = await received(
        (spans) => one(spans, (s) => inTrace(s) && s.name === `publish kaa.v1.service.${epr}.efmp.ep-list-by-filter-request`),
        'the 20/EFMP publish',
      );
      expect(request.parentSpanId).toBe(asked.spanId);
      expect(efmp.at(-1)?.headers?.get('traceparent')).toBe(`00-${caller.traceId}-${request.spanId}-01`);
      for (const name of ['INSERT commands', `publish ${espExtensionDataSubject(kpc)}`, 'record result']) {
        const span = await received((spans) => one(spans, (s) => inTrace(s) && s.name === name), name);
        expect(span.parentSpanId, name).toBe(server.spanId);
      }
    } finally {
      sub.unsubscribe();
    }
  });

  it('a push re-sent by a restarted bridge joins the invoke trace, and the NATS message carries it', async () => {
    const caller = callerContext();
    // An endpoint nobody answers for: the command stays PENDING and is re-pushed.
    const endpoint = uniquePrefix('silent');
    const pushes: Msg[] = [];
    const sub = nc.subscribe(espExtensionDataSubject(kpc), {
      callback: (_err, msg) => {
        if (msg.data.length > 0 && Buffer.from(msg.data).includes(endpoint)) pushes.push(msg);
      },
    });
    try {
      const res = await fetch(`${submit.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=0&commandTtl=60000`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: caller.traceparent },
        body: '{}',
      });
      expect(res.status).toBe(202);
      const server = await received((spans) => one(spans, (s) => s.traceId === caller.traceId && s.kind === SERVER), 'the invoke');
      const traceparentOf = (msg: Msg) => msg.headers?.get('traceparent') ?? '';
      await received(() => (pushes.length >= 1 ? true : undefined), 'the first push');
      const first = pushes[0]!;

      // SIGTERM: the bridge exports its last spans on the way out.
      expect(await bridge.stop('SIGTERM', 15_000), bridge.output()).toBe(0);
      bridge = await startUnit(layout, 'nats-bridge', bridgeEnv, { port: Number(new URL(bridge.url).port) });
      await received(() => (pushes.length >= 2 ? true : undefined), 'the re-push by the new bridge', 30_000);
      const again = pushes[pushes.length - 1]!;

      const publishes = await received((spans) => {
        const found = spans.filter((s) => s.traceId === caller.traceId && s.kind === PRODUCER);
        return found.length >= 2 ? found : undefined;
      }, 'both publish spans');
      for (const [msg, span] of [
        [first, publishes.find((s) => traceparentOf(first).includes(s.spanId))],
        [again, publishes.find((s) => traceparentOf(again).includes(s.spanId))],
      ] as const) {
        // The message's header names the publish span, in the invoke's trace, parented by the invoke.
        expect(traceparentOf(msg)).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
        expect(span, `a publish span for ${traceparentOf(msg)}`).toBeDefined();
        expect(span).toMatchObject({ service: 'cex-bridge-under-test', parentSpanId: server.spanId });
      }
      const [a, b] = [first, again].map((m) => publishes.find((s) => traceparentOf(m).includes(s.spanId))!);
      expect(a!.spanId).not.toBe(b!.spanId);
      // Two bridge processes, one trace.
      expect(a!.resource['service.instance.id']).not.toBe(b!.resource['service.instance.id']);
    } finally {
      sub.unsubscribe();
    }
  });
});

describe('sampling', () => {
  it("a caller's not-sampled flag holds in every process (OTEL_TRACES_SAMPLER's default, parentbased_always_on): no span of that trace anywhere", async () => {
    const [endpoint] = sim.endpointIds;
    const invoke = (traceparent: string) =>
      fetch(`${submit.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=15`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent },
        body: '{}',
      });
    const skipped = callerContext();
    const res = await invoke(`00-${skipped.traceId}-${skipped.spanId}-00`);
    expect(res.status).toBe(200);
    // The decision is stored with the command: the bridge and esp-inbound follow it.
    const [row] = await db.sql<{ traceparent: string }[]>`
      SELECT traceparent FROM commands WHERE endpoint_id = ${endpoint!} AND command_id = ${Number(res.headers.get('x-command-id'))}`;
    expect(row!.traceparent).toMatch(new RegExp(`^00-${skipped.traceId}-[0-9a-f]{16}-00$`));
    // A sampled invoke after it: once its push and result spans are in, the
    // exporters of all three processes have sent what came before.
    const sampled = callerContext();
    expect((await invoke(sampled.traceparent)).status).toBe(200);
    for (const name of ['wait for result', `publish ${espExtensionDataSubject(kpc)}`, 'record result']) {
      await received((spans) => one(spans, (s) => s.traceId === sampled.traceId && s.name === name), name);
    }
    expect(receiver.spans().filter((s) => s.traceId === skipped.traceId)).toEqual([]);
  });
});

describe('12/CIP and callbacks', () => {
  it("a 12/CIP request with a traceparent header: the bridge, command-submit's event, the push, the result and the CIP answer in its trace", async () => {
    const caller = callerContext();
    const [endpoint] = sim.endpointIds;
    const reply = `kaa.v1.replica.${uniquePrefix('caller')}.cip.command-result`;
    const answers: Msg[] = [];
    const sub = nc.subscribe(reply, { callback: (_err, msg) => void answers.push(msg) });
    try {
      await nc.flush();
      const headers = natsHeaders();
      headers.set('traceparent', caller.traceparent);
      const request = {
        correlationId: uniquePrefix('cip'),
        timestamp: Date.now(),
        timeout: 30_000,
        endpointId: endpoint!,
        commandType: 'open-valve',
        commandId: 7,
        payload: Buffer.from('{"open":true}'),
      };
      nc.publish(cipCommandRequestSubject(cex), encodeCommandInvocationRequest(request), { reply, headers });
      const inTrace = (s: ReceivedSpan) => s.traceId === caller.traceId;
      const forward = await received(
        (spans) => one(spans, (s) => inTrace(s) && s.kind === CONSUMER && s.service === 'cex-bridge-under-test'),
        "the bridge's consumer span",
      );
      expect(forward).toMatchObject({ parentSpanId: caller.spanId, name: `process ${cipCommandRequestSubject(cex)}` });
      const post = await received((spans) => one(spans, (s) => inTrace(s) && s.kind === CLIENT && s.name === 'POST'), "the bridge's POST");
      expect(post).toMatchObject({
        service: 'cex-bridge-under-test',
        parentSpanId: forward.spanId,
        attributes: { 'url.full': `${submit.url}/cloudevents` },
      });
      const hop = await received((spans) => one(spans, (s) => inTrace(s) && s.kind === SERVER), "command-submit's server span");
      expect(hop).toMatchObject({
        service: 'cex-command-submit',
        parentSpanId: post.spanId,
        attributes: { 'http.route': '/cloudevents' },
      });
      const event = await received((spans) => one(spans, (s) => inTrace(s) && s.name.startsWith('process org.')), 'the CIP event span');
      expect(event).toMatchObject({ name: 'process org.kaaproject.cip.v1.CommandInvocationRequest', parentSpanId: hop.spanId });
      for (const name of ['INSERT commands', `publish ${espExtensionDataSubject(kpc)}`, 'record result', 'publish (reply)']) {
        const span = await received((spans) => one(spans, (s) => inTrace(s) && s.name === name), name);
        expect(span.parentSpanId, name).toBe(event.spanId);
      }
      await received(() => (answers.length > 0 ? true : undefined), 'the CIP result');
      const answerSpan = one(receiver.spans(), (s) => inTrace(s) && s.name === 'publish (reply)')!;
      expect(answers[0]!.headers?.get('traceparent')).toBe(`00-${caller.traceId}-${answerSpan.spanId}-01`);
      expect(answerSpan.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': reply, 'cex.command_id': 7 });
    } finally {
      sub.unsubscribe();
    }
  });

  it('a result callback is a client span of the command trace, and the POST carries traceparent', async () => {
    const caller = callerContext();
    const [endpoint] = sim.endpointIds;
    const callbackUrl = `${hooks.url}/hook-${uniquePrefix('cb')}?token=secret`;
    const res = await fetch(
      `${submit.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=15&callbackUrl=${encodeURIComponent(callbackUrl)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: caller.traceparent },
        body: '{}',
      },
    );
    expect(res.status).toBe(200);
    const path_ = new URL(callbackUrl).pathname;
    const delivery = await received(() => hooks.deliveries.find((d) => d.path.startsWith(path_)), 'the callback');
    const server = await received((spans) => one(spans, (s) => s.traceId === caller.traceId && s.kind === SERVER), 'the invoke');
    const post = await received(
      (spans) => one(spans, (s) => s.traceId === caller.traceId && s.kind === CLIENT && s.name === 'POST'),
      'the POST',
    );
    expect(post).toMatchObject({
      service: 'cex-bridge-under-test',
      parentSpanId: server.spanId,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'url.full': `${hooks.url}${path_}` },
    });
    expect(delivery.headers.traceparent).toBe(`00-${caller.traceId}-${post.spanId}-01`);
  });
});

describe('a collector that is down', () => {
  it('loses spans, never a request, and is logged once', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const unit = await startUnit(layout, 'command-submit', {
      DATABASE_URL: db.url,
      CEX_AUTH: 'off',
      CEX_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: nobody,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${unit.url}/api/v1/endpoints/${uniquePrefix('ep')}/commands/reboot?awaitTimeout=0`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(202);
        await new Promise((r) => setTimeout(r, 100));
      }
      await received(() => unit.logLines().find((l) => String(l.msg).startsWith('exporting spans failed')), 'the failure logged');
      await new Promise((r) => setTimeout(r, 500));
      expect(unit.logLines().filter((l) => String(l.msg).startsWith('exporting spans failed'))).toHaveLength(1);
    } finally {
      expect(await unit.stop('SIGTERM', 15_000), unit.output()).toBe(0);
    }
  });
});

describe('tracing off', () => {
  it.each([
    [{}, false],
    [{ OTEL_SERVICE_NAME: 'cex' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false],
    [{ OTEL_TRACES_EXPORTER: '' }, false],
  ])('%j turns tracing on: %s', (env, on) => {
    expect(tracingWanted(env)).toBe(on);
  });

  it('no function bundle holds the SDK: it is dist/bundles/tracing.mjs, imported only when tracing is on', () => {
    const bundles = path.join(REPO_ROOT, 'dist', 'bundles');
    expect(readFileSync(path.join(bundles, 'tracing.mjs'), 'utf8')).toContain('BatchSpanProcessor');
    for (const target of ['command-submit', 'esp-inbound', 'nats-bridge']) {
      const code = readFileSync(path.join(bundles, `${target}.mjs`), 'utf8');
      expect(code, target).not.toContain('BatchSpanProcessor');
      expect(code, target).toContain('import("./tracing.mjs")');
    }
  });
});
