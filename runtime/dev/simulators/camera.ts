// `linesight simulate camera`: a vision-AI camera that sends synthetic product images with drawn defects
// and matching detections to a camera-intake node, at a given rate, unary or over one stream, and reports
// accepted, rejected (by gRPC code) and latency.
import type { Command } from 'commander';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { CameraClient, type InspectionStream, type ProtoInspection, type SubmitReply } from './camera-client';
import { imageSize, productImage, prng, type ProductImage } from './camera-images';
import { Backoff } from '../../../lib/backoff';

export interface CameraSimOptions {
  target: string;
  /** Inspections per second. */
  rate: number;
  width: number;
  height: number;
  /** Share of products with defects, 0..1. */
  defectRate: number;
  stream?: boolean;
  /** Stop after this many; 0 = until stopped. */
  count?: number;
  cameraId?: string;
  lineId?: string;
  token?: string;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Most unary calls in flight; beyond it a tick is skipped (counted). */
  maxInFlight?: number;
  seed?: number;
  /** Send images without detections or model version, like a camera that leaves detection to vision-detect. */
  imagesOnly?: boolean;
  /** Called once a second and at the end. */
  onReport?(r: CameraSimReport): void;
}

export interface CameraSimReport {
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  skipped: number;
  latencyMs: { p50: number; p99: number; max: number };
  elapsedS: number;
  done: boolean;
}

const LATENCY_WINDOW = 10_000;

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Runs the simulated camera; resolves with the final report when `count` is reached or `stop()` is called. */
export function runCameraSimulator(o: CameraSimOptions): { done: Promise<CameraSimReport>; stop(): void } {
  const client = new CameraClient({ target: o.target, token: o.token, tls: o.tls });
  const rnd = prng(o.seed ?? Date.now());
  const run = crypto.randomBytes(3).toString('hex');
  const cameraId = o.cameraId ?? 'sim-cam-1';
  const latencies: number[] = [];
  const stats = { sent: 0, accepted: 0, rejected: {} as Record<string, number>, skipped: 0 };
  let inFlight = 0;
  let stopped = false;
  let stopNow!: () => void;
  const stopSignal = new Promise<void>((r) => (stopNow = r));
  let started = Date.now();

  const report = (done: boolean): CameraSimReport => {
    const s = [...latencies].sort((a, b) => a - b);
    return { ...stats, rejected: { ...stats.rejected }, latencyMs: { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] ?? 0 }, elapsedS: (Date.now() - started) / 1000, done };
  };
  const record = (ms: number, code: string) => {
    if (latencies.length >= LATENCY_WINDOW) latencies.shift();
    latencies.push(ms);
    if (code === 'OK') stats.accepted++;
    else stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
  };

  const done = (async () => {
    // A small pool of pictures, drawn once: good parts and parts with 1..3 defects.
    const pool: { good: ProductImage[]; bad: ProductImage[] } = { good: [], bad: [] };
    for (let i = 0; i < 3; i++) pool.good.push(await productImage({ width: o.width, height: o.height, defects: 0, seed: i + 1 }));
    for (let i = 0; i < 9; i++) pool.bad.push(await productImage({ width: o.width, height: o.height, defects: 1 + (i % 3), seed: 100 + i }));
    const next = (seq: number): ProtoInspection => {
      const defective = rnd() < o.defectRate;
      const list = defective ? pool.bad : pool.good;
      const img = list[Math.floor(rnd() * list.length)];
      return {
        inspection_id: `${cameraId}-${run}-${seq}`,
        camera_id: cameraId,
        line_id: o.lineId ?? '',
        product_serial: `SN${run}${String(seq).padStart(7, '0')}`,
        captured_at_ms: Date.now(),
        detections: o.imagesOnly ? [] : img.detections.map((d) => ({ defect_class: d.defectClass, confidence: d.confidence, box: d.box ?? null })),
        image: { data: img.data, format: img.format, width: img.width, height: img.height },
        model_version: o.imagesOnly ? '' : 'sim-1',
        attributes: { simulated: 'true' },
      };
    };

    started = Date.now();
    let stream: InspectionStream | undefined;
    if (o.stream) stream = client.stream();
    // A broken stream (intake redeployed, network) is reopened, at most once per backoff delay.
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    let reopenAt = 0;
    const submit = (p: ProtoInspection) => {
      if (stream?.closed && Date.now() >= reopenAt) {
        stream = client.stream();
        reopenAt = Date.now() + backoff.next();
      }
      const t0 = performance.now();
      inFlight++;
      const settle = (code: string) => {
        inFlight--;
        record(performance.now() - t0, code);
      };
      const call: Promise<SubmitReply> = stream ? stream.send(p) : client.submit(p);
      return call.then(
        (r) => {
          backoff.reset();
          settle(r.accepted ? 'OK' : r.code || 'REJECTED');
        },
        (err: { code?: number; message: string }) => settle(err.code !== undefined ? grpcCodeName(err.code) : 'ERROR'),
      );
    };

    const pending = new Set<Promise<void>>();
    const maxInFlight = o.maxInFlight ?? 256;
    const ticker = setInterval(() => {
      const due = Math.floor(((Date.now() - started) / 1000) * o.rate);
      while (stats.sent + stats.skipped < due && !stopped) {
        if (o.count && stats.sent >= o.count) break;
        if (inFlight >= maxInFlight) {
          stats.skipped++;
          continue;
        }
        const p = submit(next(stats.sent++));
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      if (o.count && stats.sent >= o.count) stopNow();
    }, 5);
    const reporter = setInterval(() => o.onReport?.(report(false)), 1000);
    await stopSignal;
    stopped = true;
    clearInterval(ticker);
    await Promise.allSettled([...pending]);
    if (stream) await stream.end().catch(() => {});
    clearInterval(reporter);
    client.close();
    const final = report(true);
    o.onReport?.(final);
    return final;
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      stopNow();
    },
  };
}

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const grpcCodeName = (c: number) => CODE_NAMES[c] ?? `CODE_${c}`;

