// Plans Modbus reads: merges tags of the same area whose registers lie within `maxGap` of each other
// into one request, never spanning more than the protocol allows (125 registers, 2000 coils/inputs).
import { isBitArea, type ModbusArea } from './modbus-address';
import { MAX_READ_BITS, MAX_READ_REGISTERS, type ModbusTag } from './tag-table';

export interface ReadBlock {
  area: ModbusArea;
  start: number;
  count: number;
  /** Tags served by this block and where each starts inside it. */
  tags: { tag: ModbusTag; at: number }[];
}

export interface PlanOptions {
  /** Unused registers/bits allowed between two tags merged into one request. @default 0 */
  maxGap?: number;
  maxRegisters?: number;
  maxBits?: number;
}

export function planReads(tags: ModbusTag[], opts: PlanOptions = {}): ReadBlock[] {
  const maxGap = Math.max(0, opts.maxGap ?? 0);
  const byArea = new Map<ModbusArea, ModbusTag[]>();
  for (const t of tags) {
    const list = byArea.get(t.address.area) ?? [];
    list.push(t);
    byArea.set(t.address.area, list);
  }
  const blocks: ReadBlock[] = [];
  for (const area of ['coil', 'discrete', 'input', 'holding'] as ModbusArea[]) {
    const list = byArea.get(area);
    if (!list) continue;
    const limit = isBitArea(area) ? (opts.maxBits ?? MAX_READ_BITS) : (opts.maxRegisters ?? MAX_READ_REGISTERS);
    const sorted = [...list].sort((a, b) => a.address.offset - b.address.offset || b.count - a.count);
    let cur: ReadBlock | undefined;
    for (const t of sorted) {
      const start = t.address.offset;
      const end = start + t.count; // exclusive
      if (cur) {
        const curEnd = cur.start + cur.count;
        const newCount = Math.max(curEnd, end) - cur.start;
        if (start <= curEnd + maxGap && newCount <= limit) {
          cur.count = newCount;
          cur.tags.push({ tag: t, at: start - cur.start });
          continue;
        }
      }
      cur = { area, start, count: t.count, tags: [{ tag: t, at: 0 }] };
      blocks.push(cur);
    }
  }
  return blocks;
}
