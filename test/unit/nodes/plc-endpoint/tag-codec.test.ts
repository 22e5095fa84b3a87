// Words worked out by hand: -123456789 = 0xF8A432EB; 3.14159274f = 0x40490FDB;
// 0x0001020304050607 = 283686952306183; -1234.5678 = C0 93 4A 45 6D 5C FA AD.
import assert from 'node:assert/strict';
import { decodeRegisters, encodeRegisters, registerCount, toRaw, type CodecTag } from '../../../../nodes/plc-endpoint/tag-codec';

const tag = (t: Partial<CodecTag>): CodecTag => ({ name: 't', type: 'int16', order: 'ABCD', scale: 1, offset: 0, ...t });

const TABLE: [Partial<CodecTag>, number[], unknown][] = [
  [{ type: 'int16' }, [0xfb2e], -1234],
  [{ type: 'int16', order: 'BADC' }, [0x2efb], -1234],
  [{ type: 'int16', order: 'CDAB' }, [0xfb2e], -1234],
  [{ type: 'int16', order: 'DCBA' }, [0x2efb], -1234],
  [{ type: 'uint16' }, [0xc350], 50000],
  [{ type: 'int32', order: 'ABCD' }, [0xf8a4, 0x32eb], -123456789],
  [{ type: 'int32', order: 'BADC' }, [0xa4f8, 0xeb32], -123456789],
  [{ type: 'int32', order: 'CDAB' }, [0x32eb, 0xf8a4], -123456789],
  [{ type: 'int32', order: 'DCBA' }, [0xeb32, 0xa4f8], -123456789],
  [{ type: 'uint32', order: 'ABCD' }, [0xb2d0, 0x5e00], 3000000000],
  [{ type: 'uint32', order: 'CDAB' }, [0x5e00, 0xb2d0], 3000000000],
  [{ type: 'float32', order: 'ABCD' }, [0x4049, 0x0fdb], 3.1415927410125732],
  [{ type: 'float32', order: 'BADC' }, [0x4940, 0xdb0f], 3.1415927410125732],
  [{ type: 'float32', order: 'CDAB' }, [0x0fdb, 0x4049], 3.1415927410125732],
  [{ type: 'float32', order: 'DCBA' }, [0xdb0f, 0x4940], 3.1415927410125732],
  [{ type: 'int64', order: 'ABCD' }, [0x0001, 0x0203, 0x0405, 0x0607], 283686952306183],
  [{ type: 'int64', order: 'BADC' }, [0x0100, 0x0302, 0x0504, 0x0706], 283686952306183],
  [{ type: 'int64', order: 'CDAB' }, [0x0607, 0x0405, 0x0203, 0x0001], 283686952306183],
  [{ type: 'int64', order: 'DCBA' }, [0x0706, 0x0504, 0x0302, 0x0100], 283686952306183],
  [{ type: 'int64' }, [0xffff, 0xffff, 0xffff, 0xfc18], -1000],
  [{ type: 'float64', order: 'ABCD' }, [0xc093, 0x4a45, 0x6d5c, 0xfaad], -1234.5678],
  [{ type: 'float64', order: 'BADC' }, [0x93c0, 0x454a, 0x5c6d, 0xadfa], -1234.5678],
  [{ type: 'float64', order: 'CDAB' }, [0xfaad, 0x6d5c, 0x4a45, 0xc093], -1234.5678],
  [{ type: 'float64', order: 'DCBA' }, [0xadfa, 0x5c6d, 0x454a, 0x93c0], -1234.5678],
  [{ type: 'string', length: 6 }, [0x4c49, 0x4e45, 0x2d37], 'LINE-7'],
  [{ type: 'string', length: 6, order: 'BADC' }, [0x494c, 0x454e, 0x372d], 'LINE-7'],
  [{ type: 'string', length: 5, order: 'CDAB' }, [0x4142, 0x2d31, 0x3200], 'AB-12'],
  [{ type: 'bool' }, [0x0001], true],
  [{ type: 'bool', bit: 15 }, [0x8000], true],
  [{ type: 'bool', bit: 14 }, [0x8000], false],
];

