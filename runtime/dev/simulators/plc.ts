// `linesight simulate plc`: a simulated production line PLC over Modbus TCP (modbus-serial's server)
// and, with --opcua, OPC UA (node-opcua). Prints what it serves, then "ready".
import type { Command } from 'commander';
import { ServerTCP } from 'modbus-serial';
import { PlcLine } from './plc-line';
import { SIM_MODBUS_TAGS, SIM_OPCUA_TAGS } from './plc-tags';
import type { OpcuaSecurity } from './plc-opcua';

export interface PlcSimulatorOptions {
  host?: string;
  port: number;
  opcuaPort?: number;
  /** "name:password": OPC UA accepts only this user (no anonymous access). */
  opcuaUser?: string;
  opcuaSecurity?: OpcuaSecurity;
  tickMs?: number;
}

export interface PlcSimulator {
  line: PlcLine;
  modbusUrl: string;
  opcuaUrl?: string;
  close(): Promise<void>;
}

export async function startPlcSimulator(o: PlcSimulatorOptions): Promise<PlcSimulator> {
  const line = new PlcLine(Date.now());
  const timer = setInterval(() => line.tick(Date.now()), o.tickMs ?? 100);
  const host = o.host ?? '127.0.0.1';
  const inRange = (a: number, n: number, size: number) => {
    if (a < 0 || a + n > size) throw Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });
  };
  const vector = {
    getCoil: (a: number) => (inRange(a, 1, line.coils.length), line.coils[a]),
    getDiscreteInput: (a: number) => (inRange(a, 1, line.discrete.length), line.discrete[a]),
    getInputRegister: (a: number) => (inRange(a, 1, line.input.length), line.input[a]),
    getHoldingRegister: (a: number) => (inRange(a, 1, line.holding.length), line.holding[a]),
    getMultipleHoldingRegisters: (a: number, n: number) => (inRange(a, n, line.holding.length), Array.from(line.holding.subarray(a, a + n))),
    getMultipleInputRegisters: (a: number, n: number) => (inRange(a, n, line.input.length), Array.from(line.input.subarray(a, a + n))),
    setCoil: (a: number, v: boolean) => {
      inRange(a, 1, line.coils.length);
      line.coils[a] = v;
    },
    setRegister: (a: number, v: number) => {
      inRange(a, 1, line.holding.length);
      line.holding[a] = v;
    },
  };
  const server = new ServerTCP(vector, { host, port: o.port, unitID: 255 });
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
    server.once('error', reject);
  });
  server.on('socketError', () => {});
  server.on('serverError', () => {});
  server.on('error', () => {});
  let opcua: { url: string; close(): Promise<void> } | undefined;
  if (o.opcuaPort) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startOpcuaSimulator } = require('./plc-opcua') as typeof import('./plc-opcua');
    opcua = await startOpcuaSimulator(line, o.opcuaPort, o.opcuaUser, o.opcuaSecurity);
  }
  return {
    line,
    modbusUrl: `modbus-tcp://${host}:${o.port}`,
    opcuaUrl: opcua?.url,
    async close() {
      clearInterval(timer);
      await opcua?.close();
      await new Promise<void>((r) => {
        for (const s of server.socks.keys()) s.destroy();
        server.close(() => r());
      });
    },
  };
}

export function register(simulate: Command): void {
  simulate
    .command('plc')
    .description('a simulated production line PLC: Modbus TCP (and OPC UA with --opcua)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'Modbus TCP port', (v) => Number(v), 5020)
    .option('--opcua <port>', 'also serve OPC UA on this port', (v) => Number(v))
    .option('--opcua-user <name:password>', 'OPC UA: accept only this user instead of anonymous access')
    .option('--opcua-security <mode>', 'OPC UA: the one security mode offered: None, Sign or SignAndEncrypt (policies Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)', 'None')
    .option('--opcua-pki <dir>', 'OPC UA: the server certificate store (own/, trusted/, rejected/); default: node-opcua\'s own folder')
    .option('--opcua-trusted-only', 'OPC UA: refuse client certificates not in <pki>/trusted/certs (default: accept and record them)', false)
    .option('--tick <ms>', 'model update interval', (v) => Number(v), 100)
    .action(async (opts: { host: string; port: number; opcua?: number; opcuaUser?: string; opcuaSecurity: string; opcuaPki?: string; opcuaTrustedOnly: boolean; tick: number }) => {
      if (!['None', 'Sign', 'SignAndEncrypt'].includes(opts.opcuaSecurity)) throw new Error(`--opcua-security must be None, Sign or SignAndEncrypt, got ${JSON.stringify(opts.opcuaSecurity)}`);
      const opcuaSecurity: OpcuaSecurity = { mode: opts.opcuaSecurity as OpcuaSecurity['mode'], pkiDir: opts.opcuaPki, trustAll: !opts.opcuaTrustedOnly };
      const sim = await startPlcSimulator({ host: opts.host, port: opts.port, opcuaPort: opts.opcua, opcuaUser: opts.opcuaUser, opcuaSecurity, tickMs: opts.tick });
      const out: string[] = [`linesight simulate plc: Modbus TCP on ${opts.host}:${opts.port} (any unit id)`];
      out.push('  tag               address   type      order  writable');
      for (const t of SIM_MODBUS_TAGS) {
        out.push(`  ${t.name.padEnd(17)} ${t.address.padEnd(9)} ${(t.type ?? '').padEnd(9)} ${(t.order ?? 'ABCD').padEnd(6)} ${t.writable ? 'yes' : ''}`);
      }
      out.push('  the line: LineSpeed ramps to SpeedSetpoint, to 0 while LineStop (c:3) is on; Diverter (c:2) sends products to RejectCount; AlarmLamp (c:0) sets Mode 2');
      if (sim.opcuaUrl) {
        out.push(`OPC UA on ${sim.opcuaUrl} (${opts.opcuaUser ? `user "${opts.opcuaUser.split(':')[0]}" only` : 'anonymous'}, security ${opts.opcuaSecurity}${opts.opcuaTrustedOnly ? ', trusted client certificates only' : ''}): ${SIM_OPCUA_TAGS.map((t) => t.address).join(', ')}`);
      }
      out.push('ready');
      console.log(out.join('\n'));
      const stop = () => {
        sim.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
