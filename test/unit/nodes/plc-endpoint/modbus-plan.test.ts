import assert from 'node:assert/strict';
import { planReads } from '../../../../nodes/plc-endpoint/modbus-plan';
import { TagTable, type ModbusTag } from '../../../../nodes/plc-endpoint/tag-table';
import type { PlcTagConfig } from '../../../../nodes/plc-endpoint/plc-endpoint.schema';

const table = (rows: PlcTagConfig[]) => new TagTable('modbus-tcp', rows).tags as ModbusTag[];
const summary = (tags: ModbusTag[], gap = 0) => planReads(tags, { maxGap: gap }).map((b) => `${b.area}:${b.start}+${b.count}`);

describe('plc-endpoint modbus-plan', () => {
  it('merges neighbouring registers into one request and keeps areas apart', () => {
    const tags = table([
      { name: 'a', address: 'hr:0', type: 'uint16' },
      { name: 'b', address: 'hr:1', type: 'float32' },
      { name: 'c', address: 'hr:3', type: 'int64' },
      { name: 'd', address: 'ir:3', type: 'int16' },
      { name: 'e', address: 'c:0', type: 'bool' },
      { name: 'f', address: 'c:1', type: 'bool' },
      { name: 'g', address: 'di:9', type: 'bool' },
    ]);
    assert.deepEqual(summary(tags), ['coil:0+2', 'discrete:9+1', 'input:3+1', 'holding:0+7']);
  });

  it('bridges gaps up to maxGap, no further', () => {
    const tags = table([
      { name: 'a', address: 'hr:0', type: 'uint16' },
      { name: 'b', address: 'hr:5', type: 'uint16' },
      { name: 'c', address: 'hr:20', type: 'uint16' },
    ]);
    assert.deepEqual(summary(tags, 0), ['holding:0+1', 'holding:5+1', 'holding:20+1']);
    assert.deepEqual(summary(tags, 4), ['holding:0+6', 'holding:20+1']);
    assert.deepEqual(summary(tags, 14), ['holding:0+21']);
  });

  it('tells each tag where it sits inside its block; overlapping tags share registers', () => {
    const tags = table([
      { name: 'word', address: 'hr:10', type: 'uint16' },
      { name: 'bit3', address: 'hr:10.3', type: 'bool' },
      { name: 'next', address: 'hr:11', type: 'int32' },
    ]);
    const [b] = planReads(tags);
    assert.equal(b.count, 3);
    assert.deepEqual(b.tags.map((t) => [t.tag.name, t.at]).sort(), [['bit3', 0], ['next', 1], ['word', 0]]);
  });

  it('never exceeds 125 registers or 2000 bits in one request', () => {
    const regs = table(Array.from({ length: 300 }, (_, i) => ({ name: `r${i}`, address: `hr:${i}`, type: 'uint16' as const })));
    assert.deepEqual(summary(regs), ['holding:0+125', 'holding:125+125', 'holding:250+50']);
    const coils = table(Array.from({ length: 4500 }, (_, i) => ({ name: `c${i}`, address: `c:${i}`, type: 'bool' as const })));
    assert.deepEqual(summary(coils), ['coil:0+2000', 'coil:2000+2000', 'coil:4000+500']);
    // A 4-register value never straddles the limit: it starts a new request.
    const wide = table(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, address: `hr:${i * 4}`, type: 'float64' as const })));
    assert.deepEqual(summary(wide), ['holding:0+124', 'holding:124+36']);
  });

  it('1,000 tags in 10 blocks of 100 registers need exactly 10 requests', () => {
    const rows: PlcTagConfig[] = [];
    for (let b = 0; b < 10; b++) for (let i = 0; i < 100; i++) rows.push({ name: `t${b}_${i}`, address: `hr:${b * 200 + i}`, type: 'uint16' });
    const blocks = planReads(table(rows), { maxGap: 10 });
    assert.equal(blocks.length, 10);
    assert.ok(blocks.every((b) => b.count === 100 && b.tags.length === 100));
  });
});
