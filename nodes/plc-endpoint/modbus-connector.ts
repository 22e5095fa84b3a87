// One Modbus connection (TCP or RTU) through modbus-serial: a request queue with a bounded number in
// flight (RTU always one at a time), a per-request timeout that frees its slot so later requests go on,
// immediate failure of queued and in-flight requests when the link drops, and reconnection with
// exponential backoff and jitter.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import ModbusRTU from 'modbus-serial';
import { Backoff } from '../../lib/backoff';
import type { ModbusArea } from './modbus-address';
import type { ConnectionState } from './connection-state';

export interface ModbusConnectorOptions {
  transport: 'tcp' | 'rtu';
  host?: string;
  port?: number;
  serialPath?: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: number;
  stopBits?: number;
  unitId: number;
  timeoutMs: number;
  /** TCP only; RTU is forced to 1. */
  maxInFlight: number;
  /** Requests waiting for a slot before new ones are refused. @default 1000 */
  maxQueued?: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Consecutive timeouts after which the link is considered dead and reopened. @default 3 */
  timeoutsBeforeReconnect?: number;
  /** For tests: how a client is made, and the TCP socket it is given (undefined: none). */
  createClient?: () => ModbusRTU;
  connectSocket?: (host: string, port: number, timeoutMs: number) => Promise<net.Socket | undefined>;
}

export class ModbusRequestError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ModbusRequestError';
    this.code = code;
  }
}

interface Job {
  run(client: ModbusRTU): Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: Error): void;
  settled: boolean;
  timer?: NodeJS.Timeout;
}

export class ModbusConnector extends EventEmitter {
  private client: ModbusRTU | undefined;
  private socket: net.Socket | undefined;
  private corked = false;
  private stateValue: ConnectionState = { phase: 'connecting' };
  private readonly queue: Job[] = [];
  private readonly inFlight = new Set<Job>();
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private consecutiveTimeouts = 0;
  private started = false;
  private closed = false;
  private readonly limit: number;
  /** Requests sent since start, for tests and benchmarks. */
  requests = 0;

  constructor(private readonly o: ModbusConnectorOptions) {
    super();
    this.backoff = new Backoff({ initialMs: o.reconnectMinMs, maxMs: o.reconnectMaxMs, jitter: 0.5 });
    this.limit = o.transport === 'rtu' ? 1 : Math.max(1, o.maxInFlight);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Requests queued plus in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight.size;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
  }

  private setState(s: ConnectionState): void {
    this.stateValue = s;
    this.emit('state', s);
  }

