// The downlink core: decodes MQTT messages back into the contracts, drops duplicates by message id within
// a bounded window, and joins an inspection with its separately sent image.
import { contractOf, inspectionContract, lineActionContract, tagSampleContract, type Inspection } from '../../contracts/messages';
import { LinesightError } from '../../contracts/errors';
import type { InboundMessage } from '../cloud-broker';
import { fromWire, type Decoded, type Kind } from '../cloud-bridge';
import { systemClock, type Clock } from '../../lib/clock';

export interface InboundOutput {
  topic: string;
  kind: Kind;
  messageId?: string;
  payload: unknown;
  /** An image that arrived without its inspection within the join time: { inspectionId, format, width, height }. */
  image?: { inspectionId?: string; format: string; width?: number; height?: number };
  /** The inspection said an image follows, but it did not arrive within the join time. */
  imageMissing?: boolean;
  /** The JSON body `payload` was decoded from, byte for byte (not for an envelope or a joined image). */
  body?: Buffer;
  /** Acknowledgements of the MQTT messages this output is made of; call them once it is safe. */
  acks?: Array<() => void>;
}

export interface InboundOptions {
  /** How many recent message ids are remembered for duplicate detection. */
  dedupeWindow: number;
  /** How long an inspection waits for its image (and an image for its inspection), ms. */
  joinMs: number;
  /** Most inspections/images held waiting for their partner. */
  maxWaiting?: number;
  clock?: Clock;
}

/** Remembers the last N ids; insertion order is age. */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  /** True when `id` was seen recently; otherwise records it. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return false;
  }
  get size(): number {
    return this.ids.size;
  }
}

interface Waiting {
  timer: unknown;
  inspection?: { out: InboundOutput };
  image?: { data: Buffer; info: NonNullable<Decoded['image']>; topic: string; id?: string; ack?: () => void };
}

export class Inbound {
  private readonly recent: RecentIds;
  private readonly waiting = new Map<string, Waiting>();
  private readonly clock: Clock;
  duplicates = 0;
  received = 0;
  invalid = 0;

  constructor(
    private readonly o: InboundOptions,
    private readonly emit: (out: InboundOutput) => void,
  ) {
    this.recent = new RecentIds(o.dedupeWindow);
    this.clock = o.clock ?? systemClock;
  }

  /** Handles one message; throws a LinesightError (naming topic and field) for one that is not a known contract. */
  receive(m: InboundMessage): void {
    this.received++;
    let d: Decoded;
    try {
      d = fromWire(m.payload, m.properties);
    } catch (err) {
      this.invalid++;
      throw new LinesightError(`message on ${m.topic}: ${(err as Error).message}`, { field: 'payload', code: 'NOT_A_CONTRACT' });
    }
    const checked = this.check(d, m.topic);
    const id = d.id ?? naturalId(checked.kind, checked.value);
    if (id !== undefined && this.recent.seen(id)) {
      this.duplicates++;
      m.ack?.();
      return;
    }
    if (checked.kind === 'image') return this.onImage(d, m.topic, id, m.ack);
    const out: InboundOutput = { topic: m.topic, kind: checked.kind, messageId: id, payload: checked.value };
    if (m.ack) out.acks = [m.ack];
    if (checked.kind === 'inspection' && d.hasImage) return this.onInspectionWithImage(out);
    if (d.via !== 'envelope') out.body = m.payload;
    this.emit(out);
  }

  /** Emits whatever is still waiting for its partner, and stops the timers. */
  close(): void {
    for (const [key, w] of this.waiting) {
      this.clock.clearTimeout(w.timer);
      this.release(key, w);
    }
    this.waiting.clear();
  }

  get pending(): number {
    return this.waiting.size;
  }

  private check(d: Decoded, topic: string): { kind: Kind; value: unknown } {
    const fail = (what: string) => {
      this.invalid++;
      return new LinesightError(`message on ${topic} is not a known Linesight contract: ${what}`, { field: 'payload', code: 'NOT_A_CONTRACT' });
    };
    if (d.kind === 'image') {
      if (!d.inspectionId) throw fail('an image without an inspectionId');
      return { kind: 'image', value: d.value };
    }
    if (d.kind === 'status') {
      if (!d.value || typeof d.value !== 'object' || Array.isArray(d.value)) throw fail('a status message must be a JSON object');
      return { kind: 'status', value: d.value };
    }
    const v = restoreImage(d.value);
    const kind = d.kind ?? contractOf(v) ?? kindFromTopic(topic) ?? guessKind(v);
    const problems =
      kind === 'inspection'
        ? inspectionContract.problems(v)
        : kind === 'actions'
          ? lineActionContract.problems(v)
          : kind === 'tags'
            ? Array.isArray(v) && v.length > 0
              ? v.flatMap((s, i) => tagSampleContract.problems(s, `payload[${i}]`))
              : tagSampleContract.problems(v)
            : [{ field: 'payload', reason: 'is not an Inspection, TagSample, TagSample[], LineAction or status object' }];
    if (!kind || problems.length) throw fail(problems.map((p) => `${p.field} ${p.reason}`).join('; '));
    return { kind, value: v };
  }

  private onInspectionWithImage(out: InboundOutput): void {
    const key = (out.payload as Inspection).inspectionId;
    const w = this.waiting.get(key);
    if (w?.image) {
      this.clock.clearTimeout(w.timer);
      this.waiting.delete(key);
      this.emit(joined(out, w.image));
      return;
    }
    this.hold(key, { inspection: { out } });
  }

  private onImage(d: Decoded, topic: string, id?: string, ack?: () => void): void {
    const key = d.inspectionId!;
    const image = { data: d.value as Buffer, info: d.image ?? { format: 'raw' }, topic, id, ack };
    const w = this.waiting.get(key);
    if (w?.inspection) {
      this.clock.clearTimeout(w.timer);
      this.waiting.delete(key);
      this.emit(joined(w.inspection.out, image));
      return;
    }
    this.hold(key, { image });
  }

  private hold(key: string, w: Omit<Waiting, 'timer'>): void {
    if (this.waiting.size >= (this.o.maxWaiting ?? 1000)) {
      const [oldKey, old] = this.waiting.entries().next().value as [string, Waiting];
      this.clock.clearTimeout(old.timer);
      this.waiting.delete(oldKey);
      this.release(oldKey, old);
    }
    const entry = w as Waiting;
    entry.timer = this.clock.setTimeout(() => {
      if (this.waiting.get(key) !== entry) return;
      this.waiting.delete(key);
      this.release(key, entry);
    }, this.o.joinMs);
    this.waiting.set(key, entry);
  }

  // The partner did not come in time: emit what there is, saying what is missing.
  private release(key: string, w: Waiting): void {
    if (w.inspection) this.emit({ ...w.inspection.out, imageMissing: true });
    if (w.image) {
      const out: InboundOutput = { topic: w.image.topic, kind: 'image', messageId: w.image.id, payload: w.image.data, image: { inspectionId: key, ...w.image.info } };
      if (w.image.ack) out.acks = [w.image.ack];
      this.emit(out);
    }
  }
}

