// The simulated production line behind `linesight simulate plc`: a register image that moves. Speed
// ramps toward its setpoint (to 0 while LineStop is on), counters count products, the diverter sends
// products to the reject count, Mode and the status word follow. Pure: the caller drives tick(now).
import { encodeRegisters, decodeRegisters, toRaw, TagTable, type CodecTag, type ModbusTag } from '../../../nodes/plc-endpoint';
import { SIM_MODBUS_TAGS } from './plc-tags';

/** Fixed values of the type-and-order showcase registers. */
export const SHOWCASE: Record<string, number> = {
  Int16: -1234,
  Int32: -123456789,
  Float32: 3.1415927410125732,
  Int64: 283686952306183,
  Float64: -1234.5678,
  UInt16: 50000,
  UInt32: 3000000000,
};

export const MODE = { stopped: 0, running: 1, alarm: 2 } as const;

export class PlcLine {
  readonly holding = new Uint16Array(200);
  readonly input = new Uint16Array(20);
  readonly coils: boolean[] = new Array(20).fill(false);
  readonly discrete: boolean[] = new Array(20).fill(false);
  private readonly tags: Map<string, ModbusTag>;
  private last: number;
  private products = 0;
  private rejects = 0;
  speed = 0;
  temp = 25;

  constructor(now: number, private readonly rampPerSecond = 60) {
    this.last = now;
    this.tags = new Map(new TagTable('modbus-tcp', SIM_MODBUS_TAGS).tags.map((t) => [t.name, t as ModbusTag]));
    this.set('SpeedSetpoint', 120);
    this.set('ProductCode', 'PX-2000');
    for (const [name, t] of this.tags) {
      const base = name.split('_')[0];
      if (name.includes('_') || base === 'UInt16' || base === 'UInt32') {
        if (SHOWCASE[base] !== undefined) this.writeHolding(t, SHOWCASE[base]);
      }
    }
    this.discrete[0] = true; // EStopOk
    this.tick(now);
  }

  private writeHolding(t: CodecTag & ModbusTag, value: number | string) {
    const words = encodeRegisters(t, toRaw(t, value));
    this.holding.set(words, t.address.offset);
  }

  private set(name: string, value: number | string) {
    this.writeHolding(this.tags.get(name)!, value);
  }

  get(name: string): unknown {
    const t = this.tags.get(name)!;
    if (t.address.area === 'coil') return this.coils[t.address.offset];
    if (t.address.area === 'discrete') return this.discrete[t.address.offset];
    const img = t.address.area === 'holding' ? this.holding : this.input;
    return decodeRegisters(t, img.subarray(t.address.offset, t.address.offset + t.count));
  }

  get setpoint(): number {
    return this.get('SpeedSetpoint') as number;
  }

  tick(now: number): void {
    const dt = Math.max(0, (now - this.last) / 1000);
    this.last = now;
    const stop = this.coils[3];
    const target = stop ? 0 : Math.max(0, Math.min(300, this.setpoint || 0));
    const step = this.rampPerSecond * dt;
    this.speed = this.speed < target ? Math.min(target, this.speed + step) : Math.max(target, this.speed - step);
    // One product per 0.1 m of line travelled.
    const made = (this.speed / 60) * dt * 10;
    if (this.coils[2]) this.rejects += made;
    else this.products += made;
    this.temp += ((25 + this.speed * 0.15) - this.temp) * Math.min(1, dt / 5);
    const mode = this.coils[0] ? MODE.alarm : this.speed > 0 ? MODE.running : MODE.stopped;
    this.set('LineSpeed', Math.round(this.speed * 100) / 100);
    this.set('GoodCount', Math.floor(this.products) % 4294967296);
    this.set('RejectCount', Math.floor(this.rejects) % 4294967296);
    this.holding[8] = mode;
    this.holding[9] = (this.speed > 0 ? 1 : 0) | (this.coils[0] ? 2 : 0) | (this.coils[2] ? 4 : 0) | (stop ? 8 : 0);
    this.input[0] = Math.round(this.temp * 10) & 0xffff;
    this.input[1] = this.speed > 0 ? Math.round(6000 / this.speed) : 0;
  }
}
