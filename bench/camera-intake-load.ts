// The camera side of bench/camera-intake.bench.ts, run as its own process: sends `count` inspections with a
// 1 MiB image, `concurrency` unary calls in flight, and prints {ok, errors, firstError, elapsedMs}.
// Usage: node dist/bench/camera-intake-load.js <host:port> <count> <concurrency> <warmup>
import { CameraClient, type ProtoInspection } from '../runtime/dev/simulators/camera-client';

async function main() {
  const [target, countS, concS, warmS] = process.argv.slice(2);
  const count = Number(countS);
  const concurrency = Number(concS);
  const warmup = Number(warmS);
  // 1 MiB that starts like a JPEG (the intake checks the signature, not the pixels).
  const data = Buffer.alloc(1024 * 1024, 0x5a);
  data.set([0xff, 0xd8, 0xff, 0xe0]);
  const client = new CameraClient({ target });
  await client.ready(20_000);
  let seq = 0;
  const make = (): ProtoInspection => ({
    inspection_id: `bench-${process.pid}-${seq++}`,
    camera_id: 'bench-cam',
    line_id: '',
    captured_at_ms: Date.now(),
    detections: [{ defect_class: 'scratch', confidence: 0.9, box: { x: 10, y: 10, width: 50, height: 40 } }],
    image: { data, format: 'jpeg', width: 1920, height: 1200 },
    attributes: {},
  });
  let ok = 0;
  let errors = 0;
  let firstError = '';
  const run = async (n: number) => {
    let started = 0;
    const worker = async () => {
      while (started < n) {
        started++;
        // A refused call (RESOURCE_EXHAUSTED) is retried, as a camera would: only accepted ones count.
        for (;;) {
          try {
            await client.submit(make());
            ok++;
            break;
          } catch (err) {
            errors++;
            firstError ||= (err as Error).message;
            if ((err as { code?: number }).code !== 8) throw err;
            await new Promise((r) => setTimeout(r, 1));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await run(warmup);
  ok = 0;
  errors = 0;
  const t0 = performance.now();
  await run(count);
  const elapsedMs = performance.now() - t0;
  client.close();
  process.stdout.write(JSON.stringify({ ok, errors, firstError, elapsedMs }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
