/**
 * Just enough of a protobuf reader for an OTLP ExportTraceServiceRequest
 * (opentelemetry-proto, trace/v1 and common/v1), turned into the same shape
 * as the OTLP JSON mapping (ids hex, times as decimal strings), so the
 * receiver decodes both encodings into one span list. Unknown fields are
 * skipped, as protobuf requires.
 */

type Fields = Map<number, (bigint | Buffer)[]>;

/** Field number → values (varints and fixed as bigint, length-delimited as bytes). */
function readFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buf[pos++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    let value: bigint | Buffer;
    switch (key & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = buf.readBigUInt64LE(pos);
        pos += 8;
        break;
      case 2: {
        const length = Number(varint());
        value = buf.subarray(pos, pos + length);
        pos += length;
        break;
      }
      case 5:
        value = BigInt(buf.readUInt32LE(pos));
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${key & 7}`);
    }
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

const bytesOf = (f: Fields, n: number): Buffer[] => (f.get(n) ?? []) as Buffer[];
const firstBytes = (f: Fields, n: number): Buffer | undefined => bytesOf(f, n)[0];
const firstNumber = (f: Fields, n: number): bigint | undefined => (f.get(n) ?? [])[0] as bigint | undefined;
const text = (f: Fields, n: number): string => firstBytes(f, n)?.toString('utf8') ?? '';
const hex = (f: Fields, n: number): string => firstBytes(f, n)?.toString('hex') ?? '';

function anyValue(buf: Buffer): Record<string, unknown> {
  const f = readFields(buf);
  if (f.has(1)) return { stringValue: text(f, 1) };
  if (f.has(2)) return { boolValue: firstNumber(f, 2) === 1n };
  if (f.has(3)) return { intValue: String(BigInt.asIntN(64, firstNumber(f, 3)!)) };
  if (f.has(4)) return { doubleValue: Buffer.from(new BigUint64Array([firstNumber(f, 4)!]).buffer).readDoubleLE(0) };
  if (f.has(5)) return { arrayValue: { values: bytesOf(readFields(firstBytes(f, 5)!), 1).map(anyValue) } };
  return {};
}

function keyValues(list: Buffer[]): { key: string; value: Record<string, unknown> }[] {
  return list.map((kv) => {
    const f = readFields(kv);
    return { key: text(f, 1), value: f.has(2) ? anyValue(firstBytes(f, 2)!) : {} };
  });
}

/** An ExportTraceServiceRequest's bytes as the OTLP JSON mapping would carry it. */
export function decodeTraceRequest(body: Buffer): unknown {
  return {
    resourceSpans: bytesOf(readFields(body), 1).map((rsBytes) => {
      const rs = readFields(rsBytes);
      const resource = firstBytes(rs, 1);
      return {
        resource: { attributes: resource ? keyValues(bytesOf(readFields(resource), 1)) : [] },
        scopeSpans: bytesOf(rs, 2).map((ssBytes) => ({
          spans: bytesOf(readFields(ssBytes), 2).map((spanBytes) => {
            const s = readFields(spanBytes);
            const status = firstBytes(s, 15);
            return {
              traceId: hex(s, 1),
              spanId: hex(s, 2),
              parentSpanId: hex(s, 4),
              name: text(s, 5),
              kind: Number(firstNumber(s, 6) ?? 0n),
              startTimeUnixNano: String(firstNumber(s, 7) ?? 0n),
              endTimeUnixNano: String(firstNumber(s, 8) ?? 0n),
              attributes: keyValues(bytesOf(s, 9)),
              links: bytesOf(s, 13).map((l) => {
                const link = readFields(l);
                return { traceId: hex(link, 1), spanId: hex(link, 2) };
              }),
              status: { code: Number((status && firstNumber(readFields(status), 3)) ?? 0n) },
            };
          }),
        })),
      };
    }),
  };
}
