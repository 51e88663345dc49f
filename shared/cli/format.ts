import type { CommandDescriptor } from '../domain/index.js';

/** Plain-text rendering of what the API returns, for people (`--json` skips all of it). */

/** A left-aligned table with a header row; cells are stringified. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** `e-1/reboot/7` */
export function commandName(d: Pick<CommandDescriptor, 'endpointId' | 'commandType' | 'commandId'>): string {
  return `${d.endpointId}/${d.commandType}/${d.commandId}`;
}

/** `EXECUTED 200 OK`, `PENDING`, `EXPIRED` */
export function statusText(d: Pick<CommandDescriptor, 'status' | 'statusCode' | 'reasonPhrase'>): string {
  if (d.status !== 'EXECUTED') return d.status;
  return [d.status, d.statusCode, d.reasonPhrase].filter((v) => v !== null && v !== undefined && v !== '').join(' ');
}

/** The descriptor's delivery block in words: how often pushed, when fetched. */
export function deliveryText(d: CommandDescriptor): string {
  const { pushes, lastPushedAt, fetchedAt } = d.delivery;
  const pushed = pushes === 0 ? 'not pushed' : `pushed ${pushes}× (last ${time(lastPushedAt)})`;
  return `${pushed}, ${fetchedAt ? `fetched ${time(fetchedAt)}` : 'never fetched'}`;
}

/** One descriptor as labelled lines. */
export function descriptorText(d: CommandDescriptor): string {
  const rows: [string, string][] = [
    ['command', commandName(d)],
    ['status', statusText(d)],
    ['created', time(d.createdAt)],
    ['updated', time(d.updatedAt)],
    ['expires', time(d.expiresAt)],
    ['app version', d.appVersionName ?? '-'],
    ['request', json(d.requestPayload)],
    // "-": no response yet (or never); once EXECUTED, the endpoint's payload as JSON, null included.
    ['response', d.status === 'EXECUTED' ? json(d.responsePayload) : '-'],
    ['delivery', deliveryText(d)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join('\n') + '\n';
}

/** Descriptors as a table, one row each. */
export function descriptorTable(list: readonly CommandDescriptor[]): string {
  if (list.length === 0) return 'no commands\n';
  return table(
    ['ENDPOINT', 'TYPE', 'ID', 'STATUS', 'CREATED', 'PUSHES', 'FETCHED'],
    list.map((d) => [
      d.endpointId,
      d.commandType,
      d.commandId,
      statusText(d),
      time(d.createdAt),
      d.delivery.pushes,
      d.delivery.fetchedAt ? time(d.delivery.fetchedAt) : '-',
    ]),
  );
}

/** One live status event as a line: local time, command, status. */
export function eventLine(d: CommandDescriptor): string {
  const clock = new Date().toISOString().slice(11, 23);
  return `${clock}  ${commandName(d)}  ${statusText(d)}  ${deliveryText(d)}\n`;
}

/** A timestamp as `2026-11-24 10:00:00Z` (seconds are enough for people). */
export function time(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '-';
}

/** Compact JSON, cut at 200 characters for tables and lines. */
export function json(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
