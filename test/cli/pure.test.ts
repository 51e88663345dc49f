import { describe, expect, it } from 'vitest';
import { deliveryText, descriptorTable, statusText, table } from '../../shared/cli/format.js';
import { startSpinner } from '../../shared/cli/spinner.js';
import type { CommandDescriptor } from '../../shared/domain/index.js';

const base: CommandDescriptor = {
  commandId: 7,
  commandType: 'reboot',
  endpointId: 'e-1',
  status: 'EXECUTED',
  statusCode: 200,
  reasonPhrase: 'OK',
  requestPayload: null,
  responsePayload: null,
  createdAt: '2026-11-24T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:01.000Z',
  expiresAt: '2026-11-24T10:01:00.000Z',
  appVersionName: null,
  delivery: { pushes: 2, lastPushedAt: '2026-11-24T10:00:00.500Z', fetchedAt: null },
};

describe('cex output', () => {
  it('aligns tables and spells out status and delivery', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['xx', 1],
          [null, 'y'],
        ],
      ),
    ).toBe('A   LONGER\nxx  1\n-   y\n');
    expect(statusText(base)).toBe('EXECUTED 200 OK');
    expect(statusText({ ...base, status: 'EXPIRED', statusCode: null, reasonPhrase: null })).toBe('EXPIRED');
    expect(deliveryText(base)).toBe('pushed 2× (last 2026-11-24 10:00:00Z), never fetched');
    expect(deliveryText({ ...base, delivery: { pushes: 0, lastPushedAt: null, fetchedAt: '2026-11-24T10:00:02.000Z' } })).toBe(
      'not pushed, fetched 2026-11-24 10:00:02Z',
    );
    expect(descriptorTable([])).toBe('no commands\n');
  });

  it('draws the spinner only on a terminal', () => {
    const written: string[] = [];
    const fake = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    startSpinner('waiting', fake(false)).stop();
    expect(written).toEqual([]);
    const spinner = startSpinner('waiting for e-1/reboot/7', fake(true));
    spinner.stop();
    // eslint-disable-next-line no-control-regex -- the spinner writes the ANSI escape (ESC [2K) this matches
    expect(written[0]).toMatch(/^\r\x1b\[2K. waiting for e-1\/reboot\/7 \(0s\)$/);
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });
});
