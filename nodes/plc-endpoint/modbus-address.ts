// Modbus address syntax. Two forms, both documented in the plc-endpoint help:
//   zero-based   `hr:0`, `ir:10`, `c:5`, `di:3`, bit in a register `hr:7.3` (bit 0 = least significant)
//   Modicon      `40001` (holding 0), `30001` (input 0), `00001` (coil 0), `10001` (discrete 0), `40008.3`,
//                and the six-digit form `400001`..`465536` for the full 16-bit range.

export type ModbusArea = 'coil' | 'discrete' | 'input' | 'holding';

export interface ModbusAddress {
  area: ModbusArea;
  /** Zero-based protocol address (what goes on the wire). */
  offset: number;
  /** Bit inside a 16-bit register (0 = LSB), only for `input`/`holding`. */
  bit?: number;
}

const PREFIX: Record<string, ModbusArea> = {
  c: 'coil', coil: 'coil', co: 'coil',
  di: 'discrete', d: 'discrete',
  ir: 'input', i: 'input',
  hr: 'holding', h: 'holding',
};
const MODICON: Record<string, ModbusArea> = { '0': 'coil', '1': 'discrete', '3': 'input', '4': 'holding' };

export class AddressError extends Error {
  constructor(address: string, reason: string) {
    super(`address "${address}" ${reason}`);
    this.name = 'AddressError';
  }
}

/** True for the bit areas (coils, discrete inputs); false for 16-bit register areas. */
export const isBitArea = (a: ModbusArea): boolean => a === 'coil' || a === 'discrete';
export const isWritableArea = (a: ModbusArea): boolean => a === 'coil' || a === 'holding';

export function parseModbusAddress(text: string): ModbusAddress {
  const s = String(text ?? '').trim();
  let area: ModbusArea;
  let offset: number;
  let bitText: string | undefined;
  const prefixed = /^([a-z]+):(\d+)(?:\.(\d+))?$/i.exec(s);
  if (prefixed) {
    const a = PREFIX[prefixed[1].toLowerCase()];
    if (!a) throw new AddressError(s, `has unknown area "${prefixed[1]}" (use c, di, ir or hr)`);
    area = a;
    offset = Number(prefixed[2]);
    bitText = prefixed[3];
  } else {
    const m = /^([0134])(\d{4,5})(?:\.(\d+))?$/.exec(s);
    if (!m) throw new AddressError(s, 'is not a Modbus address (examples: hr:0, 40001, c:5, 00001, hr:7.3)');
    area = MODICON[m[1]];
    const oneBased = Number(m[2]);
    if (oneBased < 1) throw new AddressError(s, 'is below the first one-based address (x0001)');
    offset = oneBased - 1;
    bitText = m[3];
  }
  if (offset > 65535) throw new AddressError(s, 'is beyond the 16-bit address range (0..65535)');
  const out: ModbusAddress = { area, offset };
  if (bitText !== undefined) {
    if (isBitArea(area)) throw new AddressError(s, 'takes a bit number only on input or holding registers');
    const bit = Number(bitText);
    if (bit > 15) throw new AddressError(s, 'has bit number above 15');
    out.bit = bit;
  }
  return out;
}

export function formatModbusAddress(a: ModbusAddress): string {
  const p = { coil: 'c', discrete: 'di', input: 'ir', holding: 'hr' }[a.area];
  return `${p}:${a.offset}${a.bit !== undefined ? `.${a.bit}` : ''}`;
}
