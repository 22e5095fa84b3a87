// The console's Quality section in Chromium, against a real repository that mounts a real history: the
// inspections, images, tag samples and actions are written by the sink's pipeline (as timescale-sink does)
// into PostgreSQL, and the repository reads them as a read-only role. A viewer searches a serial and sees
// the image with its boxes and the line speed at that moment; the defect-rate chart by class shows hole
// defects and zooms; the model comparison shows two versions on the canary line.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client } from 'pg';
import type { Detection, Inspection, LineAction, TagSample } from '../../contracts/messages';
import { productImage } from '../../runtime/dev/simulators/camera-images';
import { migrate } from '../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../../nodes/timescale-sink/row-mapper';
import { freshSchema, pgService } from '../support/services';
import { dropSchemaRetrying as dropSchema, query } from '../integration/timescale-sink/harness';
import { openSink } from '../integration/history/support';
import { goTo, openConsole } from './support/console';
import { useE2E } from './support/harness';

const SERIAL = 'SN-E2E-0042';
const MINUTE = 60_000;

/** A product image from the camera simulator with at least one hole among its defects. */
async function imageWithHole() {
  for (let seed = 1; seed < 200; seed++) {
    const img = await productImage({ width: 800, height: 500, defects: 3, seed, format: 'jpeg' });
    if (img.detections.some((d) => d.defectClass === 'hole')) return img;
  }
  throw new Error('the simulator drew no hole in 200 seeds');
}

/**
 * Six hours of two lines: line-1 runs model 1.0.0, then 2.0.0 (the canary) for the last three hours;
 * line-2 stays on 1.0.0. Holes and scratches at rates that differ by version; confidences too.
 */
function history(now: number): Inspection[] {
  const out: Inspection[] = [];
  // From the top of the hour six hours ago, so every hour of the chart is a full one.
  const start = Math.floor((now - 6 * 60 * MINUTE) / (60 * MINUTE)) * 60 * MINUTE;
  for (let k = 0; k < 120; k++) {
    for (const line of ['line-1', 'line-2']) {
      const at = start + k * 3 * MINUTE + (line === 'line-2' ? 40_000 : 0);
      const v2 = line === 'line-1' && k >= 60;
      const detections: Detection[] = [];
      if (k % (v2 ? 4 : 7) === 0) detections.push({ defectClass: 'hole', confidence: v2 ? 0.82 + (k % 5) / 50 : 0.55 + (k % 5) / 20, box: { x: 100, y: 80, width: 30, height: 30 } });
      if (k % 11 === 3) detections.push({ defectClass: 'scratch', confidence: 0.6, box: { x: 300, y: 200, width: 120, height: 12 } });
      out.push({ inspectionId: `e2e-${line}-${k}`, site: 'plant1', line, cameraId: `${line}-cam`, productSerial: `SN-E2E-${line === 'line-1' ? 1000 + k : 2000 + k}`, capturedAt: at, modelVersion: v2 ? '2.0.0' : '1.0.0', detections });
    }
  }
  return out;
}

