import { createHmac } from 'node:crypto';
import { generateKeyPair, type KeyObject } from 'jose';
import type { Issuer } from '../helpers/peers.js';

const ALL_SCOPES = 'endpoint:update endpoint:read application:endpoint-command:read';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/**
 * The bearer tokens rest.jsonl names by placeholder (`$TOKEN`, `$TOKEN_…`):
 * real signatures of the test issuer cannot live in a checked-in file, so
 * the runner mints them per run and substitutes them in header values.
 */
export async function corpusTokens(issuer: Issuer): Promise<Record<string, string>> {
  const { privateKey: otherKey } = await generateKeyPair('RS256');
  const header = { alg: 'RS256', kid: issuer.kid, typ: 'JWT' };
  const claims = { iss: issuer.issuer, sub: 'corpus', exp: now() + 600 };
  const hmac = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, scope: ALL_SCOPES })}`;
  return {
    $TOKEN: await issuer.sign({ scope: ALL_SCOPES, sub: 'corpus' }),
    $TOKEN_READONLY: await issuer.sign({ scope: 'endpoint:read', sub: 'corpus' }),
    $TOKEN_NO_SCOPE: await issuer.sign({ sub: 'corpus' }),
    $TOKEN_EXPIRED: await issuer.sign({ scope: ALL_SCOPES }, { expiresIn: now() - 3600 }),
    $TOKEN_NOT_YET_VALID: await issuer.sign({ scope: ALL_SCOPES }, { notBefore: now() + 3600 }),
    $TOKEN_NO_EXP: await issuer.sign({ scope: ALL_SCOPES }, { expiresIn: null }),
    $TOKEN_FOREIGN_KEY: await issuer.sign({ scope: ALL_SCOPES }, { key: otherKey as KeyObject }),
    $TOKEN_UNKNOWN_ISSUER: await issuer.sign({ scope: ALL_SCOPES, iss: 'https://issuer.invalid/realms/x' }),
    $TOKEN_NONE_ALG: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, scope: ALL_SCOPES })}.`,
    $TOKEN_HS256: `${hmac}.${createHmac('sha256', 'secret').update(hmac).digest('base64url')}`,
    $TOKEN_BAD_SIGNATURE: `${b64(header)}.${b64({ ...claims, scope: ALL_SCOPES })}.${'A'.repeat(342)}`,
  };
}

/** Replaces every `$TOKEN…` placeholder in `value` (longest names first). */
export function withTokens(value: string, tokens: Record<string, string>): string {
  let out = value;
  for (const name of Object.keys(tokens).sort((a, b) => b.length - a.length)) out = out.split(name).join(tokens[name]!);
  return out;
}
