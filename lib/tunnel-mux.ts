// Many streams over one message transport (the editor tunnel's WebSocket), with flow control per stream.
// A frame is binary: kind (1 byte), stream id (4 bytes, big-endian), payload. A sender may have at most
// `window` bytes of DATA unacknowledged per stream; the receiver grants more (WINDOW frames) only as its
// consumer takes the bytes, so a slow reader holds back its own stream and nothing else. Streams that may
// send take turns (round robin, one chunk each), and the transport itself is kept at most `transportHighWater`
// bytes ahead of the socket, so one busy stream cannot queue megabytes in front of the others.
import { EventEmitter } from 'node:events';

export enum FrameKind {
  /** Opens a stream; payload: JSON head. */
  Open = 1,
  /** The answer head of a stream; payload: JSON. */
  Reply = 2,
  /** Bytes; payload: flags (1 byte: 1 = last chunk of a message, 2 = text) then the bytes. */
  Data = 3,
  /** The sender will send no more on this stream. */
  End = 4,
  /** The stream is over in both directions; payload: UTF-8 reason. */
  Reset = 5,
  /**
   * The receiver took bytes: the sender may send this many more (payload: uint32). On stream 0 it announces
   * the window the sender of the frame grants every stream (sent once, when the transport opens).
   */
  Window = 6,
}

const HEADER = 5;
const FLAG_FIN = 1;
const FLAG_TEXT = 2;

/** What a mux needs of its transport: send one binary message, calling back once it is written out. */
export interface MuxTransport {
  send(frame: Buffer, written: (err?: Error) => void): void;
}

export interface MuxOptions {
  /** Odd stream ids for the side that is 'server', even for 'client', so both may open streams. */
  role: 'server' | 'client';
  /** Bytes a stream may have in flight before the peer grants more (default 256 KiB). */
  window?: number;
  /** Largest DATA payload (default 32 KiB). */
  chunk?: number;
  /** Bytes handed to the transport and not yet written, above which the mux waits (default 1 MiB). */
  transportHighWater?: number;
  /** Queued bytes per stream above which `write` answers false until 'drain' (default: the window). */
  streamHighWater?: number;
}

type Outgoing = { kind: FrameKind; payload: Buffer; flags?: number };

/**
 * One stream. Events: 'reply' (head), 'data' (Buffer, {fin, text}), 'end', 'close' (reason | undefined,
 * once, after end both ways or a reset), 'drain'.
 */
export class MuxStream extends EventEmitter {
  /** DATA bytes the peer will still accept. */
  credit: number;
  /** Bytes received and not yet acknowledged to the peer. */
  private unacked = 0;
  private readonly inbox: Array<{ chunk: Buffer; fin: boolean; text: boolean }> = [];
  private inboxEnded = false;
  private paused = false;
  readonly outbox: Outgoing[] = [];
  queuedBytes = 0;
  private wantDrain = false;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** Bytes sent and received, for tests and metrics. */
  readonly stats = { sent: 0, received: 0 };

  constructor(
    readonly id: number,
    private readonly mux: TunnelMux,
    readonly head: unknown,
  ) {
    super();
    this.credit = mux.peerWindow;
  }

  /** Sends the answer head. */
  reply(head: unknown): void {
    this.enqueue({ kind: FrameKind.Reply, payload: Buffer.from(JSON.stringify(head)) });
  }

