// The Modbus side of an endpoint: plans merged reads over the connector, decodes them into tag samples,
// and checks then sends writes.
import { EventEmitter } from 'node:events';
import type { TagSample } from '../../contracts/messages.schema';
import type { ConnectionState } from './connection-state';
import { ModbusConnector, type ModbusConnectorOptions } from './modbus-connector';
import { planReads, type ReadBlock } from './modbus-plan';
import { checkWritable, outputValue, WriteError, type PlcDriver, type ReadOptions, type TagWriteRequest, type WriteOptions, type WriteOutcome } from './plc-driver';
import { decodeAt, encodeRegisters, toRaw } from './tag-codec';
import type { ModbusTag, PlcTag, TagTable } from './tag-table';
import { systemClock, type Clock } from '../../lib/clock';

export interface ModbusDriverOptions extends ModbusConnectorOptions {
  device: string;
  /** Unused registers allowed between merged tags. */
  maxGap?: number;
  clock?: Pick<Clock, 'now'>;
}

export class ModbusDriver extends EventEmitter implements PlcDriver {
  readonly connector: ModbusConnector;
  private readonly plans = new Map<string, ReadBlock[]>();
  // A poller passes the same tag array every time: look its plan up by identity first.
  private readonly planByList = new WeakMap<PlcTag[], { gap: number; blocks: ReadBlock[] }>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(readonly table: TagTable, private readonly o: ModbusDriverOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.connector = new ModbusConnector(o);
    this.connector.on('state', (s: ConnectionState) => this.emit('state', s));
  }

  get device(): string {
    return this.o.device;
  }
  get state(): ConnectionState {
    return this.connector.state;
  }
  get pending(): number {
    return this.connector.pending;
  }
  get requests(): number {
    return this.connector.requests;
  }

  start(): void {
    this.connector.start();
  }

  /** The merged read plan for a set of tags (cached: a poll reuses it). */
  plan(tags: PlcTag[], maxGap = this.o.maxGap ?? 0): ReadBlock[] {
    const known = this.planByList.get(tags);
    if (known && known.gap === maxGap) return known.blocks;
    const key = `${maxGap}|${tags.map((t) => t.name).join('\n')}`;
    let p = this.plans.get(key);
    if (!p) {
      p = planReads(tags as ModbusTag[], { maxGap });
      if (this.plans.size > 100) this.plans.clear();
      this.plans.set(key, p);
    }
    this.planByList.set(tags, { gap: maxGap, blocks: p });
    return p;
  }

  async read(tags: PlcTag[], opts: ReadOptions = {}): Promise<TagSample[]> {
    const blocks = this.plan(tags, opts.maxGap);
    const slots = this.slotsFor(tags, blocks);
    const out: TagSample[] = new Array(tags.length);
    await Promise.all(
      blocks.map(async (b, bi) => {
        const where = slots[bi];
        try {
          const data = await this.connector.read(b.area, b.start, b.count);
          const ts = this.clock.now();
          for (let i = 0; i < b.tags.length; i++) out[where[i]] = this.decode(b.tags[i].tag, data, b.tags[i].at, ts);
        } catch (err) {
          const ts = this.clock.now();
          const reason = (err as Error).message;
          for (let i = 0; i < b.tags.length; i++) out[where[i]] = this.bad(b.tags[i].tag, reason, ts);
        }
      }),
    );
    return out;
  }

  // Where each block's tags go in the output (the caller's order); cached with the plan.
  private readonly slotCache = new WeakMap<ReadBlock[], number[][]>();
  private slotsFor(tags: PlcTag[], blocks: ReadBlock[]): number[][] {
    let slots = this.slotCache.get(blocks);
    if (!slots) {
      const index = new Map(tags.map((t, i) => [t.name, i]));
      slots = blocks.map((b) => b.tags.map(({ tag }) => index.get(tag.name)!));
      this.slotCache.set(blocks, slots);
    }
    return slots;
  }

  private decode(tag: ModbusTag, data: boolean[] | number[], at: number, ts: number): TagSample {
    try {
      const value = typeof data[0] === 'boolean' ? Boolean(data[at]) : decodeAt(tag, data as number[], at);
      return tag.unit ? { device: this.o.device, tag: tag.name, value, quality: 'good', ts, unit: tag.unit } : { device: this.o.device, tag: tag.name, value, quality: 'good', ts };
    } catch (err) {
      return this.bad(tag, (err as Error).message, ts);
    }
  }

  private bad(tag: ModbusTag, reason: string, ts: number): TagSample {
    const s: TagSample = { device: this.o.device, tag: tag.name, value: null, quality: 'bad', ts, reason };
    if (tag.unit) s.unit = tag.unit;
    return s;
  }

  async write(writes: TagWriteRequest[], opts: WriteOptions = {}): Promise<WriteOutcome[]> {
    // Everything is checked before the first request goes out: a bad value never leaves half a write.
    const tags = checkWritable(this.table, writes) as ModbusTag[];
    const raws = writes.map((w, i) => toRaw(tags[i], w.value));
    const out: WriteOutcome[] = [];
    for (let i = 0; i < writes.length; i++) {
      const tag = tags[i];
      const a = tag.address;
      try {
        if (a.area === 'coil') await this.connector.writeCoil(a.offset, raws[i] as boolean);
        else if (a.bit !== undefined) {
          // Bit in a register: read-modify-write (not atomic against the PLC's own writes to that word).
          const [current] = await this.connector.readRegisters('holding', a.offset, 1);
          await this.connector.writeRegisters(a.offset, encodeRegisters(tag, raws[i], current));
        } else await this.connector.writeRegisters(a.offset, encodeRegisters(tag, raws[i]));
      } catch (err) {
        const done = out.length ? ` (${out.map((o) => o.tag).join(', ')} already written)` : '';
        throw new WriteError(`tag "${tag.name}": write failed: ${(err as Error).message}${done}`, tag.name);
      }
      const o: WriteOutcome = { tag: tag.name, value: outputValue(writes[i].value) };
      if (opts.verify) {
        const [s] = await this.read([tag]);
        o.readBack = s.value;
        if (s.quality !== 'good') throw new WriteError(`tag "${tag.name}": read-back failed: ${s.reason}`, tag.name);
        if (!sameValue(s.value, writes[i].value, tag)) throw new WriteError(`tag "${tag.name}": read back ${JSON.stringify(s.value)} after writing ${JSON.stringify(writes[i].value)}`, tag.name);
      }
      out.push(o);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.connector.close();
    this.removeAllListeners();
  }
}

function sameValue(read: unknown, written: unknown, tag: ModbusTag): boolean {
  if (tag.type === 'bool') return Boolean(read) === (written === true || written === 1);
  // int64 values beyond ±2^53 read back as exact text; compare them exactly, whatever form was written.
  if (tag.type === 'int64' && (typeof read === 'string' || typeof written === 'string' || typeof written === 'bigint')) return String(read) === String(outputValue(written));
  if (typeof read === 'number' && typeof written === 'number') {
    if (tag.type === 'float32') return Math.abs(read - written) <= Math.max(Math.abs(tag.scale), 1) * 1e-6 * Math.max(1, Math.abs(written));
    return Math.abs(read - written) <= Math.abs(tag.scale) / 2 + 1e-9;
  }
  return read === written;
}
