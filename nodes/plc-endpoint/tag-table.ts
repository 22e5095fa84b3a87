// The endpoint's tag table: checks every row once at deploy (address syntax, type, size, writability)
// and resolves it into what the codecs and the read planner need. Also parses the CSV import format.
import { isBitArea, isWritableArea, parseModbusAddress, type ModbusAddress } from './modbus-address';
import { registerCount, type CodecTag } from './tag-codec';
import type { PlcByteOrder, PlcDataType, PlcProtocol, PlcTagConfig } from './plc-endpoint.schema';

export interface ModbusTag extends CodecTag {
  kind: 'modbus';
  address: ModbusAddress;
  /** Registers (or bits, in a bit area) this tag spans. */
  count: number;
  unit?: string;
  deadband: number;
  writable: boolean;
}

export interface OpcuaTag {
  kind: 'opcua';
  name: string;
  nodeId: string;
  unit?: string;
  deadband: number;
  writable: boolean;
  scale: number;
  offset: number;
  min?: number;
  max?: number;
}

export type PlcTag = ModbusTag | OpcuaTag;

const TYPES: PlcDataType[] = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float32', 'float64', 'string'];
const ORDERS: PlcByteOrder[] = ['ABCD', 'BADC', 'CDAB', 'DCBA'];
export const MAX_READ_REGISTERS = 125;
export const MAX_READ_BITS = 2000;
export const MAX_WRITE_REGISTERS = 123;

/** A tag table that cannot be used; each problem names the row's tag and the reason. */
export class TagTableError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`tag table: ${problems.join('; ')}`);
    this.name = 'TagTableError';
    this.problems = problems;
  }
}

export class TagTable {
  readonly tags: PlcTag[];
  private readonly byName = new Map<string, PlcTag>();

  constructor(protocol: PlcProtocol, rows: PlcTagConfig[]) {
    const problems: string[] = [];
    const tags: PlcTag[] = [];
    rows.forEach((row, i) => {
      const label = row?.name ? `tag "${row.name}"` : `tag row ${i + 1}`;
      try {
        const t = protocol === 'opcua' ? resolveOpcua(row) : resolveModbus(row);
        if (this.byName.has(t.name)) throw new Error('is defined twice');
        this.byName.set(t.name, t);
        tags.push(t);
      } catch (err) {
        problems.push(`${label} ${(err as Error).message}`);
      }
    });
    if (problems.length) throw new TagTableError(problems);
    this.tags = tags;
  }

  get(name: string): PlcTag | undefined {
    return this.byName.get(name);
  }

  /** Looks up tags by name; an empty list means every tag. Throws naming each unknown tag. */
  select(names: string[]): PlcTag[] {
    if (names.length === 0) return this.tags;
    const unknown = names.filter((n) => !this.byName.has(n));
    if (unknown.length) throw new Error(`unknown tag${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (not in the endpoint's tag table)`);
    return names.map((n) => this.byName.get(n)!);
  }
}

function common(row: PlcTagConfig) {
  if (!row || typeof row.name !== 'string' || !row.name.trim()) throw new Error('has no name');
  const scale = row.scale ?? 1;
  if (!Number.isFinite(scale) || scale === 0) throw new Error('has scale 0 or not a number');
  return {
    name: row.name.trim(),
    unit: row.unit || undefined,
    deadband: row.deadband ?? 0,
    writable: row.writable === true,
    scale,
    offset: row.offset ?? 0,
    min: row.min ?? undefined,
    max: row.max ?? undefined,
  };
}

function resolveModbus(row: PlcTagConfig): ModbusTag {
  const c = common(row);
  let address: ModbusAddress;
  try {
    address = parseModbusAddress(row.address);
  } catch (err) {
    throw new Error(`has ${(err as Error).message}`);
  }
  const type = row.type ?? (isBitArea(address.area) || address.bit !== undefined ? 'bool' : undefined);
  if (!type || !TYPES.includes(type)) throw new Error(`has ${type ? `unknown type "${type}"` : 'no data type'} (one of ${TYPES.join(', ')})`);
  const order = row.order ?? 'ABCD';
  if (!ORDERS.includes(order)) throw new Error(`has unknown byte order "${order}" (one of ${ORDERS.join(', ')})`);
  if (isBitArea(address.area) && type !== 'bool') throw new Error(`is a ${address.area === 'coil' ? 'coil' : 'discrete input'} and can only be bool, not ${type}`);
  if (address.bit !== undefined && type !== 'bool') throw new Error(`addresses a bit (${row.address}) and can only be bool, not ${type}`);
  if (type === 'string' && !(Number.isInteger(row.length) && row.length! > 0)) throw new Error('is a string and needs a length in characters');
  if (c.writable && !isWritableArea(address.area)) throw new Error(`is writable but ${address.area === 'input' ? 'input registers' : 'discrete inputs'} are read-only`);
  const count = isBitArea(address.area) ? 1 : registerCount(type, row.length);
  if (count > MAX_READ_REGISTERS) throw new Error(`spans ${count} registers, more than one Modbus read (${MAX_READ_REGISTERS})`);
  if (address.offset + count - 1 > 65535) throw new Error('runs past register 65535');
  return { kind: 'modbus', ...c, type, order, length: row.length, address, bit: address.bit, count };
}

function resolveOpcua(row: PlcTagConfig): OpcuaTag {
  const c = common(row);
  const nodeId = String(row.address ?? '').trim();
  if (!/^(ns=\d+;)?([isgb])=.+$/.test(nodeId) && !/^nsu=[^;]+;[isgb]=.+$/.test(nodeId)) {
    throw new Error(`has address "${nodeId}", which is not an OPC UA NodeId (e.g. ns=2;s=Line1.Speed)`);
  }
  return { kind: 'opcua', ...c, nodeId };
}