  /** Queues bytes (split into chunks); false once the queue is above the high-water mark: wait for 'drain'. */
  write(data: Buffer | string, opts: { message?: boolean; text?: boolean } = {}): boolean {
    if (this.localEnded || this.closed) return false;
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const size = this.mux.chunk;
    if (buf.length === 0) {
      if (opts.message) this.enqueue({ kind: FrameKind.Data, payload: buf, flags: FLAG_FIN | (opts.text ? FLAG_TEXT : 0) });
    }
    for (let at = 0; at < buf.length; at += size) {
      const last = at + size >= buf.length;
      this.enqueue({ kind: FrameKind.Data, payload: buf.subarray(at, at + size), flags: (last && opts.message ? FLAG_FIN : 0) | (opts.text ? FLAG_TEXT : 0) });
    }
    if (this.queuedBytes > this.mux.streamHighWater) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  /** One whole message (a WebSocket message on the other side). */
  writeMessage(data: Buffer | string, text: boolean): boolean {
    return this.write(data, { message: true, text });
  }

  end(): void {
    if (this.localEnded || this.closed) return;
    this.localEnded = true;
    this.enqueue({ kind: FrameKind.End, payload: Buffer.alloc(0) });
  }

  /** Ends the stream both ways at once, dropping what is queued. */
  reset(reason = 'reset'): void {
    if (this.closed) return;
    this.mux.sendNow(FrameKind.Reset, this.id, Buffer.from(reason.slice(0, 500)));
    this.finish(reason);
  }

  /** Stops delivering 'data' (and so granting credit) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliver();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private enqueue(item: Outgoing): void {
    if (this.closed) return;
    this.outbox.push(item);
    if (item.kind === FrameKind.Data) this.queuedBytes += item.payload.length;
    this.mux.schedule(this);
  }

  /** The next frame this stream may send now (credit permitting), or undefined. */
  takeNext(): Outgoing | undefined {
    let item = this.outbox[0];
    if (!item) return undefined;
    if (item.kind === FrameKind.Data && item.payload.length > this.credit) {
      if (this.credit <= 0) return undefined;
      // Send what the credit allows: the peer's window may be smaller than our chunk.
      const part: Outgoing = { kind: FrameKind.Data, payload: item.payload.subarray(0, this.credit), flags: (item.flags ?? 0) & ~FLAG_FIN };
      item.payload = item.payload.subarray(this.credit);
      item = part;
    } else {
      this.outbox.shift();
    }
    if (item.kind === FrameKind.Data) {
      this.credit -= item.payload.length;
      this.queuedBytes -= item.payload.length;
      this.stats.sent += item.payload.length;
      if (this.wantDrain && this.queuedBytes <= this.mux.streamHighWater / 2) {
        this.wantDrain = false;
        queueMicrotask(() => this.emit('drain'));
      }
    }
    if (item.kind === FrameKind.End && this.remoteEnded) queueMicrotask(() => this.finish());
    return item;
  }

  get ready(): boolean {
    const item = this.outbox[0];
    return !!item && (item.kind !== FrameKind.Data || item.payload.length === 0 || this.credit > 0);
  }

  // ---- what the peer sent ----

  onData(payload: Buffer): void {
    const flags = payload[0] ?? 0;
    const chunk = payload.subarray(1);
    this.stats.received += chunk.length;
    this.inbox.push({ chunk, fin: (flags & FLAG_FIN) !== 0, text: (flags & FLAG_TEXT) !== 0 });
    this.deliver();
  }

  onEnd(): void {
    this.inboxEnded = true;
    this.deliver();
  }

  onWindow(bytes: number): void {
    this.credit += bytes;
    this.mux.schedule(this);
  }

  private deliver(): void {
    while (!this.paused && this.inbox.length && !this.closed) {
      const { chunk, fin, text } = this.inbox.shift()!;
      this.unacked += chunk.length;
      this.emit('data', chunk, { fin, text });
    }
    // Credit goes back in batches of a quarter window (few WINDOW frames, the sender rarely waits for one),
    // and all of it whenever the consumer has taken everything, so a sender is never left short of a chunk.
    if (this.unacked > 0 && (this.unacked >= this.mux.window / 4 || (!this.paused && this.inbox.length === 0))) {
      const n = this.unacked;
      this.unacked = 0;
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      if (!this.closed) this.mux.sendNow(FrameKind.Window, this.id, b);
    }
    if (!this.paused && this.inbox.length === 0 && this.inboxEnded && !this.remoteEnded) {
      this.remoteEnded = true;
      this.emit('end');
      if (this.localEnded && this.outbox.length === 0) this.finish();
    }
  }

  finish(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.length = 0;
    this.queuedBytes = 0;
    this.mux.forget(this);
    this.emit('close', reason);
  }
}

/**
 * Events: 'stream' (MuxStream, head) when the peer opens one; 'error' (Error) for a frame it cannot read
 * (the caller should close the transport).
 */
export class TunnelMux extends EventEmitter {
  readonly window: number;
  readonly chunk: number;
  readonly streamHighWater: number;
  /** What the peer grants each stream before its first WINDOW frame (its announcement; else our own window). */
  peerWindow: number;
  private readonly transportHighWater: number;
  private readonly streams = new Map<number, MuxStream>();
  /** Streams with something to send, in turn order. */
  private readonly turns: MuxStream[] = [];
  private nextId: number;
  private inFlight = 0;
  private pumping = false;
  private closedReason: string | null = null;

  constructor(
    private readonly transport: MuxTransport,
    opts: MuxOptions,
  ) {
    super();
    this.window = opts.window ?? 1024 * 1024;
    this.chunk = Math.min(opts.chunk ?? 64 * 1024, this.window);
    this.transportHighWater = opts.transportHighWater ?? 1024 * 1024;
    this.streamHighWater = opts.streamHighWater ?? this.window;
    this.peerWindow = this.window;
    this.nextId = opts.role === 'server' ? 1 : 2;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** The open streams (for metrics and tests). */
  get streamList(): MuxStream[] {
    return [...this.streams.values()];
  }

  /** Bytes handed to the transport and not yet written out. */
  get transportBacklog(): number {
    return this.inFlight;
  }

  /** Tells the peer the window this side grants each stream; call once the transport is open, before any stream. */
  announce(): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.window);
    this.sendNow(FrameKind.Window, 0, b);
  }

  open(head: unknown): MuxStream {
    if (this.closedReason) throw new Error(`the tunnel is closed (${this.closedReason})`);
    const id = this.nextId;
    this.nextId += 2;
    const stream = new MuxStream(id, this, head);
    this.streams.set(id, stream);
    this.sendNow(FrameKind.Open, id, Buffer.from(JSON.stringify(head)));
    return stream;
  }

