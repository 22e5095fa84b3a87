// One contract suite for every PlcDriver (nodes/plc-endpoint/plc-driver.ts), run against each
// implementation and transport with a real peer in another process: Modbus TCP and Modbus RTU (socat
// pseudo-terminal pair) against pymodbus, OPC UA against the project's simulator. The drivers are
// built the way plc-endpoint builds them: config validated with the schema defaults, then createDriver.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../../nodes/kit/node-kit';
import { createDriver } from '../../../nodes/plc-endpoint/create-driver';
import { WriteError, type PlcDriver } from '../../../nodes/plc-endpoint/plc-driver';
import type { PlcEndpointConfig, PlcTagConfig } from '../../../nodes/plc-endpoint/plc-endpoint.schema';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { startPtyPair, startPymodbus, startSimulator, type Layout, type Peer } from './peers';

/** The tags every implementation offers under the same roles. */
interface ContractTags {
  bool: PlcTagConfig;
  int: PlcTagConfig;
  float: PlcTagConfig;
  text: PlcTagConfig;
  readOnly: PlcTagConfig;
}

interface Implementation {
  name: string;
  tags: ContractTags;
  /** Starts the peer; returns the endpoint config fields that reach it. */
  start(): Promise<Record<string, unknown>>;
  /** Endpoint config fields of a device nobody answers at. */
  unreachable(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

// The same register layout for both Modbus transports (pymodbus, zero-based addresses).
const MODBUS_TAGS: ContractTags = {
  bool: { name: 'lamp', address: 'c:1', type: 'bool', writable: true },
  int: { name: 'setpoint', address: 'hr:10', type: 'int16', writable: true },
  float: { name: 'speed', address: 'hr:12', type: 'float32', writable: true },
  text: { name: 'code', address: 'hr:20', type: 'string', length: 8, writable: true },
  readOnly: { name: 'count', address: 'hr:30', type: 'uint16' },
};
// -5 = 0xFFFB; 3.14159274f = 0x40490FDB; "LINE" = 4C49 4E45.
const MODBUS_LAYOUT: Layout = { hr: { 10: 0xfffb, 12: 0x4049, 13: 0x0fdb, 20: 0x4c49, 21: 0x4e45, 30: 777 }, co: { 1: true } };

function modbusTcp(): Implementation {
  let peer: Peer | undefined;
  return {
    name: 'Modbus TCP (pymodbus)',
    tags: MODBUS_TAGS,
    async start() {
      const port = await freePort();
      peer = await startPymodbus(MODBUS_LAYOUT, { port });
      return { protocol: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1, timeoutMs: 2000 };
    },
    async unreachable() {
      return { protocol: 'modbus-tcp', host: '127.0.0.1', port: await freePort(), unitId: 1, timeoutMs: 1000, reconnectMinMs: 100, reconnectMaxMs: 500 };
    },
    async stop() {
      await peer?.stop();
    },
  };
}

function modbusRtu(): Implementation {
  let peer: Peer | undefined;
  let line: Awaited<ReturnType<typeof startPtyPair>> | undefined;
  return {
    name: 'Modbus RTU (pymodbus over a socat pty pair)',
    tags: MODBUS_TAGS,
    async start() {
      line = await startPtyPair();
      peer = await startPymodbus(MODBUS_LAYOUT, { serialPath: line.peer, baud: 38400 });
      return { protocol: 'modbus-rtu', serialPath: line.plc, baudRate: 38400, parity: 'none', unitId: 1, timeoutMs: 2000 };
    },
    async unreachable() {
      return { protocol: 'modbus-rtu', serialPath: path.join(os.tmpdir(), `no-such-serial-port-${process.pid}`), baudRate: 38400, parity: 'none', unitId: 1, timeoutMs: 1000, reconnectMinMs: 100, reconnectMaxMs: 500 };
    },
    async stop() {
      await peer?.stop();
      await line?.stop();
    },
  };
}

function opcua(): Implementation {
  let sim: Peer | undefined;
  const ns = (name: string) => `ns=1;s=Line1.${name}`;
  return {
    name: 'OPC UA (the simulator)',
    tags: {
      bool: { name: 'AlarmLamp', address: ns('AlarmLamp'), writable: true },
      int: { name: 'BatchSize', address: ns('BatchSize'), writable: true },
      float: { name: 'SpeedSetpoint', address: ns('SpeedSetpoint'), writable: true },
      text: { name: 'ProductCode', address: ns('ProductCode'), writable: true },
      readOnly: { name: 'GoodCount', address: ns('GoodCount') },
    },
    async start() {
      const port = await freePort();
      const opcuaPort = await freePort();
      sim = await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--tick', '50']);
      return { protocol: 'opcua', endpointUrl: `opc.tcp://127.0.0.1:${opcuaPort}/UA/Linesight`, reconnectMinMs: 200, reconnectMaxMs: 2000, timeoutMs: 5000 };
    },
    async unreachable() {
      return { protocol: 'opcua', endpointUrl: `opc.tcp://127.0.0.1:${await freePort()}/UA/Linesight`, reconnectMinMs: 100, reconnectMaxMs: 500, timeoutMs: 1000 };
    },
    async stop() {
      await sim?.stop();
    },
  };
}

for (const impl of [modbusTcp(), modbusRtu(), opcua()]) {
  describe(`PlcDriver contract: ${impl.name}`, function () {
    this.timeout(90_000);
    const { bool, int, float, text, readOnly } = impl.tags;
    const tagRows = [bool, int, float, text, readOnly];
    let reach: Record<string, unknown>;
    let pkiDir: string;
    const drivers: PlcDriver[] = [];

    const driverFor = (fields: Record<string, unknown>): PlcDriver => {
      const config = validateConfig<PlcEndpointConfig>('PlcEndpointConfig', { name: 'contract', ...fields, tags: tagRows }, 'plc-endpoint "contract"');
      const driver = createDriver(config, {}, { defaultPkiDir: pkiDir });
      drivers.push(driver);
      driver.start();
      return driver;
    };
    const connected = async (): Promise<PlcDriver> => {
      const driver = driverFor(reach);
      await waitFor(`${impl.name} connected`, () => driver.state.phase === 'connected', 30_000);
      return driver;
    };
    const tagsOf = (driver: PlcDriver, ...rows: PlcTagConfig[]) => driver.table.select(rows.map((r) => r.name));

    before(async () => {
      pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plc-contract-pki-'));
      reach = await impl.start();
    });
    afterEach(async () => {
      for (const d of drivers.splice(0)) await d.close();
    });
    after(async () => {
      await impl.stop();
      fs.rmSync(pkiDir, { recursive: true, force: true });
    });

    it('reads its tag table: one good sample per tag, in the order asked, named for the device', async () => {
      const driver = await connected();
      const order = [readOnly, text, bool, float, int];
      const samples = await driver.read(tagsOf(driver, ...order));
      assert.deepEqual(samples.map((s) => s.tag), order.map((t) => t.name));
      for (const s of samples) {
        assert.equal(s.quality, 'good', `${s.tag}: ${s.reason}`);
        assert.equal(s.device, 'contract');
        assert.equal(typeof s.ts, 'number');
      }
    });

    it('gives typed values: a bool as a boolean, integers and floats as numbers, text as a string', async () => {
      const driver = await connected();
      const [b, i, f, t, ro] = await driver.read(tagsOf(driver, bool, int, float, text, readOnly));
      assert.equal(typeof b.value, 'boolean');
      assert.ok(Number.isInteger(i.value), `int: ${JSON.stringify(i.value)}`);
      assert.equal(typeof f.value, 'number');
      assert.equal(typeof t.value, 'string');
      assert.ok(Number.isInteger(ro.value), `read-only counter: ${JSON.stringify(ro.value)}`);
    });

    it('writes every type and reads the values back, with verify and with a fresh read', async () => {
      const driver = await connected();
      const [before] = await driver.read(tagsOf(driver, bool));
      const writes = [
        { tag: bool.name, value: !before.value },
        { tag: int.name, value: -42 },
        { tag: float.name, value: 12.5 },
        { tag: text.name, value: 'PX-42' },
      ];
      const outcomes = await driver.write(writes, { verify: true });
      assert.deepEqual(outcomes.map((o) => [o.tag, o.readBack]), writes.map((w) => [w.tag, w.value]));
      const samples = await driver.read(tagsOf(driver, bool, int, float, text));
      assert.deepEqual(samples.map((s) => s.value), writes.map((w) => w.value));
    });

    it('refuses a write to a read-only tag before sending anything, naming the tag', async () => {
      const driver = await connected();
      const [current] = await driver.read(tagsOf(driver, int));
      const requests = driver.requests;
      await assert.rejects(driver.write([{ tag: int.name, value: 7 }, { tag: readOnly.name, value: 1 }]), (err: Error) => {
        assert.ok(err instanceof WriteError, `a WriteError, not ${err.name}`);
        assert.equal(err.tag, readOnly.name);
        assert.match(err.message, new RegExp(`tag "${readOnly.name}": is not writable`));
        return true;
      });
      assert.equal(driver.requests, requests, 'no request went out');
      assert.equal((await driver.read(tagsOf(driver, int)))[0].value, current.value, 'the writable tag of the refused batch is unchanged');
    });

    describe('an unreachable device', () => {
      it('reports disconnected with a reason; reads give bad samples with the reason, never a rejection; writes fail', async () => {
        const driver = driverFor(await impl.unreachable());
        await waitFor('state disconnected with a reason', () => driver.state.phase === 'disconnected' && !!driver.state.reason, 30_000);
        const samples = await driver.read(tagsOf(driver, bool, int));
        assert.deepEqual(samples.map((s) => [s.tag, s.quality, s.value]), [[bool.name, 'bad', null], [int.name, 'bad', null]]);
        for (const s of samples) assert.ok(s.reason, `${s.tag} says why`);
        await assert.rejects(driver.write([{ tag: int.name, value: 1 }]));
      });

      it('a failed write names the tag', async () => {
        const driver = driverFor(await impl.unreachable());
        await waitFor('state disconnected', () => driver.state.phase === 'disconnected', 30_000);
        await assert.rejects(driver.write([{ tag: int.name, value: 1 }]), (err: Error) => {
          assert.ok(err instanceof WriteError, `a WriteError, not ${err.name}: ${err.message}`);
          assert.equal(err.tag, int.name);
          return true;
        });
      });
    });

    it('closes: state closed, a second close is harmless, a read afterwards gives bad samples', async () => {
      const driver = await connected();
      const states: string[] = [];
      driver.on('state', (s) => states.push(s.phase));
      await driver.close();
      assert.equal(driver.state.phase, 'closed');
      assert.deepEqual(states, ['closed']);
      await driver.close();
      const samples = await driver.read(tagsOf(driver, int));
      assert.equal(samples[0].quality, 'bad');
    });
  });
}