function parseSize(s: string): { width: number; height: number } {
  const size = imageSize(s);
  if (!size) throw new Error(`--size must be WxH with both >= 16, e.g. 1920x1200; got "${s}"`);
  return size;
}

export function register(sim: Command): void {
  sim
    .command('camera')
    .description('a vision-AI camera sending synthetic product images with defects to a camera-intake node (gRPC)')
    .requiredOption('--target <host:port>', 'address of the camera-intake node')
    .option('--rate <n>', 'inspections per second', '5')
    .option('--size <WxH>', 'image size', '1920x1200')
    .option('--defect-rate <p>', 'share of products with defects, 0..1', '0.1')
    .option('--stream', 'send over one SubmitStream call instead of unary calls')
    .option('--images-only', 'send images without detections (a vision-detect node finds them)')
    .option('--count <n>', 'stop after n inspections (default: until Ctrl-C)', '0')
    .option('--camera-id <id>', 'camera id', 'sim-cam-1')
    .option('--line-id <id>', 'line id (empty: the node default)', '')
    .option('--token <token>', 'bearer token (or LINESIGHT_CAMERA_TOKEN)')
    .option('--ca <file>', 'CA certificate PEM: use TLS')
    .option('--cert <file>', 'camera certificate PEM (mutual TLS)')
    .option('--key <file>', 'camera private key PEM (mutual TLS)')
    .option('--json', 'print reports as JSON lines')
    .action(async (opts) => {
      const size = parseSize(opts.size);
      const rate = Number(opts.rate);
      const defectRate = Number(opts.defectRate);
      if (!(rate > 0)) throw new Error(`--rate must be > 0, got "${opts.rate}"`);
      if (!(defectRate >= 0 && defectRate <= 1)) throw new Error(`--defect-rate must be within 0..1, got "${opts.defectRate}"`);
      const read = (f?: string) => (f ? fs.readFileSync(f) : undefined);
      const tls = opts.ca ? { ca: read(opts.ca), cert: read(opts.cert), key: read(opts.key) } : undefined;
      const print = (r: CameraSimReport) => {
        if (opts.json) return console.log(JSON.stringify(r));
        const rej = Object.entries(r.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
        console.log(`${r.done ? 'done' : 'camera'}: ${r.elapsedS.toFixed(1)} s, sent ${r.sent}, accepted ${r.accepted}, rejected ${rej}, skipped ${r.skipped}, latency p50 ${r.latencyMs.p50.toFixed(1)} ms p99 ${r.latencyMs.p99.toFixed(1)} ms`);
      };
      const sim = runCameraSimulator({
        target: opts.target, rate, ...size, defectRate, stream: !!opts.stream, imagesOnly: !!opts.imagesOnly, count: Number(opts.count) || 0,
        cameraId: opts.cameraId, lineId: opts.lineId, token: opts.token ?? process.env.LINESIGHT_CAMERA_TOKEN, tls, onReport: print,
      });
      const onSignal = () => sim.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      await sim.done;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}
