// A camera in its own process for latency benchmarks: sends unary Submit calls with one image at a fixed
// rate (open loop: each call leaves at its scheduled time whatever the replies do) and records, per
// inspection, the monotonic send time (process.hrtime is CLOCK_MONOTONIC, comparable across processes
// on one machine) and the round trip. Usage: node defect-rule-camera.js <config.json>; writes <out> JSON.
import fs from 'node:fs';
import { CameraClient } from '../../runtime/dev/simulators/camera-client';

interface LoadConfig {
  target: string;
  ratePerS: number;
  warmup: number;
  count: number;
  imagePath: string;
  imageWidth: number;
  imageHeight: number;
  out: string;
  /** Detection every inspection carries (the benchmark rule fires on it). */
  detection: { defect_class: string; confidence: number };
}

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as LoadConfig;
  const image = fs.readFileSync(cfg.imagePath);
  const client = new CameraClient({ target: cfg.target });
  await client.ready(30_000);
  const total = cfg.warmup + cfg.count;
  const ids: string[] = [];
  const sendNs: string[] = [];
  const rttMs: number[] = new Array(total).fill(NaN);
  let errors = 0;
  let firstError = '';
  const pending: Promise<void>[] = [];
  const period = 1000 / cfg.ratePerS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * period;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 0.5));
    while (performance.now() < due) { /* the last half millisecond: spin so sends keep their schedule */ }
    const id = `${i < cfg.warmup ? 'warm' : 'lat'}-${process.pid}-${i}`;
    const t0 = process.hrtime.bigint();
    ids.push(id);
    sendNs.push(t0.toString());
    pending.push(
      client
        .submit({
          inspection_id: id,
          camera_id: 'cam-bench',
          line_id: 'line1',
          product_serial: `SN${i}`,
          captured_at_ms: Date.now(),
          model_version: 'bench',
          detections: [{ ...cfg.detection, box: { x: 100, y: 100, width: 40, height: 20 } }],
          image: { data: image, format: 'jpeg', width: cfg.imageWidth, height: cfg.imageHeight },
          attributes: {},
        })
        .then(
          (reply) => {
            rttMs[i] = Number(process.hrtime.bigint() - t0) / 1e6;
            if (!reply.accepted) {
              errors++;
              firstError ||= `${reply.code}: ${reply.reason}`;
            }
          },
          (err: Error) => {
            errors++;
            firstError ||= err.message;
          },
        ),
    );
  }
  await Promise.all(pending);
  client.close();
  fs.writeFileSync(cfg.out, JSON.stringify({ ids, sendNs, rttMs, errors, firstError, elapsedMs: performance.now() - start }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
