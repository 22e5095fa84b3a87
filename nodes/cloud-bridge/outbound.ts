// Turns one Node-RED message into the outbox entries cloud-bridge publishes: picks the kind, checks the
// contract, renders the topic, gives each entry its stable message id, and splits an inspection's image
// into its own binary message.
import crypto from 'node:crypto';
import { contractOf, inspectionContract, lineActionContract, tagSampleContract, type Inspection, type LineAction, type TagSample } from '../../contracts/messages';
import { LinesightError } from '../../contracts/errors';
import type { FieldProblem } from '../../contracts/schemas';
import { KINDS, arrivedBody, imageContentType, type Kind, type OutboxMeta } from './wire-format';

export interface OutboundOptions {
  topicTemplate: string;
  site?: string;
  line?: string;
  /** separate: binary image message beside the inspection JSON; inline: base64 inside the JSON; drop: image not sent. */
  imageMode: 'separate' | 'inline' | 'drop';
}

export interface OutboxEntry {
  key: string;
  payload: Buffer;
  meta: OutboxMeta;
}

export interface OutboundMessage {
  payload?: unknown;
  kind?: unknown;
  site?: unknown;
  line?: unknown;
  messageId?: unknown;
  inspectionId?: unknown;
  image?: unknown;
}

const VARS = /\{(\w+)\}/g;
const KNOWN_VARS = new Set(['site', 'line', 'kind', 'device', 'cameraId']);

