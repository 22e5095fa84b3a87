// The "Flow repository" sidebar tab in the Node-RED editor: browse templates and versions, import a
// version with a parameter form generated from its JSON Schema, publish the current flow as a version,
// diff two versions, deploy with a strategy and gates, watch the rollout, pause, resume, cancel or roll back a
// deployment, see the fleet with each device's reasons (e.g. what a gate waits for). Every call goes
// to this runtime's admin routes (linesight/repository/api/...), which hold the repository token.
import { changedParts, diffFlows, type FlowDiff } from '../../contracts/fleet/flow-diff';
import { formFields, readForm, type ParameterSchema } from './schema-form';
import { fillParameters } from '../../contracts/fleet/parameters';
import { deploymentBody } from './deploy-form';
import { ACTION_LABELS, actionsFor, type DeploymentAction } from './deployment-actions';
import { publishRefusal } from './publish-check';
import { importTabName, labelTabs, originOf, publishableFlow, tierRefusal } from './flow-origin';

declare const RED: any;
declare const $: any;

interface Template { slug: string; title: string; tier: string; description: string | null; parameters: ParameterSchema; requiredNodes: string[]; versions: string[]; latest: string | null }
interface VersionSummary { template: string; version: string; changelog?: string; author?: string; createdAt: string }
interface Device { id: string; tier: string; labels: Record<string, string>; state: string; degraded?: boolean; lastSeen: string | null; running: string | null; reasons: string[] }
interface Deployment { id: string; template: string; version: string; state: string; reason: string | null; createdAt?: string; counts: Record<string, number>; devices: { deviceId: string; wave: number; state: string; reasons: string[]; deviceState: string; lastSeen: string | null }[] }

const API = 'linesight/repository/api';

function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    $.ajax({
      url: `${API}${path}`,
      method,
      contentType: body === undefined ? undefined : 'application/json',
      data: body === undefined ? undefined : JSON.stringify(body),
      dataType: 'json',
      headers: { accept: 'application/json' },
    })
      .done((d: T) => resolve(d))
      .fail((xhr: any) => {
        const b = xhr.responseJSON;
        const problems = b?.problems?.map((p: { field: string; reason: string }) => `${p.field} ${p.reason}`).join('; ');
        reject(new Error(`${b?.error ?? xhr.statusText ?? 'request failed'}${problems ? `: ${problems}` : ''} (${xhr.status})`));
      });
  });
}

const esc = (s: unknown) => $('<div>').text(String(s ?? '')).html();
const el = (html: string) => $(html);
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

function nextPatch(versions: string[]): string {
  const sorted = versions
    .map((v) => v.split(/[-+]/)[0].split('.').map(Number))
    .filter((p) => p.length === 3 && p.every(Number.isFinite))
    .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const last = sorted[sorted.length - 1];
  return last ? `${last[0]}.${last[1]}.${last[2] + 1}` : '1.0.0';
}

/** The active tab as a flow: the tab, its nodes, groups, junctions and the config nodes they use. */
function currentFlow(): unknown[] {
  const ws = RED.workspaces.active();
  let nodes = RED.nodes.groups(ws).concat(RED.nodes.junctions(ws), RED.nodes.filterNodes({ z: ws }));
  nodes.unshift(RED.nodes.workspace(ws));
  nodes = RED.nodes.createExportableNodeSet(nodes);
  return JSON.parse(JSON.stringify(nodes));
}

class Sidebar {
  readonly root = el('<div class="ls-repo"></div>');
  private templates: Template[] = [];
  private selected: Template | undefined;
  private versions: VersionSummary[] = [];
  private rolloutTimer: ReturnType<typeof setInterval> | undefined;
  private fleetTimer: ReturnType<typeof setInterval> | undefined;
  /** This runtime's tier (line, factory, cloud), from its settings. */
  private tier: string | null = null;

