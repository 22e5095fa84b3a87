// Converts between Modbus register words and typed engineering values, both directions, for every
// data type and byte order. Register words are what modbus-serial hands over: unsigned 16-bit numbers
// in the order they sit on the wire (lowest address first).
//
// Byte orders, for a value whose bytes are A B C D (E F G H) from most to least significant:
//   ABCD  big-endian: registers [AB, CD] and for 64 bits [AB, CD, EF, GH]
//   BADC  bytes swapped inside each register: [BA, DC] / [BA, DC, FE, HG]
//   CDAB  register order reversed, bytes kept: [CD, AB] / [GH, EF, CD, AB] (the least significant
//         word first; for 64 bits all four words are reversed, not swapped in pairs)
//   DCBA  fully little-endian: [DC, BA] / [HG, FE, DC, BA]
// 16-bit values only see the byte swap (BADC and DCBA read BA); strings keep their character order and
// BADC/DCBA swap the two characters inside each register.
import type { PlcByteOrder, PlcDataType } from './plc-endpoint.schema';

export type TagValue = number | boolean | string;

export interface CodecTag {
  name: string;
  type: PlcDataType;
  order: PlcByteOrder;
  /** Characters of a string tag. */
  length?: number;
  scale: number;
  offset: number;
  min?: number;
  max?: number;
  /** Bit inside a register (bit-in-register bool). */
  bit?: number;
}

/** A value that cannot be written to a tag; the message names the tag and the reason. */
export class TagValueError extends Error {
  readonly tag: string;
  constructor(tag: string, reason: string) {
    super(`tag "${tag}": ${reason}`);
    this.name = 'TagValueError';
    this.tag = tag;
  }
}

const RANGES: Partial<Record<PlcDataType, [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38],
  float64: [-Number.MAX_VALUE, Number.MAX_VALUE],
};
const INTEGER_TYPES = new Set<PlcDataType>(['int16', 'uint16', 'int32', 'uint32', 'int64']);

/** Registers a value of this type occupies (bools in a bit area count as one bit). */
export function registerCount(type: PlcDataType, length = 0): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'int64':
    case 'float64':
      return 4;
    case 'string':
      return Math.ceil(Math.max(1, length) / 2);
  }
}

/** Reorders wire registers into big-endian (ABCD) bytes, or back: every order is its own inverse. */
function reorder(bytes: Buffer, order: PlcByteOrder, isString: boolean): Buffer {
  const out = Buffer.from(bytes);
  const words = out.length / 2;
  const swapBytes = order === 'BADC' || order === 'DCBA';
  const reverseWords = !isString && (order === 'CDAB' || order === 'DCBA');
  if (reverseWords) {
    for (let i = 0; i < words; i++) bytes.copy(out, (words - 1 - i) * 2, i * 2, i * 2 + 2);
  }
  if (swapBytes) {
    for (let i = 0; i < out.length; i += 2) {
      const t = out[i];
      out[i] = out[i + 1];
      out[i + 1] = t;
    }
  }
  return out;
}

function bufferToWords(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 2) out.push(b.readUInt16BE(i));
  return out;
}

const engineering = (tag: CodecTag, raw: number): number => (tag.scale === 1 && tag.offset === 0 ? raw : raw * tag.scale + tag.offset);

const swap16 = (w: number): number => ((w & 0xff) << 8) | ((w >> 8) & 0xff);
// One scratch buffer for float and 64-bit reads: decoding allocates nothing per value.
const scratch = new DataView(new ArrayBuffer(8));

/** Word i (0 = most significant) of an n-word value whose words start at `at`, in big-endian (ABCD) form. */
function word(tag: CodecTag, words: ArrayLike<number>, at: number, n: number, i: number): number {
  const o = tag.order;
  const w = words[at + (o === 'CDAB' || o === 'DCBA' ? n - 1 - i : i)] & 0xffff;
  return o === 'BADC' || o === 'DCBA' ? swap16(w) : w;
}