describe('plc-endpoint tag-codec', () => {
  for (const [t, words, value] of TABLE) {
    const label = `${t.type}${t.order ? ' ' + t.order : ''}${t.bit !== undefined ? ' bit ' + t.bit : ''} ${JSON.stringify(value)}`;
    it(`decodes ${label}`, () => assert.deepEqual(decodeRegisters(tag(t), words), value));
    if (t.bit === undefined) it(`encodes ${label}`, () => assert.deepEqual(encodeRegisters(tag(t), toRaw(tag(t), value)), words));
  }

  it('int64 beyond 2^53 comes back as exact decimal text', () => {
    assert.equal(decodeRegisters(tag({ type: 'int64' }), [0x0102, 0x0304, 0x0506, 0x0708]), '72623859790382856');
  });
  it('takes exact int64 values as decimal text or BigInt, beyond 2^53, and encodes them word for word', () => {
    const t = tag({ type: 'int64', name: 'Count' });
    assert.equal(toRaw(t, '9007199254740993'), 9007199254740993n);
    assert.equal(toRaw(t, 72623859790382856n), 72623859790382856n);
    assert.equal(toRaw(t, '-1000'), -1000, 'within ±2^53 it stays a number');
    assert.deepEqual(encodeRegisters(t, toRaw(t, '72623859790382856')), [0x0102, 0x0304, 0x0506, 0x0708]);
    assert.equal(decodeRegisters(t, encodeRegisters(t, toRaw(t, '-9223372036854775808'))), '-9223372036854775808');
    assert.equal(decodeRegisters(t, encodeRegisters(t, toRaw(t, 9223372036854775807n))), '9223372036854775807');
  });

  it('refuses exact int64 values it cannot write as given, naming the tag and the reason', () => {
    const refused: Array<[Partial<CodecTag>, unknown, RegExp]> = [
      [{ type: 'int64' }, '9223372036854775808', /out of range for int64/],
      [{ type: 'int64' }, -(2n ** 63n) - 1n, /out of range for int64/],
      [{ type: 'int64', max: 100 }, 101n, /above the tag maximum 100/],
      [{ type: 'int64', scale: 2 }, '9007199254740993', /needs a tag with scale 1 and offset 0/],
      [{ type: 'int64' }, 2 ** 60, /out of range for int64.*decimal string or a BigInt/],
      [{ type: 'int64' }, '12.5', /expects a finite number, got string/],
      [{ type: 'int32' }, 5n, /expects a finite number, got bigint/],
    ];
    for (const [t, v, re] of refused) assert.throws(() => toRaw(tag({ ...t, name: 'Count' }), v), (e: Error) => /^tag "Count": /.test(e.message) && re.test(e.message), String(v));
  });

  it('applies scale and offset both ways', () => {
    const t = tag({ type: 'int16', scale: 0.1, offset: -10 });
    assert.ok(Math.abs((decodeRegisters(t, [1234]) as number) - 113.4) < 1e-9);
    assert.equal(toRaw(t, 113.4), 1234);
  });
  it('sets and clears one bit of a register, keeping the others', () => {
    const t = tag({ type: 'bool', bit: 3 });
    assert.deepEqual(encodeRegisters(t, true, 0x0101), [0x0109]);
    assert.deepEqual(encodeRegisters(t, false, 0xffff), [0xfff7]);
  });
  it('counts registers per type', () => {
    assert.deepEqual(['bool', 'int16', 'uint32', 'float32', 'int64', 'float64'].map((t) => registerCount(t as never)), [1, 1, 2, 2, 4, 4]);
    assert.equal(registerCount('string', 7), 4);
  });

  const REFUSED: [Partial<CodecTag>, unknown, RegExp][] = [
    [{ type: 'bool' }, 'true', /expects a boolean \(or 0\/1\), got string "true"/],
    [{ type: 'bool' }, 2, /expects a boolean/],
    [{ type: 'int16' }, '5', /expects a finite number, got string "5"/],
    [{ type: 'int16' }, NaN, /expects a finite number/],
    [{ type: 'int16' }, null, /got null/],
    [{ type: 'int16' }, 32768, /value 32768 is out of range for int16 \(-32768\.\.32767\)/],
    [{ type: 'uint16' }, -1, /out of range for uint16/],
    [{ type: 'uint32' }, 4294967296, /out of range for uint32/],
    [{ type: 'int32' }, 1.5, /int32 expects an integer, got 1.5/],
    [{ type: 'int64' }, 2 ** 60, /out of range for int64/],
    [{ type: 'float32' }, 1e39, /out of range for float32/],
    [{ type: 'int16', min: 0, max: 100 }, 101, /above the tag maximum 100/],
    [{ type: 'int16', min: 0, max: 100 }, -1, /below the tag minimum 0/],
    [{ type: 'uint16', scale: 0.5 }, 40000, /value 40000 \(raw 80000\) is out of range for uint16/],
    [{ type: 'string', length: 3 }, 'ABCD', /string of 4 characters is longer than the tag's 3/],
    [{ type: 'string', length: 3 }, 12, /expects a string/],
    [{ type: 'string', length: 3 }, 'Ω', /outside Latin-1/],
  ];
  for (const [t, v, re] of REFUSED) {
    it(`refuses ${JSON.stringify(v)} for ${t.type}${t.max !== undefined ? ` max ${t.max}` : ''}${t.scale ? ` scale ${t.scale}` : ''} naming the tag`, () => {
      assert.throws(() => toRaw(tag({ ...t, name: 'Speed' }), v), (e: Error) => /^tag "Speed": /.test(e.message) && re.test(e.message));
    });
  }
});
