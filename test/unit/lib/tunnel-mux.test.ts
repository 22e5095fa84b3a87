import assert from 'node:assert/strict';
import { FrameKind, TunnelMux, type MuxStream } from '../../../lib/tunnel-mux';

/** Two muxes joined back to back; frames are delivered on the next turn of the event loop, like a socket's. */
function pair(window = 1024, chunk = 256) {
  const frames: Array<{ to: 'server' | 'client'; kind: FrameKind; id: number; size: number }> = [];
  let server!: TunnelMux;
  let client!: TunnelMux;
  const link = (to: 'server' | 'client') => ({
    send(frame: Buffer, written: () => void) {
      frames.push({ to, kind: frame[0] as FrameKind, id: frame.readUInt32BE(1), size: frame.length });
      setImmediate(() => {
        (to === 'server' ? server : client).receive(frame);
        written();
      });
    },
  });
  server = new TunnelMux(link('client'), { role: 'server', window, chunk });
  client = new TunnelMux(link('server'), { role: 'client', window, chunk });
  server.announce();
  client.announce();
  return { server, client, frames };
}

const accepted = (mux: TunnelMux) => new Promise<{ stream: MuxStream; head: unknown }>((resolve) => mux.once('stream', (stream: MuxStream, head: unknown) => resolve({ stream, head })));
const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

describe('tunnel multiplexer', () => {
  it('carries a head, a reply, bytes both ways and the end of each side', async () => {
    const { server, client } = pair();
    const incoming = accepted(client);
    const out = server.open({ type: 'http', path: '/settings' });
    out.write('request body');
    out.end();
    const { stream, head } = await incoming;
    assert.deepEqual(head, { type: 'http', path: '/settings' });
    const got: Buffer[] = [];
    stream.on('data', (c: Buffer) => got.push(c));
    await new Promise((r) => stream.once('end', r));
    assert.equal(Buffer.concat(got).toString(), 'request body');
    const reply = new Promise((r) => out.once('reply', r));
    const back: Buffer[] = [];
    out.on('data', (c: Buffer) => back.push(c));
    stream.reply({ status: 200 });
    stream.write(Buffer.alloc(3000, 7));
    stream.end();
    assert.deepEqual(await reply, { status: 200 });
    await new Promise((r) => out.once('close', r));
    assert.equal(Buffer.concat(back).length, 3000);
    assert.equal(server.openStreams, 0);
    assert.equal(client.openStreams, 0);
  });

  it('keeps message boundaries and the text flag', async () => {
    const { server, client } = pair(4096, 100);
    const incoming = accepted(client);
    const out = server.open({ type: 'ws' });
    out.writeMessage('a'.repeat(250), true);
    out.writeMessage(Buffer.from([1, 2, 3]), false);
    const { stream } = await incoming;
    const messages: Array<{ data: string; text: boolean }> = [];
    let parts: Buffer[] = [];
    stream.on('data', (c: Buffer, f: { fin: boolean; text: boolean }) => {
      parts.push(c);
      if (f.fin) {
        messages.push({ data: Buffer.concat(parts).toString('hex'), text: f.text });
        parts = [];
      }
    });
    await settle();
    assert.deepEqual(messages, [
      { data: Buffer.from('a'.repeat(250)).toString('hex'), text: true },
      { data: '010203', text: false },
    ]);
  });

  it('a paused reader stops its sender at the window; another stream goes on; credit returns on resume', async () => {
    const { server, client, frames } = pair(1024, 256);
    const slowIn = accepted(client);
    const slow = server.open({ n: 1 });
    const { stream: slowPeer } = await slowIn;
    slow.pause();
    slowPeer.write(Buffer.alloc(10_000, 1));
    const fastIn = accepted(client);
    const fast = server.open({ n: 2 });
    const { stream: fastPeer } = await fastIn;
    let fastBytes = 0;
    fast.on('data', (c: Buffer) => (fastBytes += c.length));
    fastPeer.write(Buffer.alloc(5_000, 2));
    fastPeer.end();
    await settle();
    assert.equal(fastBytes, 5_000, 'the other stream got everything');
    assert.equal(slow.stats.received, 1024, 'the paused stream stopped at its window');
    assert.ok(frames.filter((f) => f.kind === FrameKind.Data && f.id === slow.id).length <= 4);
    let slowBytes = 0;
    slow.on('data', (c: Buffer) => (slowBytes += c.length));
    slow.resume();
    await settle();
    assert.equal(slowBytes, 10_000);
  });

  it('write answers false above the high-water mark and drains as credit comes back', async () => {
    const { server, client } = pair(1024, 256);
    const incoming = accepted(client);
    const out = server.open({});
    const { stream } = await incoming;
    stream.on('data', () => {});
    assert.equal(out.write(Buffer.alloc(4096)), false);
    await new Promise((r) => out.once('drain', r));
  });

  it('a reset or a closed transport ends every stream with a reason', async () => {
    const { server, client } = pair();
    const incoming = accepted(client);
    const a = server.open({});
    const b = server.open({});
    const { stream } = await incoming;
    const peerClosed = new Promise((r) => stream.once('close', r));
    a.reset('the browser went away');
    assert.equal(await peerClosed, 'the browser went away');
    const closed = new Promise((r) => b.once('close', r));
    server.close('tunnel closed (1006)');
    assert.equal(await closed, 'tunnel closed (1006)');
    assert.throws(() => server.open({}), /the tunnel is closed/);
  });

  it('reports a frame it cannot read instead of throwing', () => {
    const { server } = pair();
    const errors: Error[] = [];
    server.on('error', (e: Error) => errors.push(e));
    server.receive(Buffer.from([1, 2]));
    server.receive(Buffer.from([99, 0, 0, 0, 9]));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /shorter than its header/);
  });
});
