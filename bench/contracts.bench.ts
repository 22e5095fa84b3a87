// Validating 1,000,000 Inspection messages with the validator generated from the TypeScript types,
// beside JSON.parse of the same messages (the cost every flow pays anyway to read them off the wire).
import { inspectionContract } from '../contracts/messages';
import { sampleInspection } from '../test/fixtures/contracts';
import { bestOf, report } from './support/report';

const N = 1_000_000;
const DISTINCT = 1000;

async function main() {
  const objects = Array.from({ length: DISTINCT }, (_, i) => sampleInspection(i, 1 + (i % 5)));
  const texts = objects.map((o) => JSON.stringify(o));
  let sink = 0;
  // warm-up: let the JIT see both paths
  for (let i = 0; i < 50_000; i++) sink += inspectionContract.is(objects[i % DISTINCT]) ? 1 : 0;
  for (let i = 0; i < 50_000; i++) sink += (JSON.parse(texts[i % DISTINCT]) as { capturedAt: number }).capturedAt & 1;

  const tValidate = await bestOf(3, () => {
    for (let i = 0; i < N; i++) if (!inspectionContract.is(objects[i % DISTINCT])) throw new Error('fixture invalid');
  });
  const tParse = await bestOf(3, () => {
    for (let i = 0; i < N; i++) sink += (JSON.parse(texts[i % DISTINCT]) as { capturedAt: number }).capturedAt & 1;
  });
  const rate = N / (tValidate / 1000);
  const base = N / (tParse / 1000);
  report({ bench: 'contracts', metric: 'inspection validations per second', value: rate, unit: 'msg/s', baseline: base, note: `baseline: JSON.parse of the same ${N} messages; ${sink > 0 ? 'ok' : ''}` });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