  /** A frame from the transport. */
  receive(frame: Buffer): void {
    if (frame.length < HEADER) return void this.emit('error', new Error(`tunnel frame of ${frame.length} bytes is shorter than its header`));
    const kind = frame[0] as FrameKind;
    const id = frame.readUInt32BE(1);
    const payload = frame.subarray(HEADER);
    if (id === 0) {
      if (kind === FrameKind.Window && payload.length >= 4) this.peerWindow = payload.readUInt32BE(0);
      return;
    }
    if (kind === FrameKind.Open) {
      if (this.streams.has(id)) return void this.emit('error', new Error(`tunnel stream ${id} opened twice`));
      let head: unknown;
      try {
        head = JSON.parse(payload.toString('utf8'));
      } catch {
        return void this.sendNow(FrameKind.Reset, id, Buffer.from('open head is not JSON'));
      }
      const stream = new MuxStream(id, this, head);
      this.streams.set(id, stream);
      this.emit('stream', stream, head);
      return;
    }
    const stream = this.streams.get(id);
    if (!stream) return; // a stream that ended here while the peer was still sending
    switch (kind) {
      case FrameKind.Reply: {
        let head: unknown;
        try {
          head = JSON.parse(payload.toString('utf8'));
        } catch {
          return stream.reset('reply head is not JSON');
        }
        stream.emit('reply', head);
        return;
      }
      case FrameKind.Data:
        return stream.onData(payload);
      case FrameKind.End:
        return stream.onEnd();
      case FrameKind.Reset:
        return stream.finish(payload.toString('utf8') || 'reset by the peer');
      case FrameKind.Window:
        return stream.onWindow(payload.length >= 4 ? payload.readUInt32BE(0) : 0);
      default:
        this.emit('error', new Error(`unknown tunnel frame kind ${kind}`));
    }
  }

  /** The transport is gone: every stream closes with `reason`. */
  close(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const s of [...this.streams.values()]) s.finish(reason);
    this.turns.length = 0;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  // ---- sending ----

  /** Control frames go out at once, ahead of queued data. */
  sendNow(kind: FrameKind, id: number, payload: Buffer): void {
    if (this.closedReason) return;
    this.write(frameOf(kind, id, payload));
  }

  schedule(stream: MuxStream): void {
    if (!this.turns.includes(stream)) this.turns.push(stream);
    this.pump();
  }

  forget(stream: MuxStream): void {
    this.streams.delete(stream.id);
    const i = this.turns.indexOf(stream);
    if (i >= 0) this.turns.splice(i, 1);
  }

  private write(frame: Buffer): void {
    this.inFlight += frame.length;
    this.transport.send(frame, () => {
      this.inFlight -= frame.length;
      if (this.inFlight <= this.transportHighWater / 2) this.pump();
    });
  }

  private pump(): void {
    if (this.pumping || this.closedReason) return;
    this.pumping = true;
    try {
      let idle = 0;
      // Round robin: each ready stream sends one frame per turn; stop when the transport is full.
      while (this.turns.length && this.inFlight < this.transportHighWater && idle < this.turns.length) {
        const stream = this.turns.shift()!;
        const item = stream.ready ? stream.takeNext() : undefined;
        if (item) {
          idle = 0;
          const payload = item.kind === FrameKind.Data ? Buffer.concat([Buffer.from([item.flags ?? 0]), item.payload]) : item.payload;
          this.write(frameOf(item.kind, stream.id, payload));
        } else {
          idle++;
        }
        // A stream with more to send (credit or not) keeps its place in the round; one with nothing leaves it.
        if (stream.outbox.length && !stream.closed) this.turns.push(stream);
      }
    } finally {
      this.pumping = false;
    }
  }
}

function frameOf(kind: FrameKind, id: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame[0] = kind;
  frame.writeUInt32BE(id, 1);
  payload.copy(frame, HEADER);
  return frame;
}

/** A WebSocket as far as relaying messages needs one (ws's WebSocket is one). */
export interface MessageSink {
  send(data: Buffer, options: { binary: boolean }, cb?: (err?: Error) => void): void;
  readonly bufferedAmount: number;
}

/** Calls `onMessage` with each whole message of a stream (its frames joined) and whether it is text. */
export function onStreamMessages(stream: MuxStream, onMessage: (data: Buffer, text: boolean) => void): void {
  let parts: Buffer[] = [];
  stream.on('data', (chunk: Buffer, flags: { fin: boolean; text: boolean }) => {
    parts.push(chunk);
    if (!flags.fin) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    onMessage(data, flags.text);
  });
}

/**
 * Sends one message of `stream` on `socket`, with back-pressure: the stream pauses while the socket holds more
 * than `highWater` bytes and resumes once half of that has gone.
 */
export function sendPaced(stream: MuxStream, socket: MessageSink, data: Buffer, text: boolean, highWater: number): void {
  socket.send(data, { binary: !text }, () => {
    if (stream.isPaused && socket.bufferedAmount < highWater / 2) stream.resume();
  });
  if (socket.bufferedAmount > highWater) stream.pause();
}