  constructor() {
    this.root.html(`
      <div class="ls-repo-status" id="ls-repo-status">connecting…</div>
      <div class="ls-repo-section">
        <div class="ls-repo-head"><span>Templates</span><button class="red-ui-button red-ui-button-small" id="ls-repo-refresh" title="Refresh"><i class="fa fa-refresh"></i></button></div>
        <ul class="ls-repo-templates" id="ls-repo-templates"></ul>
      </div>
      <div class="ls-repo-section" id="ls-repo-versions-section" style="display:none">
        <div class="ls-repo-head"><span id="ls-repo-versions-title">Versions</span>
          <button class="red-ui-button red-ui-button-small" id="ls-repo-diff" disabled title="Compare the two ticked versions">Diff</button></div>
        <table class="ls-repo-table" id="ls-repo-versions"></table>
        <div id="ls-repo-diff-result"></div>
      </div>
      <div class="ls-repo-section" id="ls-repo-import" style="display:none"></div>
      <div class="ls-repo-section" id="ls-repo-publish">
        <div class="ls-repo-head"><span>Publish the current flow</span></div>
        <div class="ls-repo-row"><label>Template</label><select id="ls-repo-publish-template"></select></div>
        <div class="ls-repo-help" id="ls-repo-publish-origin"></div>
        <div class="ls-repo-row"><label>Version</label><input type="text" id="ls-repo-publish-version" placeholder="1.0.1"></div>
        <div class="ls-repo-row"><label>Changelog</label><textarea id="ls-repo-publish-changelog" rows="2" placeholder="what changed and why"></textarea></div>
        <button class="red-ui-button" id="ls-repo-publish-go"><i class="fa fa-upload"></i> Publish</button>
        <div class="ls-repo-msg" id="ls-repo-publish-msg"></div>
      </div>
      <div class="ls-repo-section" id="ls-repo-deploy" style="display:none"></div>
      <div class="ls-repo-section" id="ls-repo-rollout" style="display:none"></div>
      <div class="ls-repo-section">
        <div class="ls-repo-head"><span>Deployments</span><button class="red-ui-button red-ui-button-small" id="ls-repo-deployments-refresh" title="Refresh"><i class="fa fa-refresh"></i></button></div>
        <table class="ls-repo-table" id="ls-repo-deployments"></table>
        <div class="ls-repo-msg" id="ls-repo-deployments-msg"></div>
      </div>
      <div class="ls-repo-section">
        <div class="ls-repo-head"><span>Fleet</span><button class="red-ui-button red-ui-button-small" id="ls-repo-fleet-refresh" title="Refresh"><i class="fa fa-refresh"></i></button></div>
        <table class="ls-repo-table" id="ls-repo-fleet"></table>
      </div>`);
    this.root.find('#ls-repo-refresh').on('click', () => this.refresh());
    this.root.find('#ls-repo-fleet-refresh').on('click', () => this.loadFleet());
    this.root.find('#ls-repo-deployments-refresh').on('click', () => this.loadDeployments());
    this.root.find('#ls-repo-diff').on('click', () => this.showDiff());
    this.root.find('#ls-repo-publish-go').on('click', () => this.publish());
    this.root.find('#ls-repo-publish-template').on('change', () => {
      const t = this.templates.find((x) => x.slug === this.root.find('#ls-repo-publish-template').val());
      const warn = t && tierRefusal(t, this.tier);
      this.root.find('#ls-repo-publish-origin').toggleClass('ls-bad', !!warn).text(warn ?? '');
      this.suggestVersion();
    });
  }

  async refresh(): Promise<void> {
    const status = this.root.find('#ls-repo-status');
    try {
      const cfg = await new Promise<{ configured: boolean; url: string | null; tier?: string | null }>((res, rej) => $.getJSON('linesight/repository/config').done(res).fail((x: any) => rej(new Error(x.statusText))));
      if (!cfg.configured) {
        status.attr('class', 'ls-repo-status ls-bad').text('No repository configured for this runtime (settings: linesight.repository = {url, token}).');
        return;
      }
      this.tier = cfg.tier ?? null;
      this.templates = await call<Template[]>('GET', '/templates');
      status.attr('class', 'ls-repo-status ls-good').text(`Connected to ${cfg.url}`);
    } catch (err) {
      status.attr('class', 'ls-repo-status ls-bad').text((err as Error).message);
      return;
    }
    const list = this.root.find('#ls-repo-templates').empty();
    for (const t of this.templates) {
      const li = el(`<li data-slug="${esc(t.slug)}"><span class="ls-repo-slug">${esc(t.slug)}</span> <span class="ls-repo-tier">${esc(t.tier)}</span><br><small>${esc(t.title)} · ${esc(t.latest ?? 'no versions')}</small></li>`);
      li.on('click', () => this.select(t.slug));
      list.append(li);
    }
    const sel = this.root.find('#ls-repo-publish-template').empty();
    for (const t of this.templates) sel.append(el('<option>').val(t.slug).text(`${t.slug} (${t.tier})`));
    if (this.selected) await this.select(this.selected.slug);
    this.choosePublishTemplate();
    await this.loadFleet();
    await this.loadDeployments();
  }

