import { describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol/index.js';

describe('parseResourcePath', () => {
  it.each([
    ['/command', { kind: 'command', commandType: null }],
    ['/command/reboot', { kind: 'command', commandType: 'reboot' }],
    ['/command/RELAY_SWITCH', { kind: 'command', commandType: 'RELAY_SWITCH' }],
    ['/command/close-door', { kind: 'command', commandType: 'close-door' }],
    ['/result/SWITCH', { kind: 'result', commandType: 'SWITCH' }],
    [`/result/${'a'.repeat(128)}`, { kind: 'result', commandType: 'a'.repeat(128) }],
  ])('%s', (path, expected) => {
    expect(P.parseResourcePath(path)).toEqual(expected);
  });

  it.each([
    ['', 'INVALID_RESOURCE_PATH'],
    ['/', 'INVALID_RESOURCE_PATH'],
    ['command', 'INVALID_RESOURCE_PATH'],
    ['command/x', 'INVALID_RESOURCE_PATH'],
    ['/command/', 'INVALID_RESOURCE_PATH'],
    ['/result', 'INVALID_RESOURCE_PATH'],
    ['/result/', 'INVALID_RESOURCE_PATH'],
    ['/command/x/', 'INVALID_RESOURCE_PATH'],
    ['/command/x/y', 'INVALID_RESOURCE_PATH'],
    ['/commands/x', 'INVALID_RESOURCE_PATH'],
    ['/Command/x', 'INVALID_RESOURCE_PATH'],
    ['//command/x', 'INVALID_RESOURCE_PATH'],
    ['/command/x/status', 'INVALID_RESOURCE_PATH'],
    ['/command/a b', 'INVALID_COMMAND_TYPE'],
    ['/command/a.b', 'INVALID_COMMAND_TYPE'],
    ['/result/ü', 'INVALID_COMMAND_TYPE'],
    ['/result/+', 'INVALID_COMMAND_TYPE'],
    [`/result/${'a'.repeat(129)}`, 'INVALID_COMMAND_TYPE'],
    [`/result/${'a'.repeat(1000)}`, 'INVALID_RESOURCE_PATH'],
  ])('rejects %j with %s', (path, code) => {
    let caught: unknown;
    try {
      P.parseResourcePath(path);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(P.PayloadError);
    expect((caught as P.PayloadError).code).toBe(code);
    expect((caught as P.PayloadError).message.length).toBeLessThan(700);
  });
});

describe('3/ISM subjects', () => {
  it.each([
    [P.serviceSubject('cex', 'esp', 'ClientData'), 'kaa.v1.service.cex.esp.ClientData'],
    [P.replicaSubject('r-1', 'cip', 'command-result'), 'kaa.v1.replica.r-1.cip.command-result'],
    [P.eventSubject('kpc', 'endpoint', 'connectivity', 'connected'), 'kaa.v1.events.kpc.endpoint.connectivity.connected'],
    [P.espClientDataSubject('cex'), 'kaa.v1.service.cex.esp.ClientData'],
    [P.espClientDataSubject('cex-2'), 'kaa.v1.service.cex-2.esp.ClientData'],
    [P.espClientDataReplicaSubject('7f3a'), 'kaa.v1.replica.7f3a.esp.ClientData'],
    [P.espExtensionDataSubject('kpc'), 'kaa.v1.service.kpc.esp.ExtensionData'],
    [P.cipCommandRequestSubject('cex'), 'kaa.v1.service.cex.cip.command-request'],
    [P.cipCommandResultReplicaSubject('caller-1'), 'kaa.v1.replica.caller-1.cip.command-result'],
    [P.elceConnectedSubscription(), 'kaa.v1.events.*.endpoint.connectivity.connected'],
    [P.elceDisconnectedSubscription(), 'kaa.v1.events.*.endpoint.connectivity.disconnected'],
    [P.scmpBroadcastSubscription('tekton'), 'kaa.v1.events.tekton.service.configuration.*'],
    [P.scmpTargetedSubscription('cex'), 'kaa.v1.service.cex.scmp.configuration.*'],
    [P.tleSubscription(), 'kaa.v1.events.*.tenant.lifecycle.*'],
    [P.efmpRequestSubject('epr'), 'kaa.v1.service.epr.efmp.ep-list-by-filter-request'],
    [P.efmpReplySubject('r-1'), 'kaa.v1.replica.r-1.efmp.ep-list-by-filter-response'],
    [P.replaceLastToken('kaa.v1.replica.r-1.cip.command-request', 'command-result'), 'kaa.v1.replica.r-1.cip.command-result'],
    [P.replaceLastToken('kaa.v1.replica.r-1.esp.ClientData', 'ExtensionData'), 'kaa.v1.replica.r-1.esp.ExtensionData'],
    [P.replaceLastToken('_INBOX.abc', 'x'), '_INBOX.x'],
    [P.replaceLastToken('single', 'other'), 'other'],
    [P.lastToken('kaa.v1.events.tm.tenant.lifecycle.unregistered'), 'unregistered'],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it.each([
    () => P.serviceSubject('my.cex', 'esp', 'ClientData'),
    () => P.serviceSubject('cex', 'esp', '*'),
    () => P.serviceSubject('cex', '>', 'x'),
    () => P.serviceSubject('', 'esp', 'x'),
    () => P.serviceSubject('c ex', 'esp', 'x'),
    () => P.serviceSubject('cex\n', 'esp', 'x'),
    () => P.serviceSubject('cëx', 'esp', 'x'),
    () => P.serviceSubject(undefined as unknown as string, 'esp', 'x'),
    () => P.replicaSubject('r*', 'cip', 'x'),
    () => P.eventSubject('kpc', 'endpoint', 'connectivity', 'a.b'),
    () => P.espExtensionDataSubject('k\tpc'),
    () => P.scmpBroadcastSubscription('*'),
    () => P.scmpTargetedSubscription('a.b'),
    () => P.efmpReplySubject('>'),
    () => P.replaceLastToken('', 'x'),
    () => P.replaceLastToken('a..b', 'x'),
    () => P.replaceLastToken('a.b.', 'x'),
    () => P.replaceLastToken('a.*.b', 'x'),
    () => P.replaceLastToken('a.b', 'x.y'),
    () => P.lastToken('a.>'),
  ])('rejects bad token %#', (build) => {
    expect(build).toThrow(P.SubjectError);
  });

  it('exposes the message type names in use', () => {
    expect(P.MESSAGE_TYPES.commandRequest).toBe('command-request');
    expect(P.assertToken('ok-token')).toBe('ok-token');
  });
});
