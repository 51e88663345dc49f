/**
 * The REST load of the fault scenarios: N logical commands, each invoked
 * until CEX accepts it (200 or 202), with the Idempotency-Key a careful client
 * sends, so a retry after a 503 or a dropped connection can never create a
 * second command. What every attempt got is recorded for the figures.
 */

/** One logical command and what became of it. */
export interface Outcome {
  n: number;
  endpointId: string;
  /** 200 (sync result), 202 (accepted, no result yet), or 0: never accepted. */
  status: number;
  commandId: number | undefined;
  attempts: number;
  /** 503 answers and dropped/refused connections before acceptance. */
  unavailable: number;
  networkErrors: number;
  /** Other statuses: none is expected. */
  unexpected: string[];
  /** Epoch ms of the first 503, of acceptance, and of the start of the accepted attempt. */
  first503At: number | undefined;
  acceptedAt: number | undefined;
  acceptedAttemptAt: number | undefined;
  /** Milliseconds of the accepted attempt alone. */
  latencyMs: number;
}

export interface LoadOptions {
  /** Base URLs to invoke on, round-robin per logical command (several command-submit processes). */
  urls: () => readonly string[];
  endpointIds: readonly string[];
  commandType: string;
  /** Logical command numbers [from, from + count). */
  from?: number;
  count: number;
  concurrency: number;
  /** 0: async invoke; > 0: sync, waiting that many seconds. */
  awaitTimeout: number;
  /** Distinguishes Idempotency-Keys between runs on one database. */
  runId: string;
  /** Give up on a logical command after this long (ms). */
  giveUpMs?: number;
  /** The callbackUrl of logical command n, if it has one (the same on every attempt). */
  callbackUrl?: (n: number) => string | undefined;
}

export interface Load {
  outcomes: Outcome[];
  /** Accepted so far (live, for triggering faults mid-run). */
  accepted(): number;
  done: Promise<Outcome[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the load; `done` resolves when every logical command was accepted or given up. */
export function startLoad(options: LoadOptions): Load {
  const from = options.from ?? 0;
  const outcomes: Outcome[] = [];
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < options.count) {
      const n = from + next++;
      const outcome = await invokeUntilAccepted(n, options);
      if (outcome.status) accepted++;
      outcomes.push(outcome);
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => outcomes.sort((a, b) => a.n - b.n));
  return { outcomes, accepted: () => accepted, done };
}

async function invokeUntilAccepted(n: number, options: LoadOptions): Promise<Outcome> {
  const endpointId = options.endpointIds[n % options.endpointIds.length]!;
  const o: Outcome = {
    n,
    endpointId,
    status: 0,
    commandId: undefined,
    attempts: 0,
    unavailable: 0,
    networkErrors: 0,
    unexpected: [],
    first503At: undefined,
    acceptedAt: undefined,
    acceptedAttemptAt: undefined,
    latencyMs: 0,
  };
  const deadline = Date.now() + (options.giveUpMs ?? 90_000);
  const body = JSON.stringify({ n, run: options.runId });
  while (Date.now() < deadline) {
    const urls = options.urls();
    const callback = options.callbackUrl?.(n);
    const url =
      `${urls[(n + o.attempts) % urls.length]}/api/v1/endpoints/${endpointId}/commands/${options.commandType}?awaitTimeout=${options.awaitTimeout}` +
      (callback ? `&callbackUrl=${encodeURIComponent(callback)}` : '');
    o.attempts++;
    const started = performance.now();
    const startedAt = Date.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${options.runId}-${n}` },
        body,
        signal: AbortSignal.timeout((options.awaitTimeout + 30) * 1000),
      });
    } catch {
      o.networkErrors++;
      await sleep(100);
      continue;
    }
    const text = await res.text();
    if (res.status === 200 || res.status === 202) {
      o.status = res.status;
      o.acceptedAt = Date.now();
      o.acceptedAttemptAt = startedAt;
      o.latencyMs = performance.now() - started;
      o.commandId = Number(res.headers.get('x-command-id') ?? (JSON.parse(text) as { commandId: number }).commandId);
      return o;
    }
    if (res.status === 503) {
      o.unavailable++;
      o.first503At ??= Date.now();
      await sleep(Number(res.headers.get('retry-after') ?? 0) * 1000 || 100);
      continue;
    }
    o.unexpected.push(`${res.status} ${text.slice(0, 160)}`);
    if (o.unexpected.length >= 3) return o;
    await sleep(100);
  }
  return o;
}

/** p-th percentile (0-100) of `values`, in the values' unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
