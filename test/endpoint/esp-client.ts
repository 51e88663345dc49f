/**
 * Builds 4/ESP ClientData for esp-inbound tests and reads the ExtensionData
 * answers back with the REFERENCE schema (not the project's codec), so every
 * answer checked is also checked to be what a Kaa communication service decodes.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_TYPES } from '../../shared/bridge/contract.js';
import { encodeClientData, type ClientData, type ExtensionData } from '../../shared/protocol/index.js';
import { referenceType } from '../protocol/reference.js';
import { onlyMessage, postEvent, type Mode, type PostedEvent } from './function-host.js';

const extensionDataType = referenceType('extensionData');

/** A ClientData with sensible defaults; `payload` may be given as JSON text. */
export function clientData(over: Partial<Omit<ClientData, 'payload'>> & { payload?: Buffer | string | object } = {}): ClientData {
  const { payload, ...rest } = over;
  const bytes =
    payload === undefined
      ? Buffer.alloc(0)
      : Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  return {
    correlationId: randomUUID(),
    timestamp: Date.now(),
    timeout: 0,
    appVersionName: 'app-v1',
    endpointId: 'e-1',
    resourcePath: '/command/reboot',
    requestId: 42,
    configName: null,
    ...rest,
    payload: bytes,
  };
}

/** An ExtensionData answer, decoded with the reference schema, with its JSON payload parsed. */
export interface Answer {
  subject: string;
  message: ExtensionData;
  json: unknown;
}

/** Decodes one published message with the reference ExtensionData schema. */
export function readAnswer(posted: PostedEvent): Answer {
  const { subject, data } = onlyMessage(posted);
  const message = { ...(extensionDataType.fromBuffer(data) as ExtensionData) };
  const json = message.payload === null ? null : (JSON.parse(message.payload.toString('utf8')) as unknown);
  return { subject, message, json };
}

/** Sends one ClientData to esp-inbound and returns the raw HTTP outcome. */
export function sendClientData(url: string, mode: Mode, message: ClientData, reply?: string): Promise<PostedEvent> {
  return postEvent(url, mode, EVENT_TYPES.espClientData, encodeClientData(message), reply === undefined ? {} : { reply });
}

/** Sends one ClientData and returns its decoded answer (fails unless there is exactly one). */
export async function ask(url: string, mode: Mode, message: ClientData, reply?: string): Promise<Answer> {
  return readAnswer(await sendClientData(url, mode, message, reply));
}