  /**
   * The publish form's template: the one the open flow came from (its import, the last publish from this
   * tab, or its parameters and node types), never simply the first in the list; the form says why.
   */
  choosePublishTemplate(): void {
    if (!this.templates.length) return;
    const ws = RED.workspaces.active();
    const tab = ws ? RED.nodes.workspace(ws) : undefined;
    const types = ws ? RED.nodes.filterNodes({ z: ws }).map((n: { type: string }) => n.type) : [];
    let remembered: string | undefined;
    try {
      remembered = window.localStorage.getItem(`linesight-published-${ws}`) ?? undefined;
    } catch {
      remembered = undefined;
    }
    const origin = originOf(tab, types, this.templates, remembered);
    const sameTier = this.templates.filter((t) => !this.tier || t.tier === this.tier);
    const slug = origin?.slug ?? (sameTier[0] ?? this.templates[0]).slug;
    this.root.find('#ls-repo-publish-template').val(slug);
    const t = this.templates.find((x) => x.slug === slug)!;
    const why = origin ? `${slug}: ${origin.why}` : `no template found for this flow; ${slug} is the first ${this.tier ?? ''} template`;
    const warn = tierRefusal(t, this.tier);
    this.root.find('#ls-repo-publish-origin').toggleClass('ls-bad', !!warn).text(warn ? `${why}. ${warn}` : why);
    this.suggestVersion();
  }

  private suggestVersion(): void {
    const t = this.templates.find((x) => x.slug === this.root.find('#ls-repo-publish-template').val());
    if (t) this.root.find('#ls-repo-publish-version').val(nextPatch(t.versions));
  }

  async select(slug: string): Promise<void> {
    this.selected = this.templates.find((t) => t.slug === slug);
    this.root.find('#ls-repo-templates li').removeClass('selected').filter(`[data-slug="${slug}"]`).addClass('selected');
    if (!this.selected) return;
    this.versions = await call<VersionSummary[]>('GET', `/templates/${encodeURIComponent(slug)}/versions`);
    this.root.find('#ls-repo-versions-section').show();
    this.root.find('#ls-repo-versions-title').text(`Versions of ${slug}`);
    this.root.find('#ls-repo-diff-result').empty();
    const table = this.root.find('#ls-repo-versions').empty();
    for (const v of [...this.versions].reverse()) {
      const tr = el(`<tr data-version="${esc(v.version)}">
        <td><input type="checkbox" class="ls-repo-pick"></td>
        <td><b>${esc(v.version)}</b><br><small>${esc(v.changelog ?? '')}</small><br><small class="ls-repo-dim">${esc(v.author ?? '')} ${esc(when(v.createdAt))}</small></td>
        <td class="ls-repo-actions"><button class="red-ui-button red-ui-button-small ls-repo-import">Import</button>
            <button class="red-ui-button red-ui-button-small ls-repo-deploy">Deploy</button></td></tr>`);
      tr.find('.ls-repo-import').on('click', () => this.openImport(v.version));
      tr.find('.ls-repo-deploy').on('click', () => this.openDeploy(v.version));
      tr.find('.ls-repo-pick').on('change', () => this.root.find('#ls-repo-diff').prop('disabled', this.root.find('.ls-repo-pick:checked').length !== 2));
      table.append(tr);
    }
  }

  private async showDiff(): Promise<void> {
    const picked = this.root.find('.ls-repo-pick:checked').closest('tr').map((_: number, tr: HTMLElement) => $(tr).attr('data-version')).get() as string[];
    if (!this.selected || picked.length !== 2) return;
    // Older first, in publication order.
    const order = this.versions.map((v) => v.version);
    picked.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const [a, b] = await Promise.all(picked.map((v) => call<{ flow: unknown[] }>('GET', `/templates/${encodeURIComponent(this.selected!.slug)}/versions/${encodeURIComponent(v)}`)));
    this.root.find('#ls-repo-diff-result').html(renderDiff(picked[0], picked[1], diffFlows(a.flow, b.flow)));
  }

