// Intake of inspections with 1 MiB images: camera-intake in a real Node-RED (in this process, flow
// camera-intake -> function node) against a raw @grpc/grpc-js server with the same proto that only
// answers. The camera is another process (bench/camera-intake-load.ts), unary calls, 8 in flight.
// Goal: camera-intake >= 80% of the raw server. Each side is measured 3 times, alternating; best run counts.
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { intakeService } from '../nodes/camera-intake/intake-proto';
import { startRuntime, type RunningRuntime } from '../runtime/tier/tier-runtime';
import { freePort } from '../test/support/services';
import { waitFor } from '../test/support/wait';
import { listening } from '../test/fixtures/camera-intake/python-camera';
import { report } from './support/report';

const COUNT = Number(process.env.LINESIGHT_INTAKE_COUNT ?? 300);
const WARMUP = 50;
const CONCURRENCY = 8;
const RUNS = 3;
const MIB = 1024 * 1024;

interface Load {
  ok: number;
  errors: number;
  firstError: string;
  elapsedMs: number;
}

function camera(target: string): Promise<Load> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'camera-intake-load.js'), target, String(COUNT), String(CONCURRENCY), String(WARMUP)], { timeout: 300_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`camera process failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

async function rawServer(port: number): Promise<grpc.Server> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * MIB });
  let received = 0;
  server.addService(intakeService().service, {
    Submit: (call: grpc.ServerUnaryCall<{ inspection_id: string; image?: { data: Buffer } }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      received += call.request.image?.data.length ?? 0;
      cb(null, { inspection_id: call.request.inspection_id, accepted: true, code: 'OK' });
    },
    SubmitStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return server;
}

async function nodeRed(port: number): Promise<{ rt: RunningRuntime; delivered: () => number }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-intake-'));
  const flows = [
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'ci1', z: 'tab1', type: 'camera-intake', host: '127.0.0.1', port, maxWaiting: 64, x: 100, y: 100, wires: [['fn1']] },
    { id: 'fn1', z: 'tab1', type: 'function', func: 'global.set("n", (global.get("n") || 0) + 1);\nreturn null;', outputs: 1, x: 300, y: 100, wires: [[]] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const rt = await startRuntime({ tier: 'line', port: await freePort(), userDir, insecure: true, logLevel: 'warn' });
  await waitFor('camera-intake listening', () => listening(port), 30_000);
  const fn = () => rt.RED.nodes.getNode('fn1');
  return { rt, delivered: () => (fn()?.context().global.get('n') as number) ?? 0 };
}

async function main() {
  const rawPort = await freePort();
  const nrPort = await freePort();
  const raw = await rawServer(rawPort);
  const nr = await nodeRed(nrPort);
  const best = { raw: Infinity, nr: Infinity };
  let retries = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await camera(`127.0.0.1:${rawPort}`);
    best.raw = Math.min(best.raw, r.elapsedMs);
    const before = nr.delivered();
    const n = await camera(`127.0.0.1:${nrPort}`);
    if (n.ok !== COUNT) throw new Error(`camera-intake accepted ${n.ok} of ${COUNT}: ${n.firstError}`);
    retries += n.errors;
    best.nr = Math.min(best.nr, n.elapsedMs);
    // every accepted inspection reached the flow
    await waitFor('all inspections delivered to the function node', () => nr.delivered() - before >= COUNT + WARMUP, 60_000);
  }
  await nr.rt.close();
  await new Promise<void>((r) => raw.tryShutdown(() => r()));
  const rate = (ms: number) => COUNT / (ms / 1000);
  const note = `${COUNT} unary calls with a 1 MiB image, ${CONCURRENCY} in flight, camera in another process; best of ${RUNS}; flow camera-intake -> function; ${retries} RESOURCE_EXHAUSTED retries; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores; goal >= 0.8`;
  report({ bench: 'camera-intake', metric: 'inspections per second (1 MiB image)', value: rate(best.nr), unit: 'insp/s', baseline: rate(best.raw), note: `baseline: raw @grpc/grpc-js server, same proto, answering at once; ${note}` });
  report({ bench: 'camera-intake', metric: 'image throughput', value: rate(best.nr), unit: 'MiB/s', baseline: rate(best.raw), note: 'same runs as above, 1 MiB per inspection' });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
