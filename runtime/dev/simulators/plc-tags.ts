// The simulated line's tag table (what `linesight simulate plc` serves), in the plc-endpoint tag-table
// shape, so a demo flow or a test can point a plc-endpoint at the simulator without retyping it.
import type { PlcTagConfig } from '../../../nodes/plc-endpoint';

export const SIM_MODBUS_TAGS: PlcTagConfig[] = [
  { name: 'LineSpeed', address: 'hr:0', type: 'float32', unit: 'm/min', deadband: 0.5 },
  { name: 'SpeedSetpoint', address: 'hr:2', type: 'float32', unit: 'm/min', writable: true, min: 0, max: 300 },
  { name: 'GoodCount', address: 'hr:4', type: 'uint32' },
  { name: 'RejectCount', address: 'hr:6', type: 'uint32', order: 'CDAB' },
  { name: 'Mode', address: 'hr:8', type: 'uint16' },
  { name: 'Running', address: 'hr:9.0', type: 'bool' },
  { name: 'ProductCode', address: 'hr:10', type: 'string', length: 8, writable: true },
  { name: 'MotorTemp', address: 'ir:0', type: 'int16', scale: 0.1, unit: '°C', deadband: 0.5 },
  { name: 'CycleTime', address: 'ir:1', type: 'uint16', unit: 'ms' },
  { name: 'AlarmLamp', address: 'c:0', type: 'bool', writable: true },
  { name: 'Horn', address: 'c:1', type: 'bool', writable: true },
  { name: 'Diverter', address: 'c:2', type: 'bool', writable: true },
  { name: 'LineStop', address: 'c:3', type: 'bool', writable: true },
  { name: 'EStopOk', address: 'di:0', type: 'bool' },
  // One register set per data type and byte order, fixed values (see SHOWCASE in plc-line.ts).
  { name: 'Int16_ABCD', address: 'hr:20', type: 'int16' },
  { name: 'Int16_BADC', address: 'hr:21', type: 'int16', order: 'BADC' },
  { name: 'Int32_ABCD', address: 'hr:22', type: 'int32', order: 'ABCD' },
  { name: 'Int32_BADC', address: 'hr:24', type: 'int32', order: 'BADC' },
  { name: 'Int32_CDAB', address: 'hr:26', type: 'int32', order: 'CDAB' },
  { name: 'Int32_DCBA', address: 'hr:28', type: 'int32', order: 'DCBA' },
  { name: 'Float32_ABCD', address: 'hr:30', type: 'float32', order: 'ABCD' },
  { name: 'Float32_BADC', address: 'hr:32', type: 'float32', order: 'BADC' },
  { name: 'Float32_CDAB', address: 'hr:34', type: 'float32', order: 'CDAB' },
  { name: 'Float32_DCBA', address: 'hr:36', type: 'float32', order: 'DCBA' },
  { name: 'Int64_ABCD', address: 'hr:38', type: 'int64', order: 'ABCD' },
  { name: 'Int64_BADC', address: 'hr:42', type: 'int64', order: 'BADC' },
  { name: 'Int64_CDAB', address: 'hr:46', type: 'int64', order: 'CDAB' },
  { name: 'Int64_DCBA', address: 'hr:50', type: 'int64', order: 'DCBA' },
  { name: 'Float64_ABCD', address: 'hr:54', type: 'float64', order: 'ABCD' },
  { name: 'Float64_BADC', address: 'hr:58', type: 'float64', order: 'BADC' },
  { name: 'Float64_CDAB', address: 'hr:62', type: 'float64', order: 'CDAB' },
  { name: 'Float64_DCBA', address: 'hr:66', type: 'float64', order: 'DCBA' },
  { name: 'UInt16', address: 'hr:70', type: 'uint16' },
  { name: 'UInt32', address: 'hr:71', type: 'uint32' },
];

/** OPC UA: the same line under ns=1;s=Line1.<Name> (types come from the server). */
export const SIM_OPCUA_TAGS: PlcTagConfig[] = [
  { name: 'LineSpeed', address: 'ns=1;s=Line1.LineSpeed', unit: 'm/min' },
  { name: 'SpeedSetpoint', address: 'ns=1;s=Line1.SpeedSetpoint', unit: 'm/min', writable: true, min: 0, max: 300 },
  { name: 'GoodCount', address: 'ns=1;s=Line1.GoodCount' },
  { name: 'RejectCount', address: 'ns=1;s=Line1.RejectCount' },
  { name: 'Mode', address: 'ns=1;s=Line1.Mode' },
  { name: 'ProductCode', address: 'ns=1;s=Line1.ProductCode', writable: true },
  { name: 'MotorTemp', address: 'ns=1;s=Line1.MotorTemp', unit: '°C' },
  { name: 'AlarmLamp', address: 'ns=1;s=Line1.AlarmLamp', writable: true },
  { name: 'Horn', address: 'ns=1;s=Line1.Horn', writable: true },
  { name: 'Diverter', address: 'ns=1;s=Line1.Diverter', writable: true },
  { name: 'LineStop', address: 'ns=1;s=Line1.LineStop', writable: true },
  { name: 'BatchSize', address: 'ns=1;s=Line1.BatchSize', writable: true },
  { name: 'LifetimeCount', address: 'ns=1;s=Line1.LifetimeCount', writable: true },
];
