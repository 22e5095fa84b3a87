// Drives the Node-RED 4.1 editor the way a person does: mouse drags from the palette, port-to-port
// wiring, the edit tray, the Deploy button. Reads editor state through `window.RED` only to find the
// ids of what the mouse just created and to wait for things to settle.
import type { Page } from 'playwright-core';

export interface Point {
  x: number;
  y: number;
}

const byId = (id: string) => `[id="${id}"]`;

export async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#red-ui-header-button-deploy', { state: 'visible', timeout: 60_000 });
  await page.waitForFunction(() => {
    const RED = (window as any).RED;
    return !!(RED && RED.workspaces && RED.workspaces.active() && document.querySelector('.red-ui-palette-node'));
  }, null, { timeout: 60_000 });
  // The loading overlay fades out after the flows arrive.
  await page.waitForFunction(() => !document.querySelector('#red-ui-loading-progress') || getComputedStyle(document.querySelector('#red-ui-loading-progress')!).display === 'none' || !(document.querySelector('#red-ui-loading-progress') as HTMLElement).offsetParent, null, { timeout: 60_000 }).catch(() => {});
  await page.waitForTimeout(300);
}

/** Types listed in a palette category, in palette order. */
export async function paletteTypes(page: Page, category: string): Promise<string[]> {
  return page.$$eval(`#red-ui-palette-base-category-${category} .red-ui-palette-node`, (els) => els.map((e) => e.getAttribute('data-palette-type') || ''));
}

async function ensureCategoryOpen(page: Page, type: string): Promise<void> {
  const el = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  if (await el.isVisible()) return;
  const category = await el.evaluate((e) => e.closest('.red-ui-palette-content')?.id.replace('red-ui-palette-base-category-', '') ?? '');
  await page.click(`#red-ui-palette-header-${category}`);
  await el.waitFor({ state: 'visible' });
}

async function nodeIds(page: Page, type: string): Promise<string[]> {
  return page.evaluate((t) => (window as any).RED.nodes.filterNodes({ type: t }).map((n: any) => n.id), type);
}

async function drag(page: Page, from: Point, to: Point): Promise<void> {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  // jQuery UI and d3 both need several moves to recognise a drag.
  const steps = 12;
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(from.x + ((to.x - from.x) * i) / steps, from.y + ((to.y - from.y) * i) / steps);
  }
  await page.mouse.up();
}

/** Drags a node type from the palette to a point of the workspace (relative to its visible corner); returns the new node's id. */
export async function dragFromPalette(page: Page, type: string, at: Point): Promise<string> {
  await ensureCategoryOpen(page, type);
  const before = new Set(await nodeIds(page, type));
  const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).first();
  await entry.scrollIntoViewIfNeeded();
  const src = await entry.boundingBox();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!src || !chart) throw new Error(`palette entry for ${type} or the workspace is not visible`);
  await drag(page, { x: src.x + src.width / 2, y: src.y + src.height / 2 }, { x: chart.x + at.x, y: chart.y + at.y });
  let created: string | undefined;
  for (let i = 0; i < 50 && !created; i++) {
    created = (await nodeIds(page, type)).find((id) => !before.has(id));
    if (!created) await page.waitForTimeout(100);
  }
  if (!created) throw new Error(`dragging ${type} onto the workspace created no node`);
  await page.locator(byId(created)).waitFor({ state: 'visible' });
  return created;
}

/** Wires output `port` (0-based) of one node to the input of another by dragging between the ports. */
export async function wire(page: Page, fromId: string, port: number, toId: string): Promise<void> {
  const out = await page.locator(`${byId(fromId)} .red-ui-flow-port-output .red-ui-flow-port`).nth(port).boundingBox();
  const inp = await page.locator(`${byId(toId)} .red-ui-flow-port-input .red-ui-flow-port`).first().boundingBox();
  if (!out || !inp) throw new Error(`ports of ${fromId}[${port}] -> ${toId} not found`);
  await drag(page, { x: out.x + out.width / 2, y: out.y + out.height / 2 }, { x: inp.x + inp.width / 2, y: inp.y + inp.height / 2 });
  const ok = await page.evaluate(({ f, p, t }) => (window as any).RED.nodes.filterLinks({ source: { id: f }, sourcePort: p, target: { id: t } }).length > 0, { f: fromId, p: port, t: toId });
  if (!ok) throw new Error(`dragging from ${fromId}[${port}] to ${toId} made no wire`);
}

/** Opens a node's edit tray by double-clicking it. */
export async function openNode(page: Page, id: string): Promise<void> {
  await page.locator(`${byId(id)} .red-ui-flow-node`).first().dblclick();
  await page.waitForSelector('.red-ui-tray #node-dialog-ok', { state: 'visible' });
  await page.waitForTimeout(300);
}

/** Presses Done on the open tray. */
export async function closeTray(page: Page): Promise<void> {
  await page.click('.red-ui-tray #node-dialog-ok');
  await page.waitForSelector('.red-ui-tray #node-dialog-ok', { state: 'detached' }).catch(() => {});
  await page.waitForTimeout(300);
}

/** Presses Deploy and waits for "Successfully deployed"; fails with the dialog text if the editor objects. */
export async function deploy(page: Page): Promise<void> {
  await page.click('#red-ui-header-button-deploy');
  const outcome = await Promise.race([
    page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { timeout: 60_000 }).then(() => 'ok'),
    page.waitForSelector('#node-dialog-confirm-deploy', { state: 'visible', timeout: 60_000 }).then(() => 'confirm'),
  ]);
  if (outcome === 'confirm') {
    const text = await page.locator('#node-dialog-confirm-deploy').innerText();
    throw new Error(`the editor refused to deploy without confirmation: ${text}`);
  }
  await page.waitForTimeout(300);
}

/** The status text shown under a node on the workspace. */
export async function statusText(page: Page, id: string): Promise<string> {
  const el = page.locator(`${byId(id)} .red-ui-flow-node-status-label`);
  if ((await el.count()) === 0) return '';
  return (await el.first().textContent()) ?? '';
}

/** Node ids on the active tab whose problems the editor flags (red triangle: invalid config). */
export async function invalidNodes(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).RED.nodes.filterNodes({ z: (window as any).RED.workspaces.active() }).filter((n: any) => n.valid === false).map((n: any) => `${n.type} ${n.id}`));
}

/** Activates a tab of the sidebar or the edit tray: its icon button when the tab bar is collapsed, else its label. */
export async function clickTab(page: Page, tabId: string): Promise<void> {
  const button = page.locator(`#red-ui-tab-${tabId}-link-button`);
  const label = page.locator(`#red-ui-tab-${tabId} a`);
  // A tray slides in: give its tab bar a moment to lay out before deciding which control is shown.
  for (let i = 0; i < 40 && !(await button.isVisible().catch(() => false)) && !(await label.isVisible().catch(() => false)); i++) await page.waitForTimeout(250);
  if (await button.isVisible().catch(() => false)) await button.click();
  else if (await label.isVisible().catch(() => false)) await label.click();
  else {
    // No room for its icon: the tab bar's menu lists every tab.
    await button.locator('xpath=..').locator('.red-ui-tab-link-button-menu').click();
    await page.click(`#red-ui-tabs-menu-option-${tabId}`);
  }
}