/**
 * Decodes a register tag from its wire words, starting at `at` (so a merged read needs no copying).
 * int64 beyond ±2^53 cannot be a JS number without losing digits, so such a value comes back as its
 * exact decimal string.
 */
export function decodeAt(tag: CodecTag, words: ArrayLike<number>, at: number): TagValue {
  const n = registerCount(tag.type, tag.length);
  if (words.length < at + n) throw new TagValueError(tag.name, `needs ${n} registers, got ${Math.max(0, words.length - at)}`);
  switch (tag.type) {
    case 'bool': {
      const w = words[at] & 0xffff;
      return tag.bit === undefined ? w !== 0 : ((w >> tag.bit) & 1) === 1;
    }
    case 'int16':
      return engineering(tag, (word(tag, words, at, 1, 0) << 16) >> 16);
    case 'uint16':
      return engineering(tag, word(tag, words, at, 1, 0));
    case 'int32':
      return engineering(tag, ((word(tag, words, at, 2, 0) << 16) | word(tag, words, at, 2, 1)) | 0);
    case 'uint32':
      return engineering(tag, word(tag, words, at, 2, 0) * 65536 + word(tag, words, at, 2, 1));
    case 'float32':
      scratch.setUint16(0, word(tag, words, at, 2, 0));
      scratch.setUint16(2, word(tag, words, at, 2, 1));
      return engineering(tag, scratch.getFloat32(0));
    case 'float64':
    case 'int64':
      for (let i = 0; i < 4; i++) scratch.setUint16(i * 2, word(tag, words, at, 4, i));
      if (tag.type === 'float64') return engineering(tag, scratch.getFloat64(0));
      {
        const big = scratch.getBigInt64(0);
        if (big > MAX_SAFE || big < MIN_SAFE) return big.toString();
        return engineering(tag, Number(big));
      }
    case 'string': {
      // Strings keep their character order: only BADC/DCBA swap the two characters of a register.
      const swap = tag.order === 'BADC' || tag.order === 'DCBA';
      const len = tag.length ?? n * 2;
      let out = '';
      for (let i = 0; i < len; i++) {
        const w = words[at + (i >> 1)] & 0xffff;
        const hiFirst = (i & 1) === 0 ? !swap : swap;
        const c = hiFirst ? w >> 8 : w & 0xff;
        if (c === 0) break;
        out += String.fromCharCode(c);
      }
      return out;
    }
  }
}