describe('e2e: console Quality section (Chromium, repository with a real history)', function () {
  this.timeout(240_000);
  const e2e = useE2E();

  it('finds a serial and shows its image with boxes and the line speed then; charts hole defects with zoom; compares two model versions on one line', async () => {
    const pg = await pgService();
    const schema = await freshSchema(pg.url, 'qe2e');
    const role = `ls_ro_${crypto.randomBytes(4).toString('hex')}`;
    e2e.defer(`drop schema ${schema} and role ${role}`, async () => {
      await dropSchema(pg.url, schema);
      await query(pg.url, `drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
    });
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await migrate(c, { schema, tables: Object.values(CONTRACT_TABLES), readonlyRole: role, lineDevices: [{ line: 'line-1', device: 'plc-line1', site: 'plant1' }] }).finally(() => c.end());

    // The history, written through the sink's own pipeline.
    const now = Date.now();
    const target = now - 40 * MINUTE;
    const img = await imageWithHole();
    const product: Inspection = {
      inspectionId: 'e2e-target',
      site: 'plant1',
      line: 'line-1',
      cameraId: 'line-1-cam',
      productSerial: SERIAL,
      capturedAt: target,
      modelVersion: '2.0.0',
      detections: img.detections,
      image: { data: img.data, format: 'jpeg', width: img.width, height: img.height },
    };
    const samples: TagSample[] = Array.from({ length: 41 }, (_, k) => [
      { device: 'plc-line1', tag: 'line_speed', value: 1.5 + k / 100, quality: 'good' as const, ts: target + (k - 20) * 1000 + 300, unit: 'm/s' },
      { device: 'plc-line1', tag: 'good_count', value: 5000 + k, quality: 'good' as const, ts: target + (k - 20) * 1000 + 300 },
      { device: 'plc-line1', tag: 'state', value: 'running', quality: 'good' as const, ts: target + (k - 20) * 1000 + 300 },
    ]).flat();
    const stop: LineAction = { actionId: 'e2e-act-1', ruleId: 'hole-divert', kind: 'divert', severity: 'warning', inspectionId: product.inspectionId, site: 'plant1', line: 'line-1', ts: target + 120, writes: [{ tag: 'diverter', value: true }], reason: 'hole ≥ 0.5' };
    const sink = await openSink(pg.url, schema);
    try {
      assert.deepEqual(await sink.send([...history(now), product, ...samples, stop]), []);
    } finally {
      await sink.close();
    }
    // The speed the line read last before the inspection: the sample 0.7 s before it (k = 19).
    const speedThen = 1.5 + 19 / 100;

    // One shift a day, begun 7 hours ago: the six hours of history are all "this shift" whatever the time of day
    // (with the default 06/14/22 shifts, a run just after a shift change found no line in "worst lines").
    const shifts = [new Date(now - 7 * 3_600_000).getUTCHours()];
    const repo = await e2e.repo([], { history: { db: pg.url, schema, role, shifts } });
    await repo.client.createUser({ name: 'quinn', role: 'viewer', password: 'quinn-password' });
    const browser = await e2e.browser('console-quality');
    const { page } = browser;
    await page.setViewportSize({ width: 1400, height: 1000 });
    await openConsole(page, repo.server.url, { username: 'quinn', password: 'quinn-password' });

    // Search the serial: one hit, so its page opens.
    await page.click('#nav-quality');
    await page.waitForSelector('#quality-q');
    await page.fill('#quality-q', SERIAL);
    await page.click('#quality-search-submit');
    await page.waitForSelector('#inspection-img');
    await page.waitForSelector('#inspection-boxes rect');
    assert.equal(await page.locator('#inspection-boxes rect').count(), img.detections.length, 'one box per detection');
    assert.ok((await page.locator('#inspection-boxes g[data-class="hole"]').count()) >= 1, 'a hole box');
    assert.equal(await page.locator('#inspection-detections tbody tr').count(), img.detections.length);
    const naturalWidth = await page.locator('#inspection-img').evaluate((el) => (el as HTMLImageElement).naturalWidth);
    assert.equal(naturalWidth, img.width, 'the stored image, decoded');
    const speed = (await page.locator('#inspection-line-state tr[data-tag="line_speed"] td.num.mono').innerText()).trim();
    assert.equal(speed, `${speedThen} m/s`);
    assert.match(await page.locator('#inspection-line-state tr[data-tag="state"]').innerText(), /running/);
    assert.match(await page.locator('#inspection-actions').innerText(), /hole-divert[\s\S]*divert/);
    assert.equal((await page.locator('#inspection-model').innerText()).trim(), '2.0.0');
    await page.waitForSelector('#inspection-samples-charts .u-over');
    // A box lies where the detection is: compare the first box's place with the image's.
    const first = img.detections[0]!.box!;
    const imgBox = (await page.locator('#inspection-img').boundingBox())!;
    const rectBox = (await page.locator('#inspection-boxes rect').first().boundingBox())!;
    assert.ok(Math.abs(rectBox.x - (imgBox.x + (first.x / img.width) * imgBox.width)) < 3, `box x ${rectBox.x} on the image at ${first.x}px`);
    assert.ok(Math.abs(rectBox.width - (first.width / img.width) * imgBox.width) < 3, 'box width to scale');
    await browser.shot('inspection');

    // The defect-rate charts over the last 24 hours: holes among the classes; drag to zoom, reset.
    await goTo(page, '#/quality?period=24h', '#rate-class .u-over');
    const classes = (await page.locator('#rate-class').getAttribute('data-series')) ?? '';
    assert.ok(classes.split(',').includes('hole'), `the class chart shows hole defects (series: ${classes})`);
    assert.match(await page.locator('#rate-class .u-legend').innerText(), /hole/);
    assert.deepEqual(((await page.locator('#rate-line').getAttribute('data-series')) ?? '').split(',').sort(), ['line-1', 'line-2']);
    const over = (await page.locator('#rate-class .u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width * 0.55, over.y + over.height / 2);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.8, over.y + over.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('#rate-class[data-zoomed="true"]');
    await browser.shot('quality-zoomed');
    await page.click('#rate-class .reset-zoom');
    await page.waitForSelector('#rate-class[data-zoomed="false"]');
    await page.waitForSelector('#worst-lines tr[data-line="line-1"]');
    const csvHref = await page.locator('#quality-export').getAttribute('href');
    const csv = await page.evaluate(async (u) => (await fetch(u!)).text(), csvHref);
    assert.match(csv.split('\r\n')[0]!, /^time,inspection_id,product_serial/);
    assert.ok(csv.includes(SERIAL), 'the export of the filter holds the product');
    await browser.shot('quality');

    // The model comparison: the canary line with both versions, the other line with one.
    await page.click('#nav-models');
    await page.waitForSelector('.model-line[data-line="line-1"] tr[data-version]');
    const versions = await page.locator('.model-line[data-line="line-1"] tr[data-version]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version')));
    assert.deepEqual(versions, ['1.0.0', '2.0.0']);
    assert.deepEqual(await page.locator('.model-line[data-line="line-2"] tr[data-version]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version'))), ['1.0.0']);
    const bars = await page.locator('.model-line[data-line="line-1"] tr[data-version="2.0.0"] svg.histogram rect[data-count]').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    assert.equal(bars.length, 10, 'ten confidence bins');
    assert.ok(bars.slice(8).reduce((a, b) => a + b, 0) > 0, 'v2 detects with high confidence');
    await page.waitForSelector('#model-rate-line-1 .u-over');
    assert.deepEqual(((await page.locator('#model-rate-line-1').getAttribute('data-series')) ?? '').split(','), ['1.0.0', '2.0.0'], 'the canary line charted by version');
    await browser.shot('models');
  });
});