  private openImport(version: string): void {
    const t = this.selected!;
    const box = this.root.find('#ls-repo-import').show().empty();
    box.append(el(`<div class="ls-repo-head"><span>Import ${esc(t.slug)}@${esc(version)}</span></div>`));
    for (const f of formFields(t.parameters)) {
      const id = `ls-repo-param-${f.name}`;
      const row = el(`<div class="ls-repo-row"><label for="${id}" title="${esc(f.description ?? '')}">${esc(f.label)}${f.required ? ' *' : ''}</label></div>`);
      let input;
      if (f.kind === 'boolean') input = el(`<input type="checkbox" id="${id}">`).prop('checked', f.default === true);
      else if (f.kind === 'enum') {
        input = el(`<select id="${id}"></select>`);
        for (const o of f.options ?? []) input.append(el('<option>').val(String(o)).text(String(o)));
        if (f.default !== undefined) input.val(String(f.default));
      } else input = el(`<input type="text" id="${id}">`).attr('placeholder', f.default === undefined ? '' : String(f.default)).val(f.default === undefined ? '' : String(f.default));
      input.attr('data-param', f.name);
      row.append(input);
      if (f.description) row.append(el(`<div class="ls-repo-help">${esc(f.description)}</div>`));
      box.append(row);
    }
    const go = el('<button class="red-ui-button" id="ls-repo-import-go"><i class="fa fa-download"></i> Import into a new flow</button>');
    const msg = el('<div class="ls-repo-msg" id="ls-repo-import-msg"></div>');
    box.append(go, msg);
    go.on('click', async () => {
      const raw: Record<string, string | boolean> = {};
      box.find('[data-param]').each((_: number, e: HTMLInputElement) => {
        raw[e.getAttribute('data-param')!] = e.type === 'checkbox' ? e.checked : String($(e).val());
      });
      const { values, problems } = readForm(t.parameters, raw);
      if (problems.length) {
        msg.attr('class', 'ls-repo-msg ls-bad').text(problems.map((p) => `${p.field} ${p.reason}`).join('; '));
        return;
      }
      try {
        const doc = await call<{ flow: unknown[] }>('GET', `/templates/${encodeURIComponent(t.slug)}/versions/${encodeURIComponent(version)}`);
        // A tab of its own named template@version (a second import of it gets " (2)"), shown at once.
        const labels: string[] = [];
        RED.nodes.eachWorkspace((w: { label: string }) => void labels.push(w.label));
        const name = importTabName(t.slug, version, labels);
        const flow = labelTabs(fillParameters(doc.flow, values), name);
        const before = new Set<string>();
        RED.nodes.eachWorkspace((w: { id: string }) => void before.add(w.id));
        try {
          RED.view.importNodes(flow, { generateIds: false, addFlow: false, touchImport: true });
        } catch (err) {
          // The same version is already in the workspace: import a copy with new ids.
          RED.view.importNodes(flow, { generateIds: true, addFlow: false, touchImport: true });
        }
        let added: string | undefined;
        RED.nodes.eachWorkspace((w: { id: string }) => void (before.has(w.id) ? undefined : (added = added ?? w.id)));
        if (added) RED.workspaces.show(added);
        this.choosePublishTemplate();
        msg.attr('class', 'ls-repo-msg ls-good').text(`Imported ${t.slug}@${version} into the flow "${name}". Press Deploy to run it here.`);
      } catch (err) {
        msg.attr('class', 'ls-repo-msg ls-bad').text((err as Error).message);
      }
    });
  }

  private async publish(): Promise<void> {
    const msg = this.root.find('#ls-repo-publish-msg');
    const slug = String(this.root.find('#ls-repo-publish-template').val() ?? '');
    const version = String(this.root.find('#ls-repo-publish-version').val() ?? '').trim();
    const changelog = String(this.root.find('#ls-repo-publish-changelog').val() ?? '').trim();
    if (!slug) return void msg.attr('class', 'ls-repo-msg ls-bad').text('Choose a template.');
    if (!version) return void msg.attr('class', 'ls-repo-msg ls-bad').text('version is required');
    if (!changelog) return void msg.attr('class', 'ls-repo-msg ls-bad').text('changelog is required: say what changed');
    const template = this.templates.find((x) => x.slug === slug);
    // Parameters go out as ${NAME} with the template's defaults, not this runtime's values.
    const flow = template ? publishableFlow(currentFlow(), template) : currentFlow();
    const refusal = template && (tierRefusal(template, this.tier) ?? publishRefusal(flow, template));
    if (refusal) return void msg.attr('class', 'ls-repo-msg ls-bad').text(refusal);
    try {
      const user = RED.user?.username?.() ?? RED.settings?.user?.username;
      await call('POST', `/templates/${encodeURIComponent(slug)}/versions`, { version, flow, changelog, ...(user ? { author: user } : {}) });
      msg.attr('class', 'ls-repo-msg ls-good').text(`Published ${slug}@${version}.`);
      try {
        window.localStorage.setItem(`linesight-published-${RED.workspaces.active()}`, slug);
      } catch {
        // No storage (private window): the default falls back to the flow's parameters and nodes.
      }
      this.root.find('#ls-repo-publish-changelog').val('');
      template?.versions.push(version);
      await this.refresh();
      await this.select(slug);
    } catch (err) {
      msg.attr('class', 'ls-repo-msg ls-bad').text((err as Error).message);
    }
  }

