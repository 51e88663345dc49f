import type { CexTarget } from './cex.js';
import { HttpClient } from './lib/http.js';
import { nowMs } from './lib/stats.js';

/**
 * Batch creation: one POST …/batch/by-endpoints with `count` endpoint ids,
 * timed from request to 202 (the bulk INSERT of every command, its push rows
 * and the task in one transaction). Null when the route is not served.
 */
export async function measureBatch(t: CexTarget, count: number): Promise<{ endpoints: number; ms: number; perSecond: number } | null> {
  const client = new HttpClient(1);
  const body = (prefix: string) =>
    JSON.stringify({ payload: { firmware: '1.2.3' }, endpointIds: Array.from({ length: count }, (_, i) => `${prefix}-${i}`) });
  const url = `${t.host.url}/api/v1/endpoints/commands/update-firmware/batch/by-endpoints?commandTtl=600000`;
  const warm = await client.request('POST', url, body('batch-warm'));
  if (warm.status === 404 || warm.status === 405) {
    client.close();
    return null;
  }
  const started = nowMs();
  const res = await client.request('POST', url, body('batch'));
  const ms = nowMs() - started;
  client.close();
  if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${res.body.slice(0, 300)}`);
  return { endpoints: count, ms: Math.round(ms), perSecond: Math.round(count / (ms / 1000)) };
}