  private describeTarget(): string {
    return this.o.transport === 'tcp' ? `${this.o.host}:${this.o.port}` : `${this.o.serialPath}`;
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      this.setState({ phase: 'connecting', attempts: this.backoff.attempts });
      const client = this.o.createClient ? this.o.createClient() : new ModbusRTU();
      // modbus-serial emits 'error' for port errors; an unhandled one would crash Node-RED.
      (client as unknown as EventEmitter).on('error', (err: Error) => this.onLinkDown(client, err.message));
      let socket: net.Socket | undefined;
      try {
        if (this.o.transport === 'tcp') {
          // The connector owns the socket (modbus-serial accepts one) so a poll's requests can be corked
          // into one segment; keepAlive lets the OS notice a dead link between polls.
          socket = await (this.o.connectSocket ?? openSocket)(this.o.host ?? '127.0.0.1', this.o.port ?? 502, Math.max(this.o.timeoutMs, 1000));
          await client.connectTCP(this.o.host ?? '127.0.0.1', { port: this.o.port ?? 502, socket } as Parameters<ModbusRTU['connectTCP']>[1]);
        } else {
          if (!this.o.serialPath) throw new Error('no serial port path');
          await client.connectRTUBuffered(this.o.serialPath, {
            baudRate: this.o.baudRate ?? 9600,
            parity: this.o.parity ?? 'none',
            dataBits: this.o.dataBits ?? 8,
            stopBits: this.o.stopBits ?? 1,
          } as Parameters<ModbusRTU['connectRTUBuffered']>[1]);
        }
      } catch (err) {
        closeQuietly(client);
        socket?.destroy();
        this.connecting = undefined;
        if (!this.closed) this.scheduleReconnect(`${this.describeTarget()}: ${(err as Error).message}`);
        return;
      }
      this.connecting = undefined;
      if (this.closed) {
        closeQuietly(client);
        return;
      }
      client.setID(this.o.unitId);
      client.setTimeout(this.o.timeoutMs);
      (client as unknown as EventEmitter).on('close', () => this.onLinkDown(client, 'connection closed by peer'));
      this.client = client;
      this.socket = socket;
      if (socket) {
        // modbus-serial's TcpPort drops its open flag on a socket 'error' and then ignores the 'close'
        // that follows, so a reset link (a PLC killed with a request in flight) never reaches its
        // client: watch the socket we own instead.
        let lastError: string | undefined;
        socket.on('error', (err) => (lastError = err.message));
        socket.once('close', () => this.onLinkDown(client, lastError ? `connection lost: ${lastError}` : 'connection closed by peer'));
        if (socket.destroyed) this.onLinkDown(client, 'connection closed by peer');
      }
      this.consecutiveTimeouts = 0;
      this.backoff.reset();
      this.setState({ phase: 'connected' });
      this.pump();
    })();
    return this.connecting;
  }

  private scheduleReconnect(reason: string): void {
    const delay = this.backoff.next();
    this.setState({ phase: 'disconnected', reason, retryInMs: delay, attempts: this.backoff.attempts });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private onLinkDown(client: ModbusRTU, reason: string): void {
    if (client !== this.client) {
      closeQuietly(client);
      return;
    }
    this.client = undefined;
    this.socket = undefined;
    closeQuietly(client);
    this.failAll(new ModbusRequestError(`not connected to ${this.describeTarget()}: ${reason}`, 'DISCONNECTED'));
    if (!this.closed) this.scheduleReconnect(reason);
  }

  private failAll(err: Error): void {
    for (const j of [...this.inFlight, ...this.queue.splice(0)]) this.settle(j, err);
    this.inFlight.clear();
  }

  private settle(job: Job, err: Error | undefined, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (err) job.reject(err);
    else job.resolve(value);
  }

  /** Queues one request; fails at once when the link is down or the queue is full. */
  private enqueue<T>(run: (client: ModbusRTU) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ModbusRequestError('endpoint closed', 'CLOSED'));
    if (!this.client) {
      const s = this.stateValue;
      return Promise.reject(new ModbusRequestError(`not connected to ${this.describeTarget()}${s.reason ? `: ${s.reason}` : ''}`, 'DISCONNECTED'));
    }
    if (this.queue.length >= (this.o.maxQueued ?? 1000)) return Promise.reject(new ModbusRequestError(`request queue full (${this.queue.length} waiting)`, 'QUEUE_FULL'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject, settled: false });
      this.pump();
    });
  }

  private pump(): void {
    // Several requests leaving together go out in one TCP segment: the peer wakes once, not once each.
    // modbus-serial writes them over a chain of microtasks, so the socket is uncorked on setImmediate.
    if (this.socket && !this.corked && this.queue.length > 1 && this.inFlight.size < this.limit - 1) {
      const sock = this.socket;
      this.corked = true;
      sock.cork();
      setImmediate(() => {
        this.corked = false;
        if (!sock.destroyed) sock.uncork();
      });
    }
    while (this.client && this.inFlight.size < this.limit && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const client = this.client;
      this.inFlight.add(job);
      this.requests++;
      // modbus-serial has its own timeout; this guard covers a port that never answers nor times out.
      job.timer = setTimeout(() => this.onJobDone(job, client, timeoutError(this.o.timeoutMs)), this.o.timeoutMs + 250);
      job.run(client).then(
        (v) => this.onJobDone(job, client, undefined, v),
        (e: unknown) => this.onJobDone(job, client, this.requestError(e)),
      );
    }
  }

  /**
   * modbus-serial rejects with plain objects (not Error instances) for timeouts and a closed port; a
   * closed port means the link is gone even when no 'close' event said so.
   */
  private requestError(e: unknown): Error {
    const o = (e ?? {}) as { name?: string; errno?: string; message?: unknown };
    if (o.name === 'TransactionTimedOutError' || o.errno === 'ETIMEDOUT') return timeoutError(this.o.timeoutMs);
    if (o.name === 'PortNotOpenError') return new ModbusRequestError(`not connected to ${this.describeTarget()}: port not open`, 'DISCONNECTED');
    if (e instanceof Error) return e;
    return new Error(typeof o.message === 'string' ? o.message : String(e));
  }

  private onJobDone(job: Job, client: ModbusRTU, err: Error | undefined, value?: unknown): void {
    if (!this.inFlight.delete(job)) return;
    if (err && (err as ModbusRequestError).code === 'DISCONNECTED' && client === this.client) {
      this.settle(job, err);
      this.onLinkDown(client, 'port not open');
      return;
    }
    if (err && (err as ModbusRequestError).code === 'TIMEOUT') {
      this.consecutiveTimeouts++;
      if (this.consecutiveTimeouts >= (this.o.timeoutsBeforeReconnect ?? 3) && client === this.client) {
        this.settle(job, err);
        this.onLinkDown(client, `${this.consecutiveTimeouts} requests timed out`);
        return;
      }
    } else if (!err) this.consecutiveTimeouts = 0;
    this.settle(job, err, value);
    this.pump();
  }

  readBits(area: 'coil' | 'discrete', start: number, count: number): Promise<boolean[]> {
    return this.enqueue(async (c) => {
      const r = area === 'coil' ? await c.readCoils(start, count) : await c.readDiscreteInputs(start, count);
      return r.data.slice(0, count);
    });
  }

  readRegisters(area: 'input' | 'holding', start: number, count: number): Promise<number[]> {
    return this.enqueue(async (c) => {
      const r = area === 'holding' ? await c.readHoldingRegisters(start, count) : await c.readInputRegisters(start, count);
      return r.data;
    });
  }

  read(area: ModbusArea, start: number, count: number): Promise<boolean[] | number[]> {
    return area === 'coil' || area === 'discrete' ? this.readBits(area, start, count) : this.readRegisters(area, start, count);
  }

  writeCoil(address: number, value: boolean): Promise<void> {
    return this.enqueue(async (c) => {
      await c.writeCoil(address, value);
    });
  }

  writeRegisters(address: number, words: number[]): Promise<void> {
    return this.enqueue(async (c) => {
      if (words.length === 1) await c.writeRegister(address, words[0]);
      else await c.writeRegisters(address, words);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting?.catch(() => {});
    this.failAll(new ModbusRequestError('endpoint closed', 'CLOSED'));
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => {
      (c as unknown as EventEmitter).removeAllListeners('close');
      const t = setTimeout(r, 1000);
      c.close(() => {
        clearTimeout(t);
        r();
      });
    });
    this.setState({ phase: 'closed' });
    this.removeAllListeners();
  }
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true, keepAlive: true });
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(t);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(t);
      sock.destroy();
      reject(err);
    });
  });
}

function timeoutError(ms: number): ModbusRequestError {
  return new ModbusRequestError(`no answer within ${ms} ms`, 'TIMEOUT');
}

function closeQuietly(c: ModbusRTU): void {
  try {
    (c as unknown as EventEmitter).removeAllListeners('close');
    c.close(() => {});
  } catch {
    /* already closed */
  }
}
