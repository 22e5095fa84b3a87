// Editor-side helpers for the plc-endpoint form: the same CSV parser and address check the runtime uses.
import { parseTagCsv } from './tag-csv';
import { parseModbusAddress } from './modbus-address';

(globalThis as unknown as Record<string, unknown>).LinesightPlc = {
  parseTagCsv,
  checkModbusAddress(a: string): string | null {
    try {
      parseModbusAddress(a);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  },
};