function joined(out: InboundOutput, image: NonNullable<Waiting['image']>): InboundOutput {
  const insp = out.payload as Inspection;
  const acks = [...(out.acks ?? []), ...(image.ack ? [image.ack] : [])];
  return {
    ...out,
    payload: { ...insp, image: { data: image.data, format: image.info.format as never, width: image.info.width ?? 1, height: image.info.height ?? 1 } },
    ...(acks.length ? { acks } : {}),
  };
}

// An image sent inline travels as base64; inside a runtime the contract carries a Buffer.
function restoreImage(v: unknown): unknown {
  const img = (v as Inspection | undefined)?.image;
  if (img && typeof img.data === 'string') return { ...(v as Inspection), image: { ...img, data: Buffer.from(img.data, 'base64') } };
  return v;
}

// A plain message from another publisher: the last topic level or the fields say which contract was meant,
// so the error can name the field that is wrong.
function kindFromTopic(topic: string): Kind | undefined {
  const last = topic.slice(topic.lastIndexOf('/') + 1);
  return last === 'inspection' || last === 'tags' || last === 'actions' ? last : undefined;
}

function guessKind(v: unknown): Kind | undefined {
  const o = (Array.isArray(v) ? v[0] : v) as Record<string, unknown> | undefined;
  if (!o || typeof o !== 'object') return undefined;
  if ('inspectionId' in o && 'detections' in o) return 'inspection';
  if ('actionId' in o) return 'actions';
  if ('device' in o && 'tag' in o) return 'tags';
  return undefined;
}

function naturalId(kind: Kind, v: unknown): string | undefined {
  if (kind === 'inspection') return (v as Inspection).inspectionId;
  if (kind === 'actions') return (v as { actionId: string }).actionId;
  return undefined;
}
