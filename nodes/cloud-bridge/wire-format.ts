// How Linesight messages look on MQTT, in both protocol versions. The outbox stores the body (contract
// JSON or image bytes) and its metadata; the wire form is made at publish time, so a broker switched
// between MQTT 5 and 3.1.1 still gets every backlog message in its own format.
//
// MQTT 5: the body as is; content type and user properties carry `linesight=1`, `id`, `kind` and, for
//   images, `inspectionId`, `format`, `width`, `height`; an inspection whose image travels separately has
//   `hasImage=1`.
// MQTT 3.1.1 (no properties), the Linesight envelope:
//   JSON kinds: {"linesight":1,"id":"…","kind":"inspection","hasImage":true,"data":<contract>}
//   images:     "LSI1" | uint32 big-endian header length | header JSON {"linesight":1,"id","kind":"image",
//               "inspectionId","contentType","format","width","height"} | image bytes

export const KINDS = ['inspection', 'image', 'tags', 'actions', 'status'] as const;
export type Kind = (typeof KINDS)[number];

export interface ImageInfo {
  format: string;
  width?: number;
  height?: number;
}

/** What the outbox keeps beside each body. Short keys: it is stored once per message. */
export interface OutboxMeta {
  id: string;
  kind: Kind;
  contentType: string;
  inspectionId?: string;
  image?: ImageInfo;
  /** An inspection whose image follows as its own `image` message. */
  hasImage?: boolean;
}

export interface WireMessage {
  topic: string;
  payload: Buffer;
  properties?: { contentType: string; userProperties: Record<string, string> };
}

export interface Decoded {
  kind: Kind | undefined;
  id?: string;
  /** Parsed JSON for JSON kinds, the bytes for images. */
  value: unknown;
  inspectionId?: string;
  image?: ImageInfo;
  hasImage?: boolean;
  /** How the metadata travelled. */
  via: 'properties' | 'envelope' | 'plain';
}

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

const IMAGE_MAGIC = Buffer.from('LSI1');
const ENVELOPE_PREFIX = '{"linesight":1,';

// The JSON body a contract arrived in, by the payload object decoded from it. cloud-bridge-in records it
// only for messages it hands, uncloned, to nodes that never change them (nodes/kit/shared-messages.ts):
// then the object is still exactly what the body says, and a cloud-bridge relaying it up sends the body
// as it came instead of serialising the object (and re-encoding its image as base64) again. A clone
// made by Node-RED is another object, so it is serialised as before.
const arrivedAs = new WeakMap<object, Buffer>();

/** Records the JSON body `payload` was decoded from (the caller guarantees nobody will change `payload`). */
export function rememberBody(payload: object, body: Buffer): void {
  arrivedAs.set(payload, body);
}

/** The JSON body `payload` arrived in, when it was recorded and the object is unchanged since. */
export function arrivedBody(payload: unknown): Buffer | undefined {
  return payload && typeof payload === 'object' ? arrivedAs.get(payload) : undefined;
}

export function imageContentType(format: string): string {
  return format === 'raw' ? 'application/octet-stream' : `image/${format}`;
}

export function toWire(topic: string, body: Buffer, meta: OutboxMeta, protocolVersion: 4 | 5): WireMessage {
  if (protocolVersion === 5) {
    const up: Record<string, string> = { linesight: '1', id: meta.id, kind: meta.kind };
    if (meta.inspectionId) up.inspectionId = meta.inspectionId;
    if (meta.hasImage) up.hasImage = '1';
    if (meta.image) {
      up.format = meta.image.format;
      if (meta.image.width) up.width = String(meta.image.width);
      if (meta.image.height) up.height = String(meta.image.height);
    }
    return { topic, payload: body, properties: { contentType: meta.contentType, userProperties: up } };
  }
  if (meta.kind === 'image') {
    const header = Buffer.from(
      JSON.stringify({ linesight: 1, id: meta.id, kind: 'image', inspectionId: meta.inspectionId, contentType: meta.contentType, ...meta.image }),
    );
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(header.length);
    return { topic, payload: Buffer.concat([IMAGE_MAGIC, len, header, body]) };
  }
  // The body is already JSON: wrap it without parsing it again.
  const head = `${ENVELOPE_PREFIX}"id":${JSON.stringify(meta.id)},"kind":"${meta.kind}"${meta.hasImage ? ',"hasImage":true' : ''},"data":`;
  return { topic, payload: Buffer.concat([Buffer.from(head), body, Buffer.from('}')]) };
}

/** Reads a message in any of the three forms: MQTT 5 properties, the 3.1.1 envelope, or plain JSON from elsewhere. */
export function fromWire(payload: Buffer, properties?: { contentType?: string; userProperties?: Record<string, string | string[]> }): Decoded {
  const up = properties?.userProperties;
  const prop = (k: string): string | undefined => {
    const v = up?.[k];
    return Array.isArray(v) ? v[0] : v;
  };
  if (up && prop('linesight') === '1') {
    const kind = asKind(prop('kind'));
    if (kind === 'image') {
      const format = prop('format') ?? formatOf(properties?.contentType);
      return {
        kind,
        id: prop('id'),
        value: payload,
        inspectionId: prop('inspectionId'),
        image: { format, width: num(prop('width')), height: num(prop('height')) },
        via: 'properties',
      };
    }
    return { kind, id: prop('id'), value: parseJson(payload), hasImage: prop('hasImage') === '1', via: 'properties' };
  }
  if (payload.length >= 8 && payload.subarray(0, 4).equals(IMAGE_MAGIC)) {
    const n = payload.readUInt32BE(4);
    if (8 + n > payload.length) throw new WireFormatError(`image envelope header of ${n} bytes is longer than the message (${payload.length} bytes)`);
    const h = parseJson(payload.subarray(8, 8 + n)) as Record<string, unknown>;
    return {
      kind: 'image',
      id: typeof h.id === 'string' ? h.id : undefined,
      value: payload.subarray(8 + n),
      inspectionId: typeof h.inspectionId === 'string' ? h.inspectionId : undefined,
      image: { format: String(h.format ?? formatOf(h.contentType as string | undefined)), width: num(h.width), height: num(h.height) },
      via: 'envelope',
    };
  }
  const parsed = parseJson(payload);
  if (parsed && typeof parsed === 'object' && (parsed as Record<string, unknown>).linesight === 1 && 'data' in (parsed as object)) {
    const e = parsed as { id?: unknown; kind?: unknown; hasImage?: unknown; data: unknown };
    return { kind: asKind(e.kind), id: typeof e.id === 'string' ? e.id : undefined, value: e.data, hasImage: e.hasImage === true, via: 'envelope' };
  }
  return { kind: undefined, value: parsed, via: 'plain' };
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (err) {
    throw new WireFormatError(`payload is neither JSON nor a Linesight image envelope (${(err as Error).message})`);
  }
}

function asKind(k: unknown): Kind | undefined {
  return typeof k === 'string' && (KINDS as readonly string[]).includes(k) ? (k as Kind) : undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function formatOf(contentType: string | undefined): string {
  if (!contentType) return 'raw';
  const m = /^image\/([a-z0-9.+-]+)/i.exec(contentType);
  return m ? m[1].toLowerCase() : 'raw';
}
