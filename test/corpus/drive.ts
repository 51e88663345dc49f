/**
 * Sends corpus lines through the real surfaces of a running dev host and
 * says, for each, whether it got its documented answer: the HTTP status and
 * a problem+json body with the code; the 1/KP error ExtensionData or the
 * CIP result with the status; or a drop the bridge counted (and logs).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import * as P from '../../shared/protocol/index.js';
import { requestBytes, sendRaw, type RestInput } from './raw-http.js';
import { cipRequestBytes, clientDataBytes, eventBytes, eventSubject, type Names, type NatsInput } from './messages.js';
import { withTokens } from './tokens.js';

/** Reads one .jsonl file of this folder, expanding `{{c*N}}` runs. */
export function loadCorpus<T>(file: string): T[] {
  const text = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line.replace(/\{\{(.)\*(\d+)\}\}/g, (_m, c: string, count: string) => c.repeat(Number(count)))) as T);
}

/** Why an input did not get its documented answer; undefined when it did. */
export type Verdict = string | undefined;

/** Answers after which the server must close the connection itself (README, Operations): its parser state is lost. */
const CLOSES = new Set(['MALFORMED_REQUEST', 'MISSING_HOST', 'REQUEST_TIMEOUT']);

export async function checkRest(port: number, input: RestInput, tokens: Record<string, string>): Promise<Verdict> {
  const withAuth: RestInput = {
    ...input,
    headers: input.headers?.map(([k, v]): [string, string | null] => [k, v === null ? null : withTokens(v, tokens)]),
  };
  // For those, no Connection: close is sent: the server must close by itself.
  const mustClose = CLOSES.has(input.expect.code ?? '');
  const request = requestBytes(withAuth, `127.0.0.1:${port}`, `Bearer ${tokens.$TOKEN}`, mustClose);
  const res = await sendRaw(port, request, 30_000, { awaitClose: mustClose, ...(input.stall ? { stall: input.stall } : {}) });
  if (res.status !== input.expect.status) return `status ${res.status} (${res.body.slice(0, 200)})`;
  if (mustClose && !res.closed) return `answered ${res.status} ${input.expect.code} but left the connection open`;
  if (res.headers['content-type'] !== 'application/problem+json') return `content-type ${res.headers['content-type']}`;
  if (input.method === 'HEAD') return undefined;
  let problem: { status?: unknown; code?: unknown; type?: unknown; title?: unknown; detail?: unknown };
  try {
    problem = JSON.parse(res.body) as typeof problem;
  } catch {
    return `body is not JSON: ${res.body.slice(0, 120)}`;
  }
  if (problem.status !== res.status || typeof problem.title !== 'string' || typeof problem.detail !== 'string')
    return `not a problem: ${res.body.slice(0, 200)}`;
  if (typeof problem.code !== 'string' || !/^[A-Z0-9_]+$/.test(problem.code)) return `no stable code: ${res.body.slice(0, 200)}`;
  if (input.expect.code && problem.code !== input.expect.code) return `code ${problem.code}, not ${input.expect.code}`;
  return undefined;
}

/** The bridge's counter of NATS messages, by `kind/outcome`. */
export async function natsCounters(hostUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${hostUrl}/metrics`)).text();
  const counters = new Map<string, number>();
  for (const m of text.matchAll(/^cex_nats_messages_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    counters.set(`${labels.subject_kind}/${labels.outcome}`, Number(m[2]));
  }
  return counters;
}

/** Publishes NATS corpus lines and collects what comes back. */
export class NatsDriver {
  private readonly answers: { subject: string; data: Uint8Array }[] = [];
  private nextRequestId = 1_000_000;
  readonly replyEsp = 'kaa.v1.replica.corpus.esp.ExtensionData';
  readonly replyCip = 'kaa.v1.replica.corpus.cip.command-result';

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    private readonly hostUrl: string,
  ) {
    for (const subject of [this.replyEsp, this.replyCip, P.espExtensionDataSubject(names.kpc)]) {
      nc.subscribe(subject, { callback: (_err, msg) => void this.answers.push({ subject: msg.subject, data: msg.data }) });
    }
  }

  async esp(input: NatsInput): Promise<Verdict> {
    const requestId = this.nextRequestId++;
    const bytes = clientDataBytes(input, requestId);
    const correlationId = input.hex === undefined ? P.decodeClientData(bytes).correlationId : '';
    return this.publish('esp', input, P.espClientDataSubject(this.names.cex), bytes, input.noReply ? undefined : this.replyEsp, () => {
      const answer = this.find((a) => {
        const d = P.decodeExtensionData(a.data);
        return d.correlationId === correlationId && (d.requestId === requestId || input.noReply === true) ? d : undefined;
      });
      if (!answer) return undefined;
      const body = JSON.parse(answer.payload?.toString('utf8') ?? 'null') as { statusCode?: unknown; reasonPhrase?: unknown } | null;
      const kpError = body?.statusCode === answer.statusCode && typeof body?.reasonPhrase === 'string' && body.reasonPhrase !== '';
      const problem =
        answer.statusCode < 300 || kpError ? undefined : `not a 1/KP error body: ${answer.payload?.toString('utf8').slice(0, 120)}`;
      return { status: answer.statusCode, problem };
    });
  }

  async cip(input: NatsInput): Promise<Verdict> {
    const { bytes, correlationId } = cipRequestBytes(input);
    return this.publish('cip', input, P.cipCommandRequestSubject(this.names.cex), bytes, input.noReply ? undefined : this.replyCip, () => {
      const result = this.find((a) => {
        if (a.subject !== this.replyCip) return undefined;
        const r = P.decodeCommandInvocationResult(a.data);
        return r.correlationId === correlationId ? r : undefined;
      });
      return result && { status: result.statusCode, problem: result.reasonPhrase ? undefined : 'a CIP refusal without a reason' };
    });
  }

  async event(input: NatsInput): Promise<Verdict> {
    const kind = input.type?.startsWith('scmp') ? 'scmp' : input.type?.startsWith('tle') ? 'tle' : 'elce';
    return this.publish(kind, input, eventSubject(input, this.names), eventBytes(input), undefined, () => undefined);
  }

  private find<T>(match: (a: { subject: string; data: Uint8Array }) => T | undefined): T | undefined {
    for (const a of this.answers) {
      try {
        const found = match(a);
        if (found) return found;
      } catch {
        // Not the message type looked for.
      }
    }
    return undefined;
  }

  private async publish(
    kind: string,
    input: NatsInput,
    subject: string,
    bytes: Uint8Array,
    reply: string | undefined,
    answered: () => { status: number; problem: string | undefined } | undefined,
  ): Promise<Verdict> {
    const expect = input.expect;
    const counter = 'drop' in expect ? `${kind}/${expect.drop}` : `${kind}/forwarded`;
    const before = (await natsCounters(this.hostUrl)).get(counter) ?? 0;
    this.nc.publish(subject, bytes, reply ? { reply } : {});
    // A deadline for an input that went wrong, generous for a busy machine.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 15));
      if ('answer' in expect) {
        const got = answered();
        if (got) return got.status !== expect.answer ? `answered ${got.status}, not ${expect.answer}` : got.problem;
      } else if (((await natsCounters(this.hostUrl)).get(counter) ?? 0) > before) {
        return undefined;
      }
    }
    return 'answer' in expect ? 'no answer within 20 s' : `counter ${counter} did not move within 20 s`;
  }
}