export function decodeRegisters(tag: CodecTag, words: ArrayLike<number>): TagValue {
  return decodeAt(tag, words, 0);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Checks a value for a tag and returns the raw value to send: the type must fit (boolean, or 0/1, for
 * bool; a finite number for numeric types; text for strings), the engineering value must lie inside the
 * tag's min/max, and the raw value inside the data type's range. Throws TagValueError naming the tag.
 */
export function toRaw(tag: CodecTag, value: unknown): RawValue {
  if (tag.type === 'int64' && (typeof value === 'bigint' || (typeof value === 'string' && DECIMAL.test(value)))) return int64Raw(tag, value);
  if (tag.type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    throw new TagValueError(tag.name, `expects a boolean (or 0/1), got ${describe(value)}`);
  }
  if (tag.type === 'string') {
    if (typeof value !== 'string') throw new TagValueError(tag.name, `expects a string, got ${describe(value)}`);
    const max = tag.length ?? 0;
    if (value.length > max) throw new TagValueError(tag.name, `string of ${value.length} characters is longer than the tag's ${max}`);
    if (!/^[\x00-\xff]*$/.test(value)) throw new TagValueError(tag.name, 'string has characters outside Latin-1');
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TagValueError(tag.name, `expects a finite number, got ${describe(value)}`);
  if (tag.min !== undefined && value < tag.min) throw new TagValueError(tag.name, `value ${value} is below the tag minimum ${tag.min}`);
  if (tag.max !== undefined && value > tag.max) throw new TagValueError(tag.name, `value ${value} is above the tag maximum ${tag.max}`);
  let raw = tag.scale === 1 && tag.offset === 0 ? value : (value - tag.offset) / tag.scale;
  if (INTEGER_TYPES.has(tag.type)) {
    const rounded = Math.round(raw);
    if (tag.scale === 1 && tag.offset === 0 && rounded !== raw) throw new TagValueError(tag.name, `${tag.type} expects an integer, got ${value}`);
    raw = rounded;
  }
  const [lo, hi] = RANGES[tag.type]!;
  if (raw < lo || raw > hi) {
    const scaled = raw !== value ? ` (raw ${raw})` : '';
    // A JS number past ±2^53 has already lost digits; exact 64-bit values travel as text or BigInt.
    const hint = tag.type === 'int64' ? '; give larger int64 values as a decimal string or a BigInt' : '';
    throw new TagValueError(tag.name, `value ${value}${scaled} is out of range for ${tag.type} (${lo}..${hi})${hint}`);
  }
  return raw;
}

const DECIMAL = /^-?\d{1,20}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int64 given exactly (a BigInt, or decimal text as plc-read hands back values beyond ±2^53): checked
 * against the tag's min/max and the int64 range without passing through a JS number. Scale and offset
 * would make it inexact, so such a tag takes only numbers.
 */
function int64Raw(tag: CodecTag, value: bigint | string): RawValue {
  const big = BigInt(value);
  const shown = big.toString();
  if (tag.scale !== 1 || tag.offset !== 0) throw new TagValueError(tag.name, `exact int64 value ${shown} needs a tag with scale 1 and offset 0`);
  if (tag.min !== undefined && big < BigInt(Math.ceil(tag.min))) throw new TagValueError(tag.name, `value ${shown} is below the tag minimum ${tag.min}`);
  if (tag.max !== undefined && big > BigInt(Math.floor(tag.max))) throw new TagValueError(tag.name, `value ${shown} is above the tag maximum ${tag.max}`);
  if (big < INT64_MIN || big > INT64_MAX) throw new TagValueError(tag.name, `value ${shown} is out of range for int64 (${INT64_MIN}..${INT64_MAX})`);
  return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
}

/** What toRaw hands to a driver: a number, a boolean, text, or a BigInt for an int64 beyond ±2^53. */
export type RawValue = number | boolean | string | bigint;

/** Encodes a raw value (from toRaw) into wire words. Bit-in-register tags need the current word. */
export function encodeRegisters(tag: CodecTag, raw: RawValue, currentWord = 0): number[] {
  if (tag.type === 'bool') {
    if (tag.bit === undefined) return [raw ? 1 : 0];
    const mask = 1 << tag.bit;
    return [raw ? (currentWord | mask) & 0xffff : currentWord & ~mask & 0xffff];
  }
  const n = registerCount(tag.type, tag.length);
  const b = Buffer.alloc(n * 2);
  switch (tag.type) {
    case 'int16':
      b.writeInt16BE(raw as number, 0);
      break;
    case 'uint16':
      b.writeUInt16BE(raw as number, 0);
      break;
    case 'int32':
      b.writeInt32BE(raw as number, 0);
      break;
    case 'uint32':
      b.writeUInt32BE(raw as number, 0);
      break;
    case 'float32':
      b.writeFloatBE(raw as number, 0);
      break;
    case 'float64':
      b.writeDoubleBE(raw as number, 0);
      break;
    case 'int64':
      b.writeBigInt64BE(BigInt(raw as number | bigint), 0);
      break;
    case 'string':
      b.write(raw as string, 0, 'latin1');
      break;
  }
  return bufferToWords(reorder(b, tag.order, tag.type === 'string'));
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${typeof v} ${String(v)}`;
}
