import type { CexTarget } from './cex.js';
import { HttpClient } from './lib/http.js';
import { nowMs } from './lib/stats.js';

const TIMED_RUNS = 3;

/**
 * Batch creation: one POST …/batch/by-endpoints with `count` endpoint ids,
 * timed from request to 202 (the bulk INSERT of every command, its push rows
 * and the task in one transaction). Each batch is timed once the bridge has
 * pushed the one before: timed while the 10,000 pushes of the previous batch
 * were still being published, the figure measured the drainer as much as the
 * create (934 to 1,254 ms between runs). The median of TIMED_RUNS, after a
 * warm-up batch. Null when the route is not served.
 */
export async function measureBatch(t: CexTarget, count: number): Promise<{ endpoints: number; ms: number; perSecond: number } | null> {
  const client = new HttpClient(1);
  const body = (prefix: string) =>
    JSON.stringify({ payload: { firmware: '1.2.3' }, endpointIds: Array.from({ length: count }, (_, i) => `${prefix}-${i}`) });
  const url = `${t.host.url}/api/v1/endpoints/commands/update-firmware/batch/by-endpoints?commandTtl=600000`;
  try {
    const warm = await client.request('POST', url, body('batch-warm'));
    if (warm.status === 404 || warm.status === 405) return null;
    const times: number[] = [];
    for (let run = 0; run < TIMED_RUNS; run++) {
      await pushed(t);
      const started = nowMs();
      const res = await client.request('POST', url, body(`batch${run}`));
      times.push(nowMs() - started);
      if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${res.body.slice(0, 300)}`);
    }
    const ms = times.sort((a, b) => a - b)[Math.floor(TIMED_RUNS / 2)]!;
    return { endpoints: count, ms: Math.round(ms), perSecond: Math.round(count / (ms / 1000)) };
  } finally {
    client.close();
  }
}

/** Waits until the bridge has published every batch push (no push row of a batch endpoint is left). */
async function pushed(t: CexTarget): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE kind = 'push' AND endpoint_id LIKE 'batch%'`;
    if (row!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${row!.n} batch pushes still unpublished after 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
