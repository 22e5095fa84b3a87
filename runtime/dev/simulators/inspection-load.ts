// A factory's worth of lines publishing inspections the way a line tier's cloud-bridge does (MQTT 5
// properties, thumbnail inline as base64, QoS 1), at a steady rate, from its own process, so the process
// under test shares nothing with it but the broker. `capturedAt` is the publish time: a row's
// `received_at - time` in the database is the end-to-end delay.
// Usage: node dist/runtime/dev/simulators/inspection-load.js '<json LoadOptions>'   (prints one JSON line)
import mqtt from 'mqtt';
import sharp from 'sharp';
import { toWire } from '../../../nodes/cloud-bridge';
import type { Inspection } from '../../../contracts/messages';

export interface LoadOptions {
  url: string;
  /** Topics are `<prefix>/<site>/<line>/inspection`. */
  prefix: string;
  /** Inspections per second; 0 = as fast as the broker acknowledges. */
  rate: number;
  count: number;
  /** Inspection ids are `<runId>-<seq>`, so two runs never collide and a test can name what it expects. */
  runId: string;
  site?: string;
  lines?: number;
  detections?: number;
  /** Most publishes waiting for their PUBACK (rate 0). */
  window?: number;
}

export interface LoadResult {
  sent: number;
  acked: number;
  errors: number;
  firstError?: string;
  startedAt: number;
  endedAt: number;
  thumbnailBytes: number;
}

const CLASSES = ['scratch', 'dent', 'hole', 'stain', 'chip'];

/** A 160x100 JPEG thumbnail, a few hundred bytes to a few KB like the line's image-compress makes. */
export async function thumbnail(): Promise<Buffer> {
  const raw = Buffer.alloc(160 * 100 * 3);
  let seed = 7;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = 90 + (seed % 60);
  }
  return sharp(raw, { raw: { width: 160, height: 100, channels: 3 } }).jpeg({ quality: 70 }).toBuffer();
}

export function makeInspection(o: LoadOptions, seq: number, image: Buffer, now: number): Inspection & { line: string } {
  const lines = o.lines ?? 4;
  const detections = Array.from({ length: o.detections ?? 5 }, (_, i) => ({
    defectClass: CLASSES[(seq + i) % CLASSES.length],
    confidence: 0.5 + ((seq * 7 + i) % 50) / 100,
    box: { x: 10 + i * 20, y: 12, width: 16, height: 14 },
  }));
  return {
    inspectionId: `${o.runId}-${seq}`,
    site: o.site ?? 'plant1',
    line: `line${seq % lines}`,
    cameraId: `cam${seq % lines}`,
    productSerial: `SN${o.runId}-${seq}`,
    capturedAt: now,
    modelVersion: 'yolo-1.4',
    detections,
    image: { data: image.toString('base64') as unknown as Buffer, format: 'jpeg', width: 160, height: 100 },
  };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const image = await thumbnail();
  const client = await mqtt.connectAsync(o.url, { protocolVersion: 5, clean: true, reconnectPeriod: 1000, clientId: `ls-load-${o.runId}-${process.pid}` });
  const res: LoadResult = { sent: 0, acked: 0, errors: 0, startedAt: Date.now(), endedAt: 0, thumbnailBytes: image.length };
  const window = o.window ?? 2000;
  let wake: (() => void) | undefined;
  const publish = (seq: number) => {
    const insp = makeInspection(o, seq, image, Date.now());
    const wire = toWire(`${o.prefix}/${insp.site}/${insp.line}/inspection`, Buffer.from(JSON.stringify(insp)), { id: insp.inspectionId, kind: 'inspection', contentType: 'application/json' }, 5);
    res.sent++;
    client.publish(wire.topic, wire.payload, { qos: 1, properties: wire.properties }, (err) => {
      if (err) {
        res.errors++;
        res.firstError ??= err.message;
      } else res.acked++;
      wake?.();
    });
  };
  const allAcked = () => new Promise<void>((resolve) => {
    const check = () => (res.acked + res.errors >= res.sent ? resolve() : (wake = check));
    check();
  });
  if (o.rate > 0) {
    // A tick every 10 ms sends what the schedule says is due, so a late tick catches up.
    const t0 = Date.now();
    let seq = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(o.count, Math.floor(((Date.now() - t0) * o.rate) / 1000));
        while (seq < due) publish(seq++);
        if (seq >= o.count) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
  } else {
    for (let seq = 0; seq < o.count; seq++) {
      while (res.sent - res.acked - res.errors >= window) await new Promise<void>((r) => (wake = r));
      publish(seq);
    }
  }
  await allAcked();
  res.endedAt = Date.now();
  await client.endAsync();
  return res;
}

if (require.main === module) {
  runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`inspection-load: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
