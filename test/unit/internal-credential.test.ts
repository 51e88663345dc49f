import { describe, expect, it } from 'vitest';
import { internalAuthHeaders, judgeInternalCredential } from '../../shared/auth/internal.js';

const A = 'a-token-of-the-bridge-0123456789abcdef';
const B = 'b-token-of-the-bridge-0123456789abcdef';

describe('the internal credential', () => {
  it('is sent as a bearer token when configured, and not at all otherwise', () => {
    expect(internalAuthHeaders({ internalAuth: { token: A, accepted: [A] } })).toEqual({ authorization: `Bearer ${A}` });
    expect(internalAuthHeaders({ internalAuth: { token: undefined, accepted: [] } })).toEqual({});
  });

  it('accepts exactly an accepted token, under the Bearer scheme in any case', () => {
    expect(judgeInternalCredential([A], `Bearer ${A}`)).toBe('ok');
    expect(judgeInternalCredential([A], `bearer ${A}`)).toBe('ok');
    expect(judgeInternalCredential([A], `Bearer ${A} `)).toBe('ok');
  });

  it('tells a missing credential from a wrong one', () => {
    expect(judgeInternalCredential([A], undefined)).toBe('missing');
    expect(judgeInternalCredential([A], '')).toBe('missing');
    expect(judgeInternalCredential([A], A)).toBe('missing');
    expect(judgeInternalCredential([A], `Basic ${A}`)).toBe('missing');
    expect(judgeInternalCredential([A], [`Bearer ${A}`, `Bearer ${A}`])).toBe('missing');
    expect(judgeInternalCredential([A], `Bearer ${B}`)).toBe('invalid');
    expect(judgeInternalCredential([A], `Bearer ${A}x`)).toBe('invalid');
    expect(judgeInternalCredential([A], `Bearer ${A.slice(0, -1)}`)).toBe('invalid');
    expect(judgeInternalCredential([A], `Bearer ${A.toUpperCase()}`)).toBe('invalid');
  });

  it('accepts both tokens of a rotation, and nothing when none is configured', () => {
    expect(judgeInternalCredential([A, B], `Bearer ${A}`)).toBe('ok');
    expect(judgeInternalCredential([A, B], `Bearer ${B}`)).toBe('ok');
    expect(judgeInternalCredential([A, B], 'Bearer c-token-of-the-bridge-0123456789abcdef')).toBe('invalid');
    expect(judgeInternalCredential([], `Bearer ${A}`)).toBe('invalid');
  });
});