  private openDeploy(version: string): void {
    const t = this.selected!;
    const box = this.root.find('#ls-repo-deploy').show().empty();
    box.html(`
      <div class="ls-repo-head"><span>Deploy ${esc(t.slug)}@${esc(version)}</span></div>
      <div class="ls-repo-row"><label>Tier</label><select id="ls-repo-deploy-tier"><option value="">any</option><option>line</option><option>factory</option><option>cloud</option></select></div>
      <div class="ls-repo-row"><label>Devices</label><input type="text" id="ls-repo-deploy-ids" placeholder="ids, comma separated (empty: all matching)"></div>
      <div class="ls-repo-row"><label>Labels</label><input type="text" id="ls-repo-deploy-labels" placeholder="site=plant1, line=3"></div>
      <div class="ls-repo-row"><label>Strategy</label><select id="ls-repo-deploy-strategy"><option value="all">all at once</option><option value="canary">canary, then waves</option></select></div>
      <div class="ls-repo-row ls-repo-canary" style="display:none"><label>Canary</label><input type="text" id="ls-repo-deploy-canary" value="1" size="3"> devices, then waves of <input type="text" id="ls-repo-deploy-wave" value="0" size="3"> (0: the rest at once)</div>
      <div class="ls-repo-row"><label>Window</label><input type="text" id="ls-repo-deploy-from" placeholder="22:00" size="5"> to <input type="text" id="ls-repo-deploy-to" placeholder="06:00" size="5"> <input type="text" id="ls-repo-deploy-tz" placeholder="time zone" size="12"></div>
      <div class="ls-repo-row"><label>Line idle</label><input type="text" id="ls-repo-deploy-gate-tag" placeholder="PLC tag, e.g. lineRunning" size="14"> = <input type="text" id="ls-repo-deploy-gate-value" placeholder="false" size="6"></div>
      <button class="red-ui-button" id="ls-repo-deploy-go"><i class="fa fa-rocket"></i> Deploy</button>
      <div class="ls-repo-msg" id="ls-repo-deploy-msg"></div>`);
    box.find('#ls-repo-deploy-tier').val(t.tier);
    box.find('#ls-repo-deploy-strategy').on('change', function (this: HTMLSelectElement) {
      box.find('.ls-repo-canary').toggle(this.value === 'canary');
    });
    box.find('#ls-repo-deploy-go').on('click', async () => {
      const msg = box.find('#ls-repo-deploy-msg');
      try {
        const body = deploymentBody(t.slug, version, (id) => String(box.find(`#ls-repo-deploy-${id}`).val() ?? '').trim());
        const dep = await call<Deployment>('POST', '/deployments', body);
        msg.attr('class', 'ls-repo-msg ls-good').text(`Deployment ${dep.id} created.`);
        this.watch(dep.id);
      } catch (err) {
        msg.attr('class', 'ls-repo-msg ls-bad').text((err as Error).message);
      }
    });
  }

  /** Polls the deployment and shows each device's state until every device is settled. */
  watch(id: string): void {
    if (this.rolloutTimer) clearInterval(this.rolloutTimer);
    const box = this.root.find('#ls-repo-rollout').show();
    const tick = async () => {
      try {
        const d = await call<Deployment>('GET', `/deployments/${encodeURIComponent(id)}`);
        box.html(`<div class="ls-repo-head"><span>Rollout ${esc(d.template)}@${esc(d.version)}</span>
            <span class="ls-repo-state ls-state-${esc(d.state.replace(/\s+/g, '-'))}" id="ls-repo-rollout-state">${esc(d.state)}</span></div>
          ${d.reason ? `<div class="ls-repo-msg ls-bad">${esc(d.reason)}</div>` : ''}
          <div class="ls-repo-dep-actions" id="ls-repo-rollout-actions"></div>
          <table class="ls-repo-table" id="ls-repo-rollout-devices">${d.devices
            .map((x) => `<tr data-device="${esc(x.deviceId)}"><td>${esc(x.deviceId)}</td><td>wave ${x.wave}</td>
              <td class="ls-repo-state ls-state-${esc(x.state.replace(/\s+/g, '-'))}">${esc(x.state)}</td>
              <td><small>${esc(x.reasons.join('; '))}</small></td></tr>`)
            .join('')}</table>`);
        box.find('#ls-repo-rollout-actions').append(this.actionButtons(d));
        const settled = d.devices.length > 0 && d.devices.every((x) => ['running', 'failed', 'rolled back', 'superseded', 'cancelled'].includes(x.state));
        if (settled || ['completed', 'rolled back', 'halted', 'cancelled'].includes(d.state)) {
          clearInterval(this.rolloutTimer);
          this.rolloutTimer = undefined;
          void this.loadFleet();
        }
      } catch (err) {
        box.find('.ls-repo-msg').remove();
        box.append(el(`<div class="ls-repo-msg ls-bad">${esc((err as Error).message)}</div>`));
      }
    };
    void tick();
    this.rolloutTimer = setInterval(tick, 1500);
  }

