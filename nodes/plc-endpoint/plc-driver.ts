// What plc-read and plc-write need from an endpoint, whatever the protocol: read tags into samples
// (never rejecting: a failed read gives quality 'bad' with the reason), write checked values, and for
// OPC UA subscribe to changes. Writes are checked completely before the first one is sent.
import type { EventEmitter } from 'node:events';
import type { TagSample } from '../../contracts/messages.schema';
import type { ConnectionState } from './connection-state';
import type { PlcTag, TagTable } from './tag-table';

export interface TagWriteRequest {
  tag: string;
  value: unknown;
}

export interface ReadOptions {
  /** Modbus: unused registers allowed between tags merged into one request. */
  maxGap?: number;
}

export interface WriteOptions {
  /** Read every tag back after writing and fail when it differs. */
  verify?: boolean;
}

export interface WriteOutcome {
  tag: string;
  value: unknown;
  /** The value read back, when verify is on. */
  readBack?: unknown;
}

export interface PlcDriver extends EventEmitter {
  readonly device: string;
  readonly table: TagTable;
  readonly state: ConnectionState;
  start(): void;
  read(tags: PlcTag[], opts?: ReadOptions): Promise<TagSample[]>;
  /** Throws (before sending anything) naming the tag and reason for any bad write. */
  write(writes: TagWriteRequest[], opts?: WriteOptions): Promise<WriteOutcome[]>;
  /** Requests queued or in flight. */
  readonly pending: number;
  /** Protocol requests issued so far. */
  readonly requests: number;
  /** Change notifications (OPC UA); undefined where the protocol has none. */
  subscribe?(tags: PlcTag[], intervalMs: number, onSamples: (s: TagSample[]) => void): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export class WriteError extends Error {
  readonly tag?: string;
  constructor(message: string, tag?: string) {
    super(message);
    this.name = 'WriteError';
    this.tag = tag;
  }
}

/** Normalises a write payload: `{tag, value}`, an array of them, or a LineAction's `writes`. */
export function writesFromPayload(payload: unknown): TagWriteRequest[] {
  const p = payload as Record<string, unknown> | unknown[] | null;
  let list: unknown[];
  if (Array.isArray(p)) list = p;
  else if (p && typeof p === 'object' && Array.isArray((p as Record<string, unknown>).writes)) list = (p as { writes: unknown[] }).writes;
  else if (p && typeof p === 'object' && 'tag' in p) list = [p];
  else throw new WriteError('payload must be {tag, value}, an array of them, or a LineAction with writes');
  if (list.length === 0) throw new WriteError('payload has no writes');
  return list.map((w, i) => {
    const item = w as Record<string, unknown>;
    if (!item || typeof item !== 'object' || typeof item.tag !== 'string' || !item.tag) throw new WriteError(`write ${i}: tag must be a non-empty string`);
    if (!('value' in item) || item.value === undefined) throw new WriteError(`tag "${item.tag}": value is required`, item.tag);
    return { tag: item.tag, value: item.value };
  });
}

/** A BigInt written goes out as its decimal text, as plc-read gives such values (msg stays JSON-safe). */
export function outputValue(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Checks writes against the tag table: each tag known and writable. */
export function checkWritable(table: TagTable, writes: TagWriteRequest[]): PlcTag[] {
  return writes.map((w) => {
    const t = table.get(w.tag);
    if (!t) throw new WriteError(`tag "${w.tag}": unknown tag (not in the endpoint's tag table)`, w.tag);
    if (!t.writable) throw new WriteError(`tag "${w.tag}": is not writable (tick "writable" in the tag table)`, w.tag);
    return t;
  });
}
