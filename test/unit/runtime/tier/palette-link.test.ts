import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DASHBOARD_NAME, PACKAGE_ROOT, PALETTE_NAME, dashboardRoot, paletteNodeFiles, paletteRoot } from '../../../../runtime/paths';
import { linkDashboardInto, linkPaletteInto } from '../../../../runtime/tier/tier-runtime';

describe('tier runtime: the palette package in the user directory', () => {
  let userDir: string;
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-palette-link-'));
  });
  afterEach(() => fs.rmSync(userDir, { recursive: true, force: true }));
  const installed = () => path.join(userDir, 'node_modules', '@linesight', 'node-red-linesight');

  it('finds the palette through the workspace, apart from the linesight package', () => {
    const palette = paletteRoot();
    assert.equal(palette, path.join(PACKAGE_ROOT, 'packages', 'palette'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(palette, 'package.json'), 'utf8')).name, PALETTE_NAME);
    const root = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'));
    assert.equal(root['node-red'], undefined, 'linesight itself is no Node-RED module (a global install would load every node twice)');
    assert.ok(Object.keys(paletteNodeFiles()).includes('plc-read'));
  });

  it('links the palette where npm install would put it, once', () => {
    linkPaletteInto(userDir);
    assert.equal(fs.realpathSync(installed()), paletteRoot());
    linkPaletteInto(userDir);
    assert.equal(fs.realpathSync(installed()), paletteRoot());
  });

  it('replaces a link to another palette, and removes the old whole-project link', () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-other-palette-'));
    try {
      fs.mkdirSync(path.dirname(installed()), { recursive: true });
      fs.symlinkSync(elsewhere, installed(), 'dir');
      fs.symlinkSync(PACKAGE_ROOT, path.join(userDir, 'node_modules', 'linesight'), 'dir');
      linkPaletteInto(userDir);
      assert.equal(fs.realpathSync(installed()), paletteRoot());
      assert.equal(fs.existsSync(path.join(userDir, 'node_modules', 'linesight')), false);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('leaves a palette installed with npm (a real folder) alone', () => {
    fs.mkdirSync(installed(), { recursive: true });
    fs.writeFileSync(path.join(installed(), 'package.json'), JSON.stringify({ name: PALETTE_NAME, version: '9.9.9' }));
    linkPaletteInto(userDir);
    assert.equal(fs.lstatSync(installed()).isDirectory(), true);
    assert.equal(JSON.parse(fs.readFileSync(path.join(installed(), 'package.json'), 'utf8')).version, '9.9.9');
  });

  it('links Dashboard 2.0 (the line screen) from the linesight package beside the palette, and leaves a user-installed one alone', () => {
    const dashboard = path.join(userDir, 'node_modules', ...DASHBOARD_NAME.split('/'));
    assert.ok(dashboardRoot(), 'linesight depends on the dashboard');
    assert.equal(linkDashboardInto(userDir), true);
    assert.equal(fs.realpathSync(dashboard), dashboardRoot());
    fs.unlinkSync(dashboard);
    fs.mkdirSync(dashboard);
    fs.writeFileSync(path.join(dashboard, 'package.json'), JSON.stringify({ name: DASHBOARD_NAME, version: '9.9.9' }));
    assert.equal(linkDashboardInto(userDir), true);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dashboard, 'package.json'), 'utf8')).version, '9.9.9');
  });

  it('links no dashboard where the installation has none', () => {
    assert.equal(linkDashboardInto(userDir, null), false);
  });
});