  async loadFleet(): Promise<void> {
    try {
      const devices = await call<Device[]>('GET', '/devices');
      const rows = devices
        .map((d) => `<tr data-device="${esc(d.id)}"><td><b>${esc(d.id)}</b><br><small class="ls-repo-dim">${esc(Object.entries(d.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(' '))}</small></td>
          <td>${esc(d.tier)}</td><td class="ls-repo-ver">${esc(d.running ?? '—').replace('@', '@<wbr>')}</td>
          ${fleetStateCell(d)}<td><small>${esc(when(d.lastSeen))}</small></td></tr>${
            // Why it is in that state (a gate it waits for, a refused desired state, the nodes of a degraded
            // device), across the whole row.
            d.reasons?.length
              ? `<tr data-reasons-for="${esc(d.id)}"><td colspan="5"><div class="ls-repo-reasons">${d.reasons.map((r) => `<div>${esc(r)}</div>`).join('')}</div></td></tr>`
              : ''
          }`)
        .join('');
      this.root.find('#ls-repo-fleet').html(`<tr><th>device</th><th>tier</th><th>version</th><th>state</th><th>last seen</th></tr>${rows}`);
    } catch (err) {
      this.root.find('#ls-repo-fleet').html(`<tr><td class="ls-bad">${esc((err as Error).message)}</td></tr>`);
    }
  }

  /** Pause, resume, cancel and roll back: only those the deployment's state allows. */
  private actionButtons(d: Pick<Deployment, 'id' | 'state'>): any {
    const span = el('<span class="ls-repo-dep-buttons"></span>');
    for (const action of actionsFor(d.state)) {
      const meta = ACTION_LABELS[action];
      const button = el(`<button class="red-ui-button red-ui-button-small ls-repo-dep-${action}" title="${esc(meta.title)}"><i class="fa ${meta.icon}"></i> ${esc(meta.label)}</button>`);
      button.on('click', (e: Event) => {
        e.stopPropagation();
        void this.act(d.id, action);
      });
      span.append(button);
    }
    return span;
  }

  private async act(id: string, action: DeploymentAction): Promise<void> {
    const msg = this.root.find('#ls-repo-deployments-msg');
    const confirmText = ACTION_LABELS[action].confirm;
    if (confirmText && !window.confirm(confirmText)) return;
    try {
      const d = await call<Deployment>('POST', `/deployments/${encodeURIComponent(id)}/${action}`);
      msg.attr('class', 'ls-repo-msg ls-good').text(`Deployment ${d.id} is ${d.state}.`);
    } catch (err) {
      msg.attr('class', 'ls-repo-msg ls-bad').text((err as Error).message);
    }
    await this.loadDeployments();
    if (this.root.find('#ls-repo-rollout').is(':visible')) this.watch(id);
    void this.loadFleet();
  }

