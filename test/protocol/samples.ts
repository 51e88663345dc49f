/**
 * Hand-picked sample messages per codec: nulls in every union, empty and
 * non-empty maps/arrays, unicode, zero/negative/large longs, empty bytes.
 * Longs stay within ±2^52 so plain avsc can check them; the extremes are
 * covered separately.
 */
import type { CodecName } from './reference.js';

const BIG = 2 ** 52;
const NOW = 1_764_000_000_000;
const UNICODE = 'tëst-Ω-设备-🚀';

const envelopes = [
  { correlationId: 'c-1', timestamp: NOW, timeout: 0 },
  { correlationId: '', timestamp: 0, timeout: 5000 },
  { correlationId: UNICODE, timestamp: BIG, timeout: -BIG },
  { correlationId: 'x'.repeat(300), timestamp: 9_007_199_254_740_990, timeout: 2_147_483_648 },
];

/** Pairs each envelope with the next variant, cycling, so every variant is covered. */
function mix(variants: Record<string, unknown>[]): Record<string, unknown>[] {
  const count = Math.max(variants.length, envelopes.length);
  return Array.from({ length: count }, (_, i) => ({ ...envelopes[i % envelopes.length], ...variants[i % variants.length] }));
}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

export const SAMPLES: Record<CodecName, Record<string, unknown>[]> = {
  clientData: mix([
    {
      appVersionName: 'app-v1',
      endpointId: 'ep-1',
      resourcePath: '/command/reboot',
      requestId: 42,
      payload: bytes('{"observe":true}'),
      configName: null,
    },
    {
      appVersionName: '',
      endpointId: null,
      resourcePath: '/result/SWITCH',
      requestId: null,
      payload: Buffer.alloc(0),
      configName: 'default',
    },
    {
      appVersionName: UNICODE,
      endpointId: UNICODE,
      resourcePath: '/command',
      requestId: -2_147_483_648,
      payload: Buffer.from([0, 255, 1]),
      configName: UNICODE,
    },
    { appVersionName: 'v', endpointId: 'e', resourcePath: '', requestId: 2_147_483_647, payload: bytes('[]'), configName: null },
  ]),
  extensionData: mix([
    {
      appVersionName: 'app-v1',
      extensionInstanceName: 'cex',
      endpointId: 'ep-1',
      resourcePath: '/command/reboot',
      requestId: 7,
      payload: bytes('[{"id":1,"payload":null}]'),
      statusCode: 200,
      reasonPhrase: null,
    },
    {
      appVersionName: null,
      extensionInstanceName: null,
      endpointId: null,
      resourcePath: '/result/x',
      requestId: null,
      payload: null,
      statusCode: 400,
      reasonPhrase: 'bad',
    },
    {
      appVersionName: UNICODE,
      extensionInstanceName: 'cex',
      endpointId: 'e',
      resourcePath: '/command',
      requestId: 0,
      payload: Buffer.alloc(0),
      statusCode: -1,
      reasonPhrase: UNICODE,
    },
    {
      appVersionName: 'a',
      extensionInstanceName: '',
      endpointId: '',
      resourcePath: '',
      requestId: -1,
      payload: Buffer.alloc(1000, 7),
      statusCode: 2_147_483_647,
      reasonPhrase: '',
    },
  ]),
  commandInvocationRequest: mix([
    { endpointId: 'ep-1', commandType: 'reboot', commandId: 1, payload: bytes('{"delay":5}') },
    { endpointId: '', commandType: '', commandId: 0, payload: null },
    { endpointId: UNICODE, commandType: 'close-door', commandId: 2_147_483_647, payload: Buffer.alloc(0) },
    { endpointId: 'e', commandType: 'T', commandId: -2_147_483_648, payload: bytes('null') },
  ]),
  commandInvocationResult: mix([
    {
      appVersionName: 'app-v1',
      endpointId: 'ep-1',
      commandType: 'reboot',
      commandId: 1,
      statusCode: 200,
      reasonPhrase: 'OK',
      payload: bytes('{"ok":true}'),
    },
    { appVersionName: '', endpointId: 'e', commandType: 't', commandId: 9, statusCode: 408, reasonPhrase: null, payload: null },
    {
      appVersionName: UNICODE,
      endpointId: UNICODE,
      commandType: UNICODE,
      commandId: 0,
      statusCode: 0,
      reasonPhrase: UNICODE,
      payload: Buffer.alloc(0),
    },
  ]),
  broadcastConfigurationUpdate: mix([
    { originatorReplicaId: 'tekton-0', tenantID: null, appName: null, appVerName: null },
    { originatorReplicaId: '', tenantID: 'tenant-1', appName: null, appVerName: null },
    { originatorReplicaId: UNICODE, tenantID: 'tenant-1', appName: 'app', appVerName: null },
    { originatorReplicaId: 'r', tenantID: UNICODE, appName: UNICODE, appVerName: UNICODE },
  ]).map(({ timeout: _drop, ...rest }) => rest),
  serviceSpecificConfigurationUpdate: mix([
    { tenantID: 'tenant-1', appName: null, appVerName: null },
    { tenantID: '', appName: 'app', appVerName: null },
    { tenantID: UNICODE, appName: UNICODE, appVerName: 'app-v2' },
  ]).map(({ timeout: _drop, ...rest }) => rest),
  tenantUpdated: mix([
    { tenantId: 'tenant-1', originatorReplicaId: 'tm-0' },
    { tenantId: '', originatorReplicaId: '' },
    { tenantId: UNICODE, originatorReplicaId: UNICODE },
  ]),
  tenantUnregistered: mix([
    { tenantId: 'tenant-1', originatorReplicaId: 'tm-0' },
    { tenantId: UNICODE, originatorReplicaId: '' },
  ]),
  endpointConnected: mix([
    { endpoints: {}, originatorReplicaId: 'kpc-0' },
    { endpoints: { 'ep-1': 'app-v1' }, originatorReplicaId: '' },
    { endpoints: { [UNICODE]: UNICODE, a: '', '': 'empty-key' }, originatorReplicaId: UNICODE },
    { endpoints: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`ep-${i}`, `app-v${i % 3}`])), originatorReplicaId: 'r' },
  ]),
  endpointDisconnected: mix([
    { endpoints: {}, originatorReplicaId: 'kpc-0' },
    { endpoints: { 'ep-1': 'app-v1', 'ep-2': 'app-v1' }, originatorReplicaId: UNICODE },
  ]),
  endpointListByFilterRequest: mix([{ filterId: 'filter-1' }, { filterId: '' }, { filterId: UNICODE }]),
  endpointListByFilterResponse: mix([
    { filterId: 'f', appVersionsToEndpoints: {}, statusCode: 200, reasonPhrase: null },
    { filterId: '', appVersionsToEndpoints: { 'app-v1': [] }, statusCode: 404, reasonPhrase: 'no such filter' },
    {
      filterId: UNICODE,
      appVersionsToEndpoints: { 'app-v1': ['e1', 'e2'], [UNICODE]: [UNICODE, ''] },
      statusCode: 0,
      reasonPhrase: UNICODE,
    },
    { filterId: 'big', appVersionsToEndpoints: { v: Array.from({ length: 500 }, (_, i) => `ep-${i}`) }, statusCode: 200, reasonPhrase: '' },
  ]),
};
