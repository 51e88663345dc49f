import { describe, expect, it } from 'vitest';
import { expiryWindowMillis, repushDelayMillis, toDescriptor, type Command } from '../../shared/domain/index.js';

describe('command rules', () => {
  it.each([
    [1, 5000],
    [2, 10_000],
    [3, 20_000],
    [4, 40_000],
    [5, 60_000],
    [50, 60_000],
  ])('re-push after %i pushes waits %i ms', (pushes, delay) => {
    expect(repushDelayMillis(pushes, 5000, 60_000)).toBe(delay);
  });

  it('gives zero-TTL commands the sync wait as their window', () => {
    expect(expiryWindowMillis(0, 10)).toBe(10_000);
    expect(expiryWindowMillis(0, 0)).toBe(0);
    expect(expiryWindowMillis(1500, 10)).toBe(1500);
  });

  it('maps a command to the descriptor with ISO-8601 UTC timestamps and Kaa field names', () => {
    const at = new Date('2026-11-24T10:00:00.123Z');
    const command = {
      endpointId: 'e-1',
      commandType: 'reboot',
      commandId: 7,
      tenantId: 'kaa',
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'OK',
      requestPayload: { a: 1 },
      responsePayload: null,
      createdAt: at,
      updatedAt: at,
      expiresAt: at,
      ttlMillis: 1,
      pushOnce: false,
      appVersionName: 'v1',
      applicationName: null,
      origin: 'rest',
      idempotencyKey: null,
      cipReplySubject: null,
      cipCorrelationId: null,
      callbackUrl: null,
      batchTaskId: null,
      pushCount: 2,
      lastPushedAt: at,
      fetchedAt: null,
      version: 2,
    } satisfies Command;
    expect(toDescriptor(command)).toEqual({
      commandId: 7,
      commandType: 'reboot',
      endpointId: 'e-1',
      status: 'EXECUTED',
      statusCode: 200,
      reasonPhrase: 'OK',
      requestPayload: { a: 1 },
      responsePayload: null,
      createdAt: '2026-11-24T10:00:00.123Z',
      updatedAt: '2026-11-24T10:00:00.123Z',
      expiresAt: '2026-11-24T10:00:00.123Z',
      appVersionName: 'v1',
      delivery: { pushes: 2, lastPushedAt: '2026-11-24T10:00:00.123Z', fetchedAt: null },
    });
  });
});
