import type { EndpointCursor } from '../store/index.js';

/**
 * Event ids of the live status streams (docs/rest-api.md, Live status).
 *
 * One command's stream: the id is the command's `version` (1 when created,
 * bumped by its one status change), so `Last-Event-ID: 1` resumes with the
 * final state, and a client that saw the final state is told 204 (stop).
 *
 * An endpoint's stream spans many commands whose changes commit in any
 * order, so no counter or timestamp taken before commit can be a safe
 * resume point: a slow transaction would commit a change "behind" it, and a
 * resume would skip it. Its ids are Postgres snapshots instead (see
 * store/streams.ts): "everything the snapshot sees, plus, of what the next
 * snapshot adds, the keys up to here". The rows a snapshot does not see are
 * exactly those changed after it, whenever they commit, so a resume repeats
 * nothing and misses nothing. The id is opaque to clients (base64url of a
 * small JSON array, prefixed `e1.`); its size grows with the transactions in
 * flight at the time, normally a few dozen bytes.
 */

/** The start of a stream without Last-Event-ID: the endpoint's PENDING commands, then every change. */
export const INITIAL_CURSOR: EndpointCursor = { base: '*', current: null, lastType: null, lastId: null };

const PREFIX = 'e1.';
// pg_snapshot text: xmin:xmax:xip,xip,… (64-bit decimal numbers).
const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/;
const TYPE = /^[A-Za-z0-9_-]{1,128}$/;
// Far above any real snapshot text (the xip list is bounded by max_connections).
const MAX_ID_LENGTH = 64 * 1024;

/** Everything `snapshot` sees has been sent. */
export function completeAt(snapshot: string): EndpointCursor {
  return { base: snapshot, current: snapshot, lastType: null, lastId: null };
}

export function encodeEndpointCursor(c: EndpointCursor): string {
  return PREFIX + Buffer.from(JSON.stringify([c.base, c.current, c.lastType, c.lastId]), 'utf8').toString('base64url');
}

/** The cursor of an endpoint stream's Last-Event-ID; undefined when it is not one this API made. */
export function decodeEndpointCursor(id: string): EndpointCursor | undefined {
  if (!id.startsWith(PREFIX) || id.length > MAX_ID_LENGTH) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(id.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [base, current, lastType, lastId] = value as unknown[];
  const okBase = base === '*' || (typeof base === 'string' && SNAPSHOT.test(base));
  const okCurrent = typeof current === 'string' && SNAPSHOT.test(current);
  const okKey =
    (lastType === null && lastId === null) ||
    (typeof lastType === 'string' && TYPE.test(lastType) && Number.isInteger(lastId) && (lastId as number) > 0);
  if (!okBase || !okCurrent || !okKey) return undefined;
  return { base: base as string, current: current as string, lastType: lastType as string | null, lastId: lastId as number | null };
}

/** The version a single-command stream resumes after; 0 without Last-Event-ID; undefined when malformed. */
export function decodeVersion(id: string | undefined): number | undefined {
  if (id === undefined || id === '') return 0;
  return /^\d{1,10}$/.test(id) && Number(id) <= 2_147_483_647 ? Number(id) : undefined;
}

/**
 * The ids of one read's events, in send order. `continued` rows finish the
 * cursor's own set (their ids keep its snapshots); `fresh` rows are what the
 * read's snapshot adds (their ids move base to the cursor's current one).
 * The last event gets the read's complete cursor, which is also where the
 * stream stands afterwards.
 */
export function eventCursors(
  cursor: EndpointCursor,
  snapshot: string,
  rows: readonly { part: 'continued' | 'fresh'; commandType: string; commandId: number }[],
): EndpointCursor[] {
  return rows.map((r, i) => {
    if (i === rows.length - 1) return completeAt(snapshot);
    if (r.part === 'continued') return { ...cursor, lastType: r.commandType, lastId: r.commandId };
    return { base: cursor.current ?? '*', current: snapshot, lastType: r.commandType, lastId: r.commandId };
  });
}
