import assert from 'node:assert/strict';
import { parseModbusAddress } from '../../../../nodes/plc-endpoint/modbus-address';

describe('plc-endpoint modbus-address', () => {
  const OK: [string, object][] = [
    ['hr:0', { area: 'holding', offset: 0 }],
    ['HR:65535', { area: 'holding', offset: 65535 }],
    ['ir:10', { area: 'input', offset: 10 }],
    ['c:5', { area: 'coil', offset: 5 }],
    ['coil:5', { area: 'coil', offset: 5 }],
    ['di:3', { area: 'discrete', offset: 3 }],
    ['hr:7.3', { area: 'holding', offset: 7, bit: 3 }],
    ['ir:7.15', { area: 'input', offset: 7, bit: 15 }],
    ['40001', { area: 'holding', offset: 0 }],
    ['49999', { area: 'holding', offset: 9998 }],
    ['400001', { area: 'holding', offset: 0 }],
    ['465536', { area: 'holding', offset: 65535 }],
    ['30001', { area: 'input', offset: 0 }],
    ['00001', { area: 'coil', offset: 0 }],
    ['10003', { area: 'discrete', offset: 2 }],
    ['40008.3', { area: 'holding', offset: 7, bit: 3 }],
    [' hr:1 ', { area: 'holding', offset: 1 }],
  ];
  for (const [text, want] of OK) it(`parses ${JSON.stringify(text)}`, () => assert.deepEqual(parseModbusAddress(text), want));

  const BAD: [string, RegExp][] = [
    ['', /is not a Modbus address/],
    ['50001', /is not a Modbus address/],
    ['4001', /is not a Modbus address/],
    ['40000', /below the first one-based address/],
    ['465537', /beyond the 16-bit address range/],
    ['hr:65536', /beyond the 16-bit address range/],
    ['xx:1', /unknown area "xx"/],
    ['c:1.2', /bit number only on input or holding registers/],
    ['10001.1', /bit number only on input or holding registers/],
    ['hr:1.16', /bit number above 15/],
    ['hr:-1', /is not a Modbus address/],
    ['ns=2;s=X', /is not a Modbus address/],
  ];
  for (const [text, re] of BAD) {
    it(`refuses ${JSON.stringify(text)} naming the address`, () => {
      assert.throws(() => parseModbusAddress(text), (e: Error) => e.message.includes(`"${text.trim()}"`) && re.test(e.message));
    });
  }
});
