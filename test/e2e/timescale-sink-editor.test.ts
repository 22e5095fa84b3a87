// The timescale-sink editor as a person uses it (Chromium): a new timescale-db config node through the
// pencil button (password typed into the credential field), a custom table with a column list, deploy;
// the runtime gets the columns and creates the table in PostgreSQL, and the password never reaches the flow file.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import type { RuntimeProcess } from '../support/runtime-process';
import { dropSchema, freshSchema, pgService } from '../support/services';
import { waitFor } from '../support/wait';
import type { Browser } from './support/browser';
import { closeTray, deploy, dragFromPalette, invalidNodes, openEditor, openNode } from './support/editor';
import { useE2E } from './support/harness';

describe('e2e: timescale-sink editor (Chromium)', function () {
  this.timeout(180_000);
  const e2e = useE2E();
  let rt: RuntimeProcess | undefined;
  let browser: Browser | undefined;
  let url: string;
  let schema: string | undefined;

  before(async function () {
    url = (await pgService()).url;
    schema = await freshSchema(url, 'e2e');
    e2e.defer(`drop the test schema ${schema}`, () => dropSchema(url, schema!));
    rt = await e2e.runtime({ tier: 'factory' });
    browser = await e2e.browser('timescale-sink-editor');
    await openEditor(browser.page, rt.url);
  });

  it('configures a custom table with its columns, deploys, and the table appears in the database', async () => {
    const page = browser!.page;
    const sink = await dragFromPalette(page, 'timescale-sink', { x: 300, y: 200 });
    await openNode(page, sink);
    await page.click('#node-input-btn-db-add');
    await page.waitForSelector('#node-config-input-url', { state: 'visible' });
    await page.waitForTimeout(300);
    await page.fill('#node-config-input-name', 'factory history');
    await page.fill('#node-config-input-url', url);
    await page.fill('#node-config-input-password', 'not-needed-here');
    await page.fill('#node-config-input-schema', schema!);
    await browser!.shot('timescale-db-form');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-input-url', { state: 'detached' });
    await page.waitForTimeout(300);

    await page.selectOption('#node-input-target', 'custom');
    await page.fill('#node-input-table', 'oven_readings');
    const add = page.locator('.node-input-columns-container-row .red-ui-editableList-addButton, #node-input-columns-list ~ * .red-ui-editableList-addButton').first();
    const columns: Array<[string, string, string]> = [
      ['time', 'payload.ts', 'timestamptz'],
      ['oven', 'payload.oven', 'text'],
      ['temp', 'payload.temp', 'double precision'],
    ];
    for (let i = 0; i < columns.length; i++) {
      await add.click();
      const row = page.locator('#node-input-columns-list li').nth(i);
      await row.locator('.ls-col').fill(columns[i][0]);
      await row.locator('.ls-field').fill(columns[i][1]);
      await row.locator('.ls-type').selectOption(columns[i][2]);
    }
    await page.fill('#node-input-keyColumns', 'oven');
    await browser!.shot('timescale-sink-form');
    await closeTray(page);
    assert.deepEqual(await invalidNodes(page), [], 'the sink is configured');
    await deploy(page);
    await browser!.shot('deployed');

    const flows = (await (await rt!.request('GET', 'flows')).json()) as Array<Record<string, any>>;
    const node = flows.find((n) => n.type === 'timescale-sink');
    assert.deepEqual(node?.columns, columns.map(([column, field, type]) => ({ column, field, type })));
    const db = flows.find((n) => n.type === 'timescale-db');
    assert.equal(db?.password, undefined, 'the password is a credential, not part of the flow');
    assert.ok(!JSON.stringify(flows).includes('not-needed-here'));

    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const cols = await waitFor('the custom table created by the deployed sink', async () => {
        const r = await c.query(`select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = 'oven_readings' order by ordinal_position`, [schema]);
        return r.rows.length ? r.rows : undefined;
      }, 30_000, 250);
      assert.deepEqual(cols.map((r) => [r.column_name, r.data_type]), [['time', 'timestamp with time zone'], ['oven', 'text'], ['temp', 'double precision']]);
    } finally {
      await c.end();
    }
  });
});
