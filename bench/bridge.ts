import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { decodeExtensionData, encodeClientData, espClientDataSubject, espExtensionDataSubject } from '../shared/protocol/index.js';
import type { CexTarget } from './cex.js';
import { HttpClient } from './lib/http.js';
import { nowMs, Samples } from './lib/stats.js';

/**
 * The bridge's two paths, one at a time (concurrency 1), through the dev host:
 * - push: an async invoke sent → its ExtensionData push seen on the
 *   communication service's subject. From the request, not its 202: the
 *   dev host publishes a push its create claimed before it answers, so
 *   "202 → push" came out negative;
 * - forward: a 4/ESP ClientData request (a poll) → bridge → esp-inbound →
 *   the ExtensionData answer on the requester's reply subject.
 * These figures were upper bounds in test/bridge/latency.test.ts; speed is
 * measured here, never asserted in a test.
 */
export async function measureBridgePaths(
  t: CexTarget,
  samples: number,
): Promise<{ push: { p50: number; p99: number; n: number }; forward: { p50: number; p99: number; n: number } }> {
  const nc = await connect({ servers: t.natsUrl.split(','), name: 'cex-bench-bridge' });
  const client = new HttpClient(1);
  const seen = new Map<string, number>();
  const sub = nc.subscribe(espExtensionDataSubject(t.kpc), {
    callback: (_err, msg) => {
      try {
        const endpointId = decodeExtensionData(msg.data).endpointId;
        if (endpointId && !seen.has(endpointId)) seen.set(endpointId, nowMs());
      } catch {
        // Not a push of ours.
      }
    },
  });
  await nc.flush();
  const push = new Samples();
  for (let i = 0; i < samples; i++) {
    const endpoint = `bridge-push-${i}`;
    const sent = nowMs();
    const res = await client.request('POST', `${t.host.url}/api/v1/endpoints/${endpoint}/commands/reboot?awaitTimeout=0`, '1');
    if (res.status !== 202) throw new Error(`bridge bench: invoke answered ${res.status}`);
    const deadline = Date.now() + 30_000;
    while (!seen.has(endpoint)) {
      if (Date.now() > deadline) throw new Error(`bridge bench: no push for ${endpoint} within 30 s`);
      await new Promise((r) => setImmediate(r));
    }
    push.add(seen.get(endpoint)! - sent);
  }
  sub.unsubscribe();

  const forward = new Samples();
  for (let i = 0; i < samples; i++) {
    const bytes = encodeClientData({
      correlationId: randomUUID(),
      timestamp: Date.now(),
      timeout: 0,
      appVersionName: 'bench-v1',
      endpointId: `bridge-poll-${i}`,
      resourcePath: '/command/reboot',
      requestId: i + 1,
      payload: Buffer.from('{"observe":false}'),
      configName: null,
    });
    await forward.time(() => nc.request(espClientDataSubject(t.cex), bytes, { timeout: 30_000 }));
  }
  client.close();
  await nc.close();
  return { push: push.summary(), forward: forward.summary() };
}
