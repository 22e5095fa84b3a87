// camera-intake in a real Node-RED, called by an independent camera: Python grpcio in another process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import sharp from 'sharp';
import { freePort } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { floodFrame, type FloodReport } from '../../fixtures/camera-intake/flood-camera';
import { generateStubs, listening, makeCertificates, pythonSubmit, type PySpec } from '../../fixtures/camera-intake/python-camera';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cameraIntake = require('../../../nodes/camera-intake/camera-intake');

helper.init(require.resolve('node-red'));

interface Held {
  msg: any;
  done: () => void;
}

/** A deliberately slow downstream node: holds every message until the test completes it. */
function gateNodes(RED: any) {
  function Gate(this: any, config: any) {
    RED.nodes.createNode(this, config);
    this.held = [] as Held[];
    this.seen = 0;
    this.on('input', (msg: any, _send: unknown, done: () => void) => {
      this.seen++;
      this.held.push({ msg, done });
    });
  }
  RED.nodes.registerType('test-gate', Gate);
  function Pass(this: any, config: any) {
    RED.nodes.createNode(this, config);
    this.seen = 0;
    this.on('input', (_msg: any, _send: unknown, done: () => void) => {
      this.seen++;
      done();
    });
  }
  RED.nodes.registerType('test-pass', Pass);
}

const b64 = (b: Buffer) => b.toString('base64');

