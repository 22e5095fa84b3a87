// The connector's queue discipline with a scripted client (the real peers are in test/integration/plc).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ModbusConnector, type ModbusConnectorOptions } from '../../../../nodes/plc-endpoint/modbus-connector';
import { waitFor } from '../../../support/wait';

class ScriptedClient extends EventEmitter {
  inFlight = 0;
  maxInFlight = 0;
  pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  async connectTCP() {}
  async connectRTUBuffered() {}
  setID() {}
  setTimeout() {}
  close(cb: () => void) {
    cb();
  }
  readHoldingRegisters(a: number, n: number) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.pending.push({
        resolve: () => {
          this.inFlight--;
          resolve({ data: Array.from({ length: n }, (_, i) => a + i) });
        },
        reject: (e) => {
          this.inFlight--;
          reject(e);
        },
      });
    });
  }
  answerAll() {
    for (const p of this.pending.splice(0)) p.resolve(undefined);
  }
}

function make(o: Partial<ModbusConnectorOptions> = {}) {
  const client = new ScriptedClient();
  const c = new ModbusConnector({ transport: 'tcp', host: 'h', port: 1, unitId: 1, timeoutMs: 60_000, maxInFlight: 3, reconnectMinMs: 10, reconnectMaxMs: 50, createClient: () => client as never, connectSocket: async () => undefined, ...o });
  return { c, client };
}

describe('plc-endpoint modbus-connector queue', () => {
  it('keeps at most maxInFlight requests outstanding over TCP', async () => {
    const { c, client } = make();
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const all = Array.from({ length: 10 }, (_, i) => c.readRegisters('holding', i, 1));
    await waitFor('three sent', () => client.inFlight === 3);
    assert.equal(c.pending, 10);
    while (client.pending.length) {
      client.answerAll();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual((await Promise.all(all)).map((d) => d[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(client.maxInFlight, 3);
    await c.close();
  });

  it('sends one request at a time over RTU', async () => {
    const { c, client } = make({ transport: 'rtu', serialPath: '/dev/null' });
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const all = Array.from({ length: 4 }, (_, i) => c.readRegisters('holding', i, 1));
    while (client.pending.length || c.pending) {
      client.answerAll();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    assert.equal(client.maxInFlight, 1);
    await c.close();
  });

  it('fails queued and in-flight requests at once when the link drops, then reconnects', async () => {
    const { c, client } = make();
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const all = Array.from({ length: 5 }, (_, i) => c.readRegisters('holding', i, 1).catch((e: Error) => e));
    client.emit('close');
    const results = await Promise.all(all);
    assert.ok(results.every((r) => r instanceof Error && /not connected to h:1: connection closed by peer/.test(r.message)));
    assert.equal(c.pending, 0);
    await assert.rejects(c.readRegisters('holding', 0, 1), /not connected/);
    await waitFor('reconnected', () => c.state.phase === 'connected', 5000);
    await c.close();
  });

  it('a closed port reported only by a rejection takes the link down (regression: link reset with no close event)', async () => {
    // modbus-serial rejects with a plain PortNotOpenError object, not an Error, and after a reset link
    // emits no 'close': the connector must still go down, name the reason, and reconnect.
    const { c, client } = make();
    const phases: string[] = [];
    c.on('state', (s: { phase: string }) => phases.push(s.phase));
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const portNotOpen = Object.assign(Object.create(null), { name: 'PortNotOpenError', message: 'Port Not Open', errno: 'ECONNREFUSED' });
    const first = c.readRegisters('holding', 0, 1).catch((e: Error) => e);
    await waitFor('sent', () => client.pending.length === 1);
    client.pending.shift()!.reject(portNotOpen);
    const err = await first;
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'not connected to h:1: port not open');
    assert.ok(phases.includes('disconnected'), `went down: ${phases}`);
    await waitFor('reconnected', () => c.state.phase === 'connected', 5000);
    await c.close();
  });

  it('keeps the message of a non-Error rejection instead of "[object Object]"', async () => {
    const { c, client } = make();
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const p = c.readRegisters('holding', 0, 1).catch((e: Error) => e);
    await waitFor('sent', () => client.pending.length === 1);
    client.pending.shift()!.reject({ name: 'SomethingError', message: 'Illegal data address' } as never);
    assert.equal(((await p) as Error).message, 'Illegal data address');
    await c.close();
  });

  it('refuses new requests when the queue is full instead of growing it', async () => {
    const { c } = make({ maxInFlight: 1, maxQueued: 2 });
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const held = [c.readRegisters('holding', 0, 1), c.readRegisters('holding', 1, 1), c.readRegisters('holding', 2, 1)].map((p) => p.catch((e: Error) => e));
    await assert.rejects(c.readRegisters('holding', 3, 1), /request queue full/);
    await c.close();
    assert.ok((await Promise.all(held)).every((r) => r instanceof Error && /endpoint closed/.test(r.message)));
  });

  it('times a request out with its own timer, frees the slot, and reconnects after repeated timeouts', async () => {
    const { c, client } = make({ maxInFlight: 1, timeoutMs: 30, timeoutsBeforeReconnect: 2 });
    c.start();
    await waitFor('connected', () => c.state.phase === 'connected');
    const states: string[] = [];
    c.on('state', (s) => states.push(s.phase));
    await assert.rejects(c.readRegisters('holding', 0, 1), /no answer within 30 ms/);
    assert.equal(client.inFlight, 1, 'the client never answered');
    assert.equal(c.pending, 0, 'but the slot is free');
    await assert.rejects(c.readRegisters('holding', 0, 1), /no answer within 30 ms/);
    await waitFor('reconnect after two timeouts', () => states.includes('disconnected'), 2000);
    await c.close();
  });

  it('reports reconnect delays within the bounds while the peer refuses', async () => {
    const delays: number[] = [];
    const client = new ScriptedClient();
    client.connectTCP = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const c = new ModbusConnector({ transport: 'tcp', host: 'h', port: 1, unitId: 1, timeoutMs: 100, maxInFlight: 1, reconnectMinMs: 5, reconnectMaxMs: 40, createClient: () => client as never });
    c.on('state', (s) => s.retryInMs !== undefined && delays.push(s.retryInMs));
    c.start();
    await waitFor('six attempts', () => delays.length >= 6, 5000);
    await c.close();
    assert.ok(delays.every((d) => d >= 0 && d <= 40), String(delays));
    assert.ok(Math.max(...delays.slice(3)) > Math.max(...delays.slice(0, 1)), `delays grow: ${delays}`);
  });
});