  async loadDeployments(): Promise<void> {
    const table = this.root.find('#ls-repo-deployments');
    try {
      const deployments = (await call<Deployment[]>('GET', '/deployments')).slice(0, 20);
      table.html('<tr><th>deployment</th><th>state</th></tr>');
      for (const d of deployments) {
        const counts = Object.entries(d.counts ?? {}).map(([k, n]) => `${n} ${k}`).join(', ');
        const tr = el(`<tr data-deployment="${esc(d.id)}"><td><a href="#" class="ls-repo-dep-open"><b>${esc(d.template)}@${esc(d.version)}</b></a><br><small class="ls-repo-dim">${esc(d.id)} ${esc(counts)}</small>${
          d.reason ? `<div class="ls-repo-reasons">${esc(d.reason)}</div>` : ''
        }<div class="ls-repo-dep-row-actions"></div></td><td class="ls-repo-state ls-state-${esc(d.state.replace(/\s+/g, '-'))}">${esc(d.state)}</td></tr>`);
        tr.find('.ls-repo-dep-row-actions').append(this.actionButtons(d));
        tr.find('.ls-repo-dep-open').on('click', (e: Event) => {
          e.preventDefault();
          this.watch(d.id);
        });
        table.append(tr);
      }
      if (!deployments.length) table.append(el('<tr><td class="ls-repo-dim">none</td></tr>'));
    } catch (err) {
      table.html(`<tr><td class="ls-bad">${esc((err as Error).message)}</td></tr>`);
    }
  }

  show(): void {
    void this.refresh();
    if (!this.fleetTimer) {
      this.fleetTimer = setInterval(() => {
        void this.loadFleet();
        void this.loadDeployments();
      }, 10_000);
    }
  }

  hide(): void {
    if (this.fleetTimer) clearInterval(this.fleetTimer);
    this.fleetTimer = undefined;
  }
}

/**
 * A device's state in the fleet table. A running device whose nodes have problems is degraded (yellow,
 * with the nodes named), never plain green; reasons of failed and drifted devices show too.
 */
function fleetStateCell(d: Device): string {
  const degraded = !!d.degraded && d.state !== 'offline';
  const cls = degraded ? 'degraded' : d.state.replace(/\s+/g, '-');
  const text = degraded ? `${d.state} · degraded` : d.state;
  // The reasons have a row of their own under the device; the cell repeats them on hover.
  return `<td class="ls-repo-state ls-state-${esc(cls)}" title="${esc((d.reasons ?? []).join('\n'))}">${esc(text)}</td>`;
}

function renderDiff(a: string, b: string, d: FlowDiff): string {
  const item = (n: { type: string; name?: string; id: string }) => `${esc(n.type)}${n.name ? ` "${esc(n.name)}"` : ''} <small class="ls-repo-dim">${esc(n.id)}</small>`;
  const parts = [`<div class="ls-repo-diff" id="ls-repo-diff-summary"><b>${esc(a)} → ${esc(b)}</b>: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged</div><ul class="ls-repo-difflist">`];
  for (const n of d.added) parts.push(`<li class="ls-diff-added">+ ${item(n)}</li>`);
  for (const n of d.removed) parts.push(`<li class="ls-diff-removed">− ${item(n)}</li>`);
  for (const n of d.changed) {
    const what = changedParts(n);
    parts.push(`<li class="ls-diff-changed">~ ${item(n)}: ${esc(what.join(', '))}</li>`);
  }
  parts.push('</ul>');
  return parts.join('');
}

/**
 * Node-RED adds a plugin's pinned tab button after its own (info, help, debug, config, context) and, at
 * the default sidebar width, hides the last buttons for room: ours only showed in the ▾ menu. Until the
 * person has arranged the buttons (dragging them saves `editor.sidebar.order`), ours sits beside info
 * and the editor's own width rule hides one of the core buttons instead. Every tab added later (another
 * plugin's) re-sorts the row by the saved order, so the row is watched rather than arranged once.
 */
function placeTabButton(attempt = 0): void {
  const ours = $('#red-ui-tab-linesight-flow-repository-link-button');
  const info = $('#red-ui-tab-info-link-button');
  // Plugins load before the editor adds its own tabs: wait for info's button (at most about 10 s).
  if (!ours.length || !info.length) {
    if (attempt < 100) setTimeout(() => placeTabButton(attempt + 1), 100);
    return;
  }
  const place = () => {
    if (RED.settings.get('editor.sidebar.order')) return;
    const button = $('#red-ui-tab-linesight-flow-repository-link-button');
    const after = $('#red-ui-tab-info-link-button');
    if (!button.length || !after.length || after.next().is(button)) return;
    button.insertAfter(after).show();
    // The tab bar recomputes which buttons fit on a resize.
    $(window).trigger('resize');
  };
  place();
  new MutationObserver(place).observe(ours.parent()[0], { childList: true });
}

/**
 * A remote deploy (the agent's, another editor's) must not go unnoticed: Node-RED's own "flows updated"
 * notice hides itself after 10 s, and a later Deploy from this stale editor replaced the newer flows. The
 * notice here stays until answered (Reload, or keep my edits), and a Deploy while the editor is stale asks
 * first, naming when the newer flows arrived.
 */