describe('camera-intake (integration, Python grpcio camera)', function () {
  this.timeout(120_000);
  let stubs: string;
  let jpeg: Buffer;
  let port: number;

  before(async () => {
    stubs = generateStubs();
    jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 90, g: 120, b: 140 } } })
      .composite([{ input: crypto.randomBytes(64 * 64 * 3), raw: { width: 64, height: 64, channels: 3 }, left: 100, top: 80 }])
      .jpeg({ quality: 90 })
      .toBuffer();
  });
  after(() => fs.rmSync(stubs, { recursive: true, force: true }));

  beforeEach(async () => {
    port = await freePort();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function start(extra: Record<string, unknown> = {}, credentials: Record<string, string> = {}, downstream = 'helper') {
    const flow = [
      { id: 'ci', type: 'camera-intake', name: 'intake', host: '127.0.0.1', port, site: 'plantA', line: 'lineDefault', ...extra, wires: [['out']] },
      { id: 'out', type: downstream },
    ];
    await helper.load([cameraIntake, gateNodes], flow, { ci: credentials });
    await waitFor(`camera-intake listening on ${port}`, () => listening(port), 20_000);
    return helper.getNode('out');
  }

  const target = () => `127.0.0.1:${port}`;

  function good(i: number, image?: PySpec['image'], extra: Partial<PySpec> = {}): PySpec {
    return {
      inspection_id: `py-${i}-${crypto.randomUUID()}`,
      camera_id: 'cam-7',
      line_id: i % 2 ? 'line-4' : '',
      product_serial: `SN-${i}`,
      captured_at_ms: 1_760_000_000_123 + i,
      model_version: 'yolo-v8.2',
      detections: [
        { defect_class: 'scratch', confidence: 0.91, box: { x: 100.5, y: 80, width: 64, height: 64 } },
        { defect_class: 'dent', confidence: 0.3 },
      ],
      image,
      attributes: { shift: 'B', lot: String(i) },
      ...extra,
    };
  }

  function assertSame(spec: PySpec, payload: any) {
    assert.equal(payload.inspectionId, spec.inspection_id);
    assert.equal(payload.site, 'plantA');
    assert.equal(payload.line, spec.line_id || 'lineDefault');
    assert.equal(payload.cameraId, spec.camera_id);
    assert.equal(payload.productSerial, spec.product_serial);
    assert.equal(payload.capturedAt, spec.captured_at_ms);
    assert.equal(payload.modelVersion, spec.model_version);
    assert.deepEqual(payload.attributes, spec.attributes);
    assert.equal(payload.detections.length, spec.detections!.length);
    spec.detections!.forEach((d, k) => {
      const got = payload.detections[k];
      assert.equal(got.defectClass, d.defect_class);
      assert.equal(got.confidence, Math.fround(d.confidence!)); // float on the wire
      if (d.box) assert.deepEqual(got.box, { x: Math.fround(d.box.x), y: Math.fround(d.box.y), width: Math.fround(d.box.width), height: Math.fround(d.box.height) });
      else assert.equal(got.box, undefined);
    });
    if (spec.image) {
      assert.ok(Buffer.isBuffer(payload.image.data), 'image.data is a Buffer');
      assert.ok(payload.image.data.equals(Buffer.from(spec.image.data_b64!, 'base64')), 'image bytes identical');
      assert.equal(payload.image.format, spec.image.format);
      assert.equal(payload.image.width, spec.image.width);
      assert.equal(payload.image.height, spec.image.height);
    } else assert.equal(payload.image, undefined);
  }

  for (const mode of ['unary', 'stream'] as const) {
    it(`delivers exactly the inspections a Python camera sends (${mode}), byte for byte`, async () => {
      const out = await start();
      const got: any[] = [];
      out.on('input', (msg: any) => got.push(msg));
      const raw = crypto.randomBytes(32 * 16 * 4);
      const specs = [
        good(1, { data_b64: b64(jpeg), format: 'jpeg', width: 640, height: 480 }),
        good(2, { data_b64: b64(raw), format: 'raw', width: 32, height: 16 }, { attributes: { channels: '4' }, detections: [{ defect_class: 'hole', confidence: 1, box: { x: 0, y: 0, width: 32, height: 16 } }] }),
        good(3, null),
      ];
      const res = await pythonSubmit(stubs, target(), specs, { mode });
      assert.deepEqual(res.map((r) => r.code), ['OK', 'OK', 'OK'], JSON.stringify(res));
      res.forEach((r, i) => assert.equal(r.reply!.inspection_id, specs[i].inspection_id));
      await waitFor('three messages', () => got.length >= 3);
      assert.equal(got.length, 3);
      specs.forEach((s, i) => assertSame(s, got[i].payload));
    });
  }

  const MALFORMED: Array<[string, (s: PySpec) => PySpec, RegExp]> = [
    ['missing inspection_id', (s) => ({ ...s, inspection_id: '' }), /inspection_id is required/],
    ['missing camera_id', (s) => ({ ...s, camera_id: '' }), /camera_id is required/],
    ['missing captured_at_ms', (s) => ({ ...s, captured_at_ms: 0 }), /captured_at_ms is required/],
    ['confidence above 1', (s) => ({ ...s, detections: [{ defect_class: 'scratch', confidence: 1.5 }] }), /detections\[0\]\.confidence must be between 0 and 1/],
    ['confidence below 0', (s) => ({ ...s, detections: [{ defect_class: 'a', confidence: 0.2 }, { defect_class: 'b', confidence: -0.25 }] }), /detections\[1\]\.confidence/],
    ['missing defect_class', (s) => ({ ...s, detections: [{ defect_class: '', confidence: 0.5 }] }), /detections\[0\]\.defect_class is required/],
    ['box outside the image', (s) => ({ ...s, detections: [{ defect_class: 'x', confidence: 0.5, box: { x: 600, y: 10, width: 64, height: 10 } }] }), /detections\[0\]\.box is outside the image/],
    ['box of zero width', (s) => ({ ...s, detections: [{ defect_class: 'x', confidence: 0.5, box: { x: 1, y: 1, width: 0, height: 10 } }] }), /detections\[0\]\.box\.width must be > 0/],
    ['unknown format', (s) => ({ ...s, image: { ...s.image!, format: 'bmp' } }), /image\.format must be one of jpeg, png, webp, avif, raw/],
    ['bytes that are not the declared format', (s) => ({ ...s, image: { ...s.image!, format: 'png' } }), /image\.data does not start like a png file/],
    ['raw bytes of the wrong size', (s) => ({ ...s, image: { data_b64: b64(Buffer.alloc(100)), format: 'raw', width: 10, height: 10 } }), /image\.data has 100 bytes but a raw 10x10 image with 3 channels needs 300/],
    ['raw with a bad channel count', (s) => ({ ...s, attributes: { channels: '7' }, image: { data_b64: b64(Buffer.alloc(100)), format: 'raw', width: 10, height: 10 } }), /attributes\.channels must be 1, 2, 3 or 4/],
    ['image without width', (s) => ({ ...s, image: { ...s.image!, width: 0 } }), /image\.width must be a whole number >= 1/],
  ];

  it('answers INVALID_ARGUMENT naming the field for each malformed inspection, and sends nothing', async () => {
    const out = await start();
    let got = 0;
    out.on('input', () => got++);
    const base = good(0, { data_b64: b64(jpeg), format: 'jpeg', width: 640, height: 480 });
    const specs = MALFORMED.map(([, make]) => make(base));
    const res = await pythonSubmit(stubs, target(), [...specs, base]);
    MALFORMED.forEach(([what, , pattern], i) => {
      assert.equal(res[i].code, 'INVALID_ARGUMENT', `${what}: ${JSON.stringify(res[i])}`);
      assert.match(res[i].details, pattern, what);
    });
    assert.equal(res[specs.length].code, 'OK', 'the valid one after them is accepted');
    await waitFor('the valid message', () => got === 1);
    // stream: refused inspections get accepted=false with the code, in order, and the stream stays open
    const streamed = await pythonSubmit(stubs, target(), [specs[3], base, specs[8]], { mode: 'stream' });
    assert.deepEqual(streamed.map((r) => [r.reply?.accepted, r.code]), [[false, 'INVALID_ARGUMENT'], [true, 'OK'], [false, 'INVALID_ARGUMENT']]);
    assert.match(streamed[0].details, /detections\[0\]\.confidence/);
    await waitFor('two valid messages', () => got === 2);
  });

  it('answers RESOURCE_EXHAUSTED once maxWaiting inspections wait on a slow flow, and takes more once they complete', async () => {
    const gate = await start({ maxWaiting: 3 }, {}, 'test-gate');
    const specs = Array.from({ length: 7 }, (_, i) => good(100 + i, { data_b64: b64(jpeg), format: 'jpeg', width: 640, height: 480 }));
    const res = await pythonSubmit(stubs, target(), specs);
    assert.deepEqual(res.map((r) => r.code), ['OK', 'OK', 'OK', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
    assert.match(res[3].details, /3 inspections waiting \(max 3\)/);
    await waitFor('the gate holds 3', () => gate.held.length === 3);
    assert.equal(gate.seen, 3, 'never more than the bound reached the flow');
    // stream mode obeys the same bound
    const streamed = await pythonSubmit(stubs, target(), specs.slice(0, 2), { mode: 'stream' });
    assert.deepEqual(streamed.map((r) => r.code), ['RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
    // the slow node completes two: two slots free up
    gate.held.shift().done();
    gate.held.shift().done();
    const more = await pythonSubmit(stubs, target(), specs.slice(3, 6));
    assert.deepEqual(more.map((r) => r.code), ['OK', 'OK', 'RESOURCE_EXHAUSTED']);
    await waitFor('the gate holds 3 again', () => gate.held.length === 3);
    assert.equal(gate.seen, 5);
    assert.deepEqual(gate.held.map((h: Held) => h.msg.payload.inspectionId), [specs[2], specs[3], specs[4]].map((s) => s.inspection_id));
  });

  it('with several wired nodes, frees a slot only when each that calls done() completed it; status shows rejections', async () => {
    const flow = [
      { id: 'ci', type: 'camera-intake', host: '127.0.0.1', port, maxWaiting: 1, wires: [['fast', 'gate', 'nodone']] },
      { id: 'fast', type: 'test-pass' },
      { id: 'gate', type: 'test-gate' },
      // the test helper node never calls done(): it must not hold slots
      { id: 'nodone', type: 'helper' },
    ];
    await helper.load([cameraIntake, gateNodes], flow);
    await waitFor('listening', () => listening(port), 20_000);
    const gate = helper.getNode('gate');
    const ci = helper.getNode('ci');
    const fastNode = helper.getNode('fast');
    let plain = 0;
    helper.getNode('nodone').on('input', () => plain++);
    const res = await pythonSubmit(stubs, target(), [good(1, null), good(2, null)]);
    assert.deepEqual(res.map((r) => r.code), ['OK', 'RESOURCE_EXHAUSTED']);
    await waitFor('all three got it', () => fastNode.seen === 1 && gate.held.length === 1 && plain === 1);
    // one node completed it at once, the gate has not: still full
    assert.equal((await pythonSubmit(stubs, target(), [good(3, null)]))[0].code, 'RESOURCE_EXHAUSTED');
    await waitFor('status shows the rejections', () => ci.status.args.some((a: any[]) => /rejected 2/.test(a[0]?.text ?? '')), 15_000);
    gate.held.shift().done();
    assert.equal((await pythonSubmit(stubs, target(), [good(4, null)]))[0].code, 'OK');
  });

  it('frees a slot held past the hold timeout and warns that a downstream node does not complete', async () => {
    const gate = await start({ maxWaiting: 1, holdTimeoutS: 1 }, {}, 'test-gate');
    const ci = helper.getNode('ci');
    assert.equal((await pythonSubmit(stubs, target(), [good(1, null)]))[0].code, 'OK');
    await waitFor('the warning', () => ci.warn.args.some((a: any[]) => /1 inspection\(s\) released after 1 s without completing/.test(String(a[0]))), 20_000);
    assert.equal((await pythonSubmit(stubs, target(), [good(2, null)]))[0].code, 'OK');
    await waitFor('the gate holds both', () => gate.held.length === 2);
  });

  it('releases on send when configured so, without waiting for the slow node', async () => {
    const gate = await start({ maxWaiting: 2, releaseOn: 'send' }, {}, 'test-gate');
    const specs = Array.from({ length: 5 }, (_, i) => good(200 + i, null));
    const res = await pythonSubmit(stubs, target(), specs);
    assert.deepEqual(res.map((r) => r.code), ['OK', 'OK', 'OK', 'OK', 'OK']);
    await waitFor('5 held', () => gate.held.length === 5);
  });

  it('refuses calls without the right bearer token (UNAUTHENTICATED)', async () => {
    const out = await start({}, { token: 's3cret-token' });
    let got = 0;
    out.on('input', () => got++);
    const spec = [good(1, null)];
    assert.equal((await pythonSubmit(stubs, target(), spec))[0].code, 'UNAUTHENTICATED');
    assert.equal((await pythonSubmit(stubs, target(), spec, { token: 'wrong' }))[0].code, 'UNAUTHENTICATED');
    assert.equal((await pythonSubmit(stubs, target(), spec, { token: 'wrong', mode: 'stream' }))[0].code, 'UNAUTHENTICATED');
    assert.equal((await pythonSubmit(stubs, target(), spec, { token: 's3cret-token' }))[0].code, 'OK');
    assert.equal((await pythonSubmit(stubs, target(), [good(2, null)], { token: 's3cret-token', mode: 'stream' }))[0].code, 'OK');
    await waitFor('two messages', () => got === 2);
  });

  it('answers RESOURCE_EXHAUSTED for a message over the size limit', async () => {
    const out = await start({ maxMessageMiB: 0.0625 });
    let got = 0;
    out.on('input', () => got++);
    const big = Buffer.concat([jpeg.subarray(0, 4), crypto.randomBytes(100 * 1024)]);
    const res = await pythonSubmit(stubs, target(), [good(1, { data_b64: b64(big), format: 'jpeg', width: 640, height: 480 }), good(2, null)]);
    assert.equal(res[0].code, 'RESOURCE_EXHAUSTED');
    assert.equal(res[1].code, 'OK');
    await waitFor('one message', () => got === 1);
  });

  /** What the intake's HTTP/2 endpoint tells a connecting client: its per-call and connection windows. */
  async function advertisedWindows(url: string, options: http2.SecureClientSessionOptions = {}) {
    const session = http2.connect(url, options);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      // The connection window arrives as a WINDOW_UPDATE just after the SETTINGS frame.
      await waitFor('connection window update', () => (session.state.remoteWindowSize ?? 0) > 65_535, 5_000).catch(() => undefined);
      return { perCall: settings.initialWindowSize, connection: session.state.remoteWindowSize };
    } finally {
      session.destroy();
    }
  }

  it('advertises its HTTP/2 receive window: 4 MiB by default, or as configured', async () => {
    await start();
    assert.deepEqual(await advertisedWindows(`http://${target()}`), { perCall: 4 * 1024 * 1024, connection: 4 * 1024 * 1024 });
    await helper.unload();
    await start({ receiveWindowMiB: 0.5 });
    assert.deepEqual(await advertisedWindows(`http://${target()}`), { perCall: 512 * 1024, connection: 512 * 1024 });
  });

  it('carries a 3 MiB image from the Python camera in one piece with the default window', async () => {
    const out = await start();
    const msgs: any[] = [];
    out.on('input', (m: any) => msgs.push(m));
    const big = Buffer.concat([jpeg.subarray(0, 4), crypto.randomBytes(3 * 1024 * 1024)]);
    const res = await pythonSubmit(stubs, target(), [good(1, { data_b64: b64(big), format: 'jpeg', width: 640, height: 480 })]);
    assert.equal(res[0].code, 'OK');
    await waitFor('the image', () => msgs.length === 1);
    assert.ok(Buffer.compare(msgs[0].payload.image.data, big) === 0, 'the image bytes arrive unchanged');
  });

  /** The flood client in another process: `calls` Submit calls over `connections` connections, one round. */
  function rawCalls(calls: number, connections: number, mib: number, token?: string): Promise<FloodReport> {
    const script = path.join(__dirname, '..', '..', 'fixtures', 'camera-intake', 'flood-camera.js');
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [script, target(), String(calls), String(connections), String(mib), '0', ...(token ? [token] : [])], { timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`flood client failed: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      );
    });
  }

  /** A raw HTTP/2 connection to the intake; `settings` holds every SETTINGS frame the intake sent, in order. */
  async function openConnection() {
    const session = http2.connect(`http://${target()}`);
    session.on('error', () => {});
    const settings: http2.Settings[] = [];
    session.on('remoteSettings', (s) => settings.push({ ...s }));
    let closedAt: number | undefined;
    session.once('close', () => (closedAt = Date.now()));
    await waitFor('the first SETTINGS', () => settings.length > 0, 5_000);
    return { session, settings, closed: () => closedAt, openedAt: Date.now() };
  }

  /** One Submit call on `session`; resolves with its grpc-status and grpc-message. */
  function call(session: http2.ClientHttp2Session, token?: string): Promise<{ status: number; message: string }> {
    return new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': '/linesight.v1.InspectionIntake/Submit', 'content-type': 'application/grpc', te: 'trailers' };
      if (token) headers.authorization = `Bearer ${token}`;
      const req = session.request(headers);
      let result: { status: number; message: string } | undefined;
      const read = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) result = { status: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) };
      };
      req.on('response', read);
      req.on('trailers', read);
      req.on('data', () => {});
      req.on('close', () => (result ? resolve(result) : reject(new Error(`no status; stream closed with ${req.rstCode}`))));
      req.end(floodFrame(0.01));
    });
  }

  describe('limits', () => {
    it('closes connections beyond maxConnections at once; status turns yellow and a warning says why', async () => {
      await start({ maxConnections: 2 });
      const ci = helper.getNode('ci');
      const report = await rawCalls(5, 5, 0.01);
      assert.deepEqual(report.outcomes, { OK: 2, CONNECTION_CLOSED: 3 }, JSON.stringify(report));
      await waitFor('the yellow status', () => ci.status.args.some((a: any[]) => a[0]?.fill === 'yellow' && /^connections \d+\/2, 3 refused/.test(a[0]?.text ?? '')), 10_000);
      await waitFor('the warning', () => ci.warn.args.some((a: any[]) => /3 connection\(s\) refused at the limit of 2 open \(Max connections\)/.test(String(a[0]))), 10_000);
      // the places are free again once those connections closed
      assert.deepEqual((await rawCalls(2, 2, 0.01)).outcomes, { OK: 2 });
    });

    it('advertises maxCallsPerConnection as the HTTP/2 concurrent stream limit (16 by default)', async () => {
      await start();
      let c = await openConnection();
      assert.equal(c.settings[0].maxConcurrentStreams, 16);
      c.session.destroy();
      await helper.unload();
      await start({ maxCallsPerConnection: 3 });
      c = await openConnection();
      assert.equal(c.settings[0].maxConcurrentStreams, 3);
      c.session.destroy();
    });

    it('closes a connection idle for idleTimeoutS, and keeps one that is busy', async () => {
      await start({ idleTimeoutS: 1 });
      const idle = await openConnection();
      const busy = await openConnection();
      // busy: a call every 300 ms for 2.5 s; idle: nothing
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        assert.equal((await call(busy.session)).status, 0);
        await sleep(300);
      }
      await waitFor('the idle connection closed', () => idle.closed(), 5_000);
      assert.ok(idle.closed()! - idle.openedAt >= 900, `closed after ${idle.closed()! - idle.openedAt} ms, not before the 1 s idle timeout`);
      assert.equal(busy.closed(), undefined, 'the busy connection is still open');
      await waitFor('the busy one closes once idle', () => busy.closed(), 5_000);
    });

    it('with a token, gives a connection the big receive window only once one of its calls carried the token', async () => {
      await start({}, { token: 'tok-1' });
      const c = await openConnection();
      // before the token: HTTP/2's 64 KiB per call and per connection
      assert.equal(c.settings[0].initialWindowSize, 65_535);
      assert.equal(c.session.state.remoteWindowSize, 65_535);
      assert.deepEqual(await call(c.session, 'wrong'), { status: 16, message: 'missing or wrong bearer token in authorization metadata' });
      assert.deepEqual(await call(c.session), { status: 16, message: 'missing or wrong bearer token in authorization metadata' });
      await sleep(300);
      assert.equal(c.settings.length, 1, 'refused calls widen nothing');
      assert.equal((await call(c.session, 'tok-1')).status, 0);
      await waitFor('the 4 MiB window', () => c.settings.at(-1)!.initialWindowSize === 4 * 1024 * 1024 && c.session.state.remoteWindowSize! > 4_000_000, 5_000);
      c.session.destroy();
    });
  });

  describe('TLS', () => {
    let certs: ReturnType<typeof makeCertificates>;
    before(() => {
      certs = makeCertificates();
    });
    after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

    it('serves TLS with the certificate from files; a plaintext camera cannot talk to it', async () => {
      const out = await start({ tls: 'tls', certFile: certs.serverCert, keyFile: certs.serverKey });
      let got = 0;
      out.on('input', () => got++);
      assert.equal((await pythonSubmit(stubs, `localhost:${port}`, [good(1, null)], { ca: certs.ca }))[0].code, 'OK');
      assert.deepEqual(await advertisedWindows(`https://localhost:${port}`, { ca: fs.readFileSync(certs.ca), ALPNProtocols: ['h2'] }), { perCall: 4 * 1024 * 1024, connection: 4 * 1024 * 1024 }, 'the TLS listener gets the window too');
      assert.equal((await pythonSubmit(stubs, target(), [good(2, null)]))[0].code, 'UNAVAILABLE');
      assert.equal((await pythonSubmit(stubs, `localhost:${port}`, [good(3, null)], { ca: certs.otherCa }))[0].code, 'UNAVAILABLE', 'a camera that does not trust the server CA');
      await waitFor('one message', () => got === 1);
    });

    it('mutual TLS with PEM credentials: only cameras with a certificate from the client CA get in', async () => {
      const pem = (f: string) => fs.readFileSync(f, 'utf8');
      const out = await start({ tls: 'mtls' }, { tlsCert: pem(certs.serverCert), tlsKey: pem(certs.serverKey), tlsCa: pem(certs.ca) });
      let got = 0;
      out.on('input', () => got++);
      const withCert = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
      assert.equal((await pythonSubmit(stubs, `localhost:${port}`, [good(1, null)], withCert))[0].code, 'OK');
      assert.equal((await pythonSubmit(stubs, `localhost:${port}`, [good(2, null)], { ca: certs.ca }))[0].code, 'UNAVAILABLE', 'no camera certificate');
      await waitFor('one message', () => got === 1);
    });
  });

  it('reports a clear config error and takes no traffic for TLS without a certificate', async () => {
    const flow = [{ id: 'ci', type: 'camera-intake', name: 'intake', host: '127.0.0.1', port, tls: 'tls', wires: [[]] }];
    await helper.load([cameraIntake], flow, {});
    const node = helper.getNode('ci');
    await waitFor('an error', () => node.error.called);
    assert.match(String(node.error.firstCall.args[0]), /needs a server certificate and key/);
    assert.equal(await listening(port), false);
  });
});
