import assert from 'node:assert/strict';
import { TagTable } from '../../../../nodes/plc-endpoint/tag-table';
import { parseTagCsv } from '../../../../nodes/plc-endpoint/tag-csv';

describe('plc-endpoint tag table and CSV import', () => {
  it('resolves Modbus rows with defaults (order ABCD, scale 1, bool for coils and bits)', () => {
    const t = new TagTable('modbus-tcp', [{ name: 'lamp', address: '00001' }, { name: 'bit', address: 'hr:4.2' }, { name: 'v', address: '40010', type: 'float32' }]);
    assert.deepEqual(t.tags.map((x) => [x.name, (x as any).type, (x as any).order, x.scale, (x as any).count]), [['lamp', 'bool', 'ABCD', 1, 1], ['bit', 'bool', 'ABCD', 1, 1], ['v', 'float32', 'ABCD', 1, 2]]);
  });

  const BAD: [object, RegExp][] = [
    [{ name: 'a', address: 'hr:1' }, /tag "a" has no data type/],
    [{ name: 'a', address: 'hr:1', type: 'int8' }, /tag "a" has unknown type "int8"/],
    [{ name: 'a', address: 'hr:1', type: 'int16', order: 'XYZW' }, /tag "a" has unknown byte order "XYZW"/],
    [{ name: 'a', address: 'hr:1', type: 'string' }, /tag "a" is a string and needs a length/],
    [{ name: 'a', address: 'hr:1.2', type: 'int16' }, /tag "a" addresses a bit \(hr:1.2\) and can only be bool/],
    [{ name: 'a', address: 'di:1', writable: true }, /tag "a" is writable but discrete inputs are read-only/],
    [{ name: 'a', address: 'hr:65535', type: 'int32' }, /tag "a" runs past register 65535/],
    [{ name: 'a', address: 'hr:0', type: 'uint16', scale: 0 }, /tag "a" has scale 0/],
    [{ name: '', address: 'hr:0', type: 'uint16' }, /tag row 1 has no name/],
    [{ name: 'a', address: 'bogus', type: 'uint16' }, /tag "a" has address "bogus" is not a Modbus address/],
  ];
  for (const [row, re] of BAD) it(`refuses ${JSON.stringify(row)}`, () => assert.throws(() => new TagTable('modbus-tcp', [row as never]), re));

  it('refuses a name used twice and reports every bad row at once', () => {
    assert.throws(
      () => new TagTable('modbus-tcp', [{ name: 'a', address: 'hr:0', type: 'uint16' }, { name: 'a', address: 'hr:1', type: 'uint16' }, { name: 'b', address: 'x' }]),
      (e: Error) => /tag "a" is defined twice/.test(e.message) && /tag "b" has address "x"/.test(e.message),
    );
  });

  it('checks OPC UA NodeIds', () => {
    assert.equal(new TagTable('opcua', [{ name: 's', address: 'ns=2;s=Line1.Speed' }, { name: 'i', address: 'i=2258' }]).tags.length, 2);
    assert.throws(() => new TagTable('opcua', [{ name: 's', address: 'Line1.Speed' }]), /tag "s" has address "Line1.Speed", which is not an OPC UA NodeId/);
  });

  it('select() names unknown tags', () => {
    const t = new TagTable('modbus-tcp', [{ name: 'a', address: 'hr:0', type: 'uint16' }]);
    assert.throws(() => t.select(['a', 'zz', 'yy']), /unknown tags "zz", "yy"/);
    assert.equal(t.select([]).length, 1);
  });

  it('parses the CSV format, quoted fields and booleans included', () => {
    const rows = parseTagCsv('name,address,type,order,length,scale,unit,writable,max\r\nSpeed,hr:0,FLOAT32,cdab,,0.1,"m/min",no,\n"Lamp, red",c:1,bool,,,,,yes,\n\nCode,hr:10,string,,8,,,,\n');
    assert.deepEqual(rows, [
      { name: 'Speed', address: 'hr:0', type: 'float32', order: 'CDAB', scale: 0.1, unit: 'm/min', writable: false },
      { name: 'Lamp, red', address: 'c:1', type: 'bool', writable: true },
      { name: 'Code', address: 'hr:10', type: 'string', length: 8 },
    ]);
    assert.equal(new TagTable('modbus-tcp', rows).tags.length, 3);
  });

  it('names the line and column of bad CSV', () => {
    assert.throws(() => parseTagCsv('name,address,colour\na,hr:0,red'), /unknown column "colour"/);
    assert.throws(() => parseTagCsv('name,type\na,int16'), /needs at least the columns name and address/);
    assert.throws(() => parseTagCsv('name,address,scale\na,hr:0,1\nb,hr:1,big'), /CSV line 3: scale "big" is not a number/);
    assert.throws(() => parseTagCsv('name,address,writable\na,hr:0,maybe'), /CSV line 2: writable "maybe"/);
  });
});