function guardStaleDeploys(): void {
  let staleSince: Date | undefined;
  let notice: any;
  const reload = () => {
    // The edits are given up on purpose: no "leave this page?" prompt.
    RED.nodes.dirty(false);
    window.location.reload();
  };
  const onRemoteDeploy = (revision: string) => {
    const mine = RED.nodes.version();
    // Our own deploy announces itself too: in flight (spinner) or already answered with this revision.
    if (mine === null || mine === revision || $('.red-ui-deploy-button-spinner').is(':visible')) return;
    staleSince = staleSince ?? new Date();
    const text = $('<div id="ls-stale-notice">').append(
      $('<p>').text(`The flows on this runtime were deployed from elsewhere at ${staleSince.toLocaleTimeString()} (a remote deploy). This editor shows older flows.`),
    );
    notice?.close?.();
    notice = RED.notify(text, {
      type: 'warning',
      fixed: true,
      modal: false,
      buttons: [
        { text: 'Keep my edits', click: () => notice.close() },
        { text: 'Reload', class: 'primary', click: reload },
      ],
    });
  };
  RED.comms.subscribe('notification/runtime-deploy', (_topic: string, msg: { revision?: string }) => {
    // After the editor's own deploy answer has had time to set its revision.
    if (msg?.revision) setTimeout(() => onRemoteDeploy(msg.revision!), 500);
  });
  const current = () => {
    // Deployed (after the question below) or loaded afresh: this editor is current again.
    staleSince = undefined;
    notice?.close?.();
  };
  RED.events.on('deploy', current);
  RED.events.on('flows:loaded', current);
  const ask = (go: () => void) => {
    const since = staleSince!;
    const dialog = RED.notify(
      $('<div id="ls-stale-deploy">').append(
        $('<p>').text(`Newer flows were deployed to this runtime at ${since.toLocaleTimeString()}, after this editor loaded its flows. Deploying now replaces them with what you see here.`),
      ),
      {
        type: 'warning',
        fixed: true,
        modal: true,
        buttons: [
          { text: 'Cancel', click: () => dialog.close() },
          { text: 'Reload the newer flows', class: 'primary', click: reload },
          {
            text: 'Deploy over them',
            click: () => {
              dialog.close();
              staleSince = undefined;
              go();
            },
          },
        ],
      },
    );
  };
  const button = document.getElementById('red-ui-header-button-deploy');
  button?.addEventListener(
    'click',
    (e) => {
      if (!staleSince || button.classList.contains('disabled')) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      ask(() => button.click());
    },
    true,
  );
}

/**
 * Any import that brings a flow tab (Import > Examples, the clipboard, a dropped file) shows that tab, as
 * the sidebar's import does, instead of leaving it behind the current one; a tab whose name is taken gets
 * " (2)", " (3)"… Tabs added while the editor loads its flows are left alone.
 */
function showImportedTabs(): void {
  let loaded = false;
  RED.events.on('flows:loaded', () => (loaded = true));
  RED.events.on('flows:add', (ws: { id: string; label: string }) => {
    if (!loaded) return;
    const taken: string[] = [];
    RED.nodes.eachWorkspace((w: { id: string; label: string }) => void (w.id !== ws.id && taken.push(w.label)));
    if (taken.includes(ws.label)) {
      let i = 2;
      while (taken.includes(`${ws.label} (${i})`)) i++;
      ws.label = `${ws.label} (${i})`;
      RED.workspaces.refresh?.();
    }
    // After the import has finished adding the tab's nodes.
    setTimeout(() => {
      if (RED.nodes.workspace(ws.id)) RED.workspaces.show(ws.id);
    }, 0);
  });
}

RED.plugins.registerPlugin('linesight-flow-repository', {
  onadd() {
    const bar = new Sidebar();
    RED.sidebar.addTab({
      id: 'linesight-flow-repository',
      label: 'repository',
      name: 'Flow repository',
      iconClass: 'fa fa-cubes',
      content: bar.root,
      enableOnEdit: true,
      // Pinned: its icon sits in the sidebar's tab bar beside info, help, debug and config.
      pinned: true,
      onchange: () => bar.show(),
      onremove: () => bar.hide(),
    });
    RED.actions.add('linesight:show-flow-repository', () => RED.sidebar.show('linesight-flow-repository'));
    // The publish form follows the open flow.
    RED.events.on('workspace:change', () => bar.choosePublishTemplate());
    placeTabButton();
    guardStaleDeploys();
    showImportedTabs();
  },
});