/** Checks a topic template once, at config time. */
export function checkTopicTemplate(t: string): void {
  if (!t || /[+#]/.test(t) || t.startsWith('$')) {
    throw new LinesightError(`topicTemplate "${t}" must be a publish topic without wildcards (+, #) or a leading $`, { field: 'topicTemplate' });
  }
  for (const m of t.matchAll(VARS)) {
    if (!KNOWN_VARS.has(m[1])) throw new LinesightError(`topicTemplate uses {${m[1]}}; known are ${[...KNOWN_VARS].map((v) => `{${v}}`).join(', ')}`, { field: 'topicTemplate' });
  }
}

export function renderTopic(template: string, vars: Record<string, string | undefined>): string {
  return template.replace(VARS, (_, name: string) => {
    const v = vars[name];
    if (v === undefined || v === '') {
      throw new LinesightError(`topic needs {${name}}: set it in the payload, in msg.${name}, or in the node`, { field: `msg.${name}`, code: 'TOPIC_VAR' });
    }
    if (/[/+#\u0000]/.test(v)) throw new LinesightError(`{${name}} "${v}" may not contain /, +, # or NUL`, { field: `msg.${name}`, code: 'TOPIC_VAR' });
    return v;
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The entries for one message; throws a LinesightError naming the field when the message cannot be sent. */
export function prepareOutbound(msg: OutboundMessage, o: OutboundOptions): OutboxEntry[] {
  const p = msg.payload;
  const forced = msg.kind === undefined ? undefined : str(msg.kind);
  if (msg.kind !== undefined && (!forced || !(KINDS as readonly string[]).includes(forced))) {
    throw new LinesightError(`msg.kind "${String(msg.kind)}" is not one of ${KINDS.join(', ')}`, { field: 'msg.kind' });
  }
  const vars = { site: str(msg.site) ?? o.site, line: str(msg.line) ?? o.line } as Record<string, string | undefined>;
  const topic = (kind: Kind, extra: Record<string, string | undefined> = {}) => renderTopic(o.topicTemplate, { ...vars, ...extra, kind });
  const idOverride = str(msg.messageId);

  if (Buffer.isBuffer(p) || forced === 'image') return [imageEntry(msg, topic, idOverride)];

  if (forced === 'status') {
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw new LinesightError('a status message needs an object in msg.payload', { field: 'msg.payload' });
    const s = p as Record<string, unknown>;
    const body = Buffer.from(JSON.stringify(p));
    return [{ key: topic('status', { site: str(s.site) ?? vars.site, line: str(s.line) ?? vars.line }), payload: body, meta: { id: idOverride ?? crypto.randomUUID(), kind: 'status', contentType: 'application/json' } }];
  }

  const kind = recognise(p);
  if (!kind || (forced && forced !== kind)) throw notAContract(p, forced as Kind | undefined);
  if (kind === 'inspection') return inspectionEntries(p as Inspection, topic, o, idOverride);
  if (kind === 'actions') {
    const a = p as LineAction;
    const body = Buffer.from(JSON.stringify(a));
    return [{ key: topic('actions', { site: a.site ?? vars.site, line: a.line ?? vars.line }), payload: body, meta: { id: idOverride ?? a.actionId, kind: 'actions', contentType: 'application/json' } }];
  }
  const samples = (Array.isArray(p) ? p : [p]) as TagSample[];
  const body = Buffer.from(JSON.stringify(p));
  // Same samples, same id: a replay from upstream is a duplicate downstream too.
  const id = idOverride ?? (Array.isArray(p) ? `tags:${crypto.createHash('sha1').update(body).digest('base64url')}` : `${samples[0].device}:${samples[0].tag}:${samples[0].ts}`);
  return [{ key: topic('tags', { device: samples[0].device }), payload: body, meta: { id, kind: 'tags', contentType: 'application/json' } }];
}

// Validates against the one contract the payload's fields point to (a failed validation of the other
// contracts would cost more than the good one); contractOf decides when the fields say nothing.
function recognise(p: unknown): 'inspection' | 'actions' | 'tags' | undefined {
  const o = (Array.isArray(p) ? p[0] : p) as Record<string, unknown> | undefined;
  if (o && typeof o === 'object') {
    if (!Array.isArray(p) && typeof o.inspectionId === 'string' && 'detections' in o) return inspectionContract.is(p) ? 'inspection' : undefined;
    if (!Array.isArray(p) && typeof o.actionId === 'string') return lineActionContract.is(p) ? 'actions' : undefined;
    if (typeof o.device === 'string' && 'tag' in o) return contractOf(p) === 'tags' ? 'tags' : undefined;
  }
  return contractOf(p);
}

function inspectionEntries(insp: Inspection, topic: (k: Kind, extra?: Record<string, string | undefined>) => string, o: OutboundOptions, idOverride?: string): OutboxEntry[] {
  const extra = { site: insp.site, line: insp.line, cameraId: insp.cameraId };
  const id = idOverride ?? insp.inspectionId;
  const img = insp.image;
  // Relayed unchanged (a factory passing a line's inspection up): the body it arrived in, as it came.
  const arrived = !img || o.imageMode === 'inline' ? arrivedBody(insp) : undefined;
  if (arrived) return [{ key: topic('inspection', extra), payload: arrived, meta: { id, kind: 'inspection', contentType: 'application/json' } }];
  if (!img || o.imageMode === 'drop' || (o.imageMode === 'separate' && !Buffer.isBuffer(img.data))) {
    // An image already serialised as text (base64) stays inside the JSON.
    const doc = img && o.imageMode === 'drop' ? { ...insp, image: undefined } : insp;
    return [{ key: topic('inspection', extra), payload: Buffer.from(JSON.stringify(doc)), meta: { id, kind: 'inspection', contentType: 'application/json' } }];
  }
  if (o.imageMode === 'inline') {
    const doc = { ...insp, image: { ...img, data: Buffer.isBuffer(img.data) ? img.data.toString('base64') : img.data } };
    return [{ key: topic('inspection', extra), payload: Buffer.from(JSON.stringify(doc)), meta: { id, kind: 'inspection', contentType: 'application/json' } }];
  }
  const { image: _image, ...rest } = insp;
  return [
    { key: topic('inspection', extra), payload: Buffer.from(JSON.stringify(rest)), meta: { id, kind: 'inspection', contentType: 'application/json', hasImage: true } },
    {
      key: topic('image', extra),
      payload: img.data as Buffer,
      meta: { id: `${id}:image`, kind: 'image', contentType: imageContentType(img.format), inspectionId: insp.inspectionId, image: { format: img.format, width: img.width, height: img.height } },
    },
  ];
}

function imageEntry(msg: OutboundMessage, topic: (k: Kind, extra?: Record<string, string | undefined>) => string, idOverride?: string): OutboxEntry {
  if (!Buffer.isBuffer(msg.payload)) throw new LinesightError('an image message needs the image bytes as a Buffer in msg.payload', { field: 'msg.payload' });
  const info = (msg.image && typeof msg.image === 'object' ? msg.image : {}) as { format?: unknown; width?: unknown; height?: unknown; inspectionId?: unknown };
  // msg.image.inspectionId is what cloud-bridge-in gives a lone image, so a factory can pass it on upward.
  const inspectionId = str(msg.inspectionId) ?? str(info.inspectionId);
  if (!inspectionId) throw new LinesightError('an image message needs msg.inspectionId (the inspection it belongs to)', { field: 'msg.inspectionId' });
  const format = str(info.format) ?? 'jpeg';
  if (!['jpeg', 'png', 'webp', 'avif', 'raw'].includes(format)) throw new LinesightError(`msg.image.format "${format}" is not one of jpeg, png, webp, avif, raw`, { field: 'msg.image.format' });
  const dim = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  return {
    key: topic('image'),
    payload: msg.payload,
    meta: { id: idOverride ?? `${inspectionId}:image`, kind: 'image', contentType: imageContentType(format), inspectionId, image: { format, width: dim(info.width), height: dim(info.height) } },
  };
}

// Names the fields of the contract the payload most looks like, so the error says what to fix.
function notAContract(p: unknown, forced?: Kind): LinesightError {
  const o = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
  let guess: { name: string; problems: FieldProblem[] } | undefined;
  const kind = forced ?? ('inspectionId' in o ? 'inspection' : 'actionId' in o ? 'actions' : 'device' in o || 'tag' in o || Array.isArray(p) ? 'tags' : undefined);
  if (kind === 'inspection') guess = { name: 'Inspection', problems: inspectionContract.problems(p) };
  else if (kind === 'actions') guess = { name: 'LineAction', problems: lineActionContract.problems(p) };
  else if (kind === 'tags') {
    const arr = Array.isArray(p) ? p : [p];
    if (arr.length === 0) guess = { name: 'TagSample[]', problems: [{ field: 'payload', reason: 'is an empty array' }] };
    else {
      const i = arr.findIndex((s) => !tagSampleContract.is(s));
      guess = { name: 'TagSample', problems: tagSampleContract.problems(arr[Math.max(0, i)], Array.isArray(p) ? `payload[${Math.max(0, i)}]` : 'payload') };
    }
  }
  const what = guess
    ? `msg.payload is not a valid ${guess.name}: ${guess.problems.map((x) => `${x.field} ${x.reason}`).join('; ')}`
    : `msg.payload is not a known Linesight contract (Inspection, TagSample, TagSample[], LineAction, a Buffer image, or msg.kind "status")`;
  return new LinesightError(what, { field: 'msg.payload', code: 'NOT_A_CONTRACT' });
}
