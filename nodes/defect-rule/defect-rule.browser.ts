// The defect-rule editor: rule table (add, remove, reorder, enable), a form per rule, JSON import and
// export, validation as you type and a "try it" panel. Validation and trial run on the server through
// admin routes, so the editor judges rules with exactly the engine the node runs.
import { formToRule, newRule, ruleToForm, summarize, WINDOW_FORM_FIELDS, type RuleForm } from './editor-model';
import type { DefectRule } from './defect-rule.schema';
import { writeTagProblems, writeTargetsOf } from './write-targets';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

interface Problem {
  ruleId: string;
  field: string;
  reason: string;
}

const SAMPLE_INSPECTION = {
  inspectionId: 'try-1',
  site: 'plant1',
  line: 'line1',
  cameraId: 'cam1',
  capturedAt: 1760000000000,
  detections: [{ defectClass: 'scratch', confidence: 0.93, box: { x: 120, y: 80, width: 40, height: 12 } }],
};

const esc = (s: string) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function post(url: string, body: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    $.ajax({ url, method: 'POST', contentType: 'application/json', data: JSON.stringify(body), dataType: 'json' })
      .done(resolve)
      .fail((xhr: any) => reject(new Error(xhr.responseJSON?.error ?? xhr.statusText ?? 'request failed')));
  });
}

function debounce(fn: () => void, ms: number): () => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (t) clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}

class RuleEditor {
  private $list: any;
  private selected: DefectRule | undefined;
  private problems: Problem[] = [];
  private readonly validateSoon = debounce(() => void this.validate(), 300);

  constructor(private readonly node: any) {}

  prepare(): void {
    const rules: DefectRule[] = JSON.parse(JSON.stringify(Array.isArray(this.node.rules) ? this.node.rules : []));
    this.$list = $('#dr-rule-list').css('min-height', '120px').editableList({
      addButton: 'rule',
      sortable: true,
      removable: true,
      height: 200,
      addItem: (row: any, _i: number, data: DefectRule) => this.renderRow(row, data),
      removeItem: (data: DefectRule) => {
        if (data === this.selected) this.select(undefined);
        this.validateSoon();
      },
      sortItems: () => this.validateSoon(),
    });
    this.$list.editableList('addItems', rules);
    $('#dr-form').on('input change', '.dr-f', () => this.formChanged());
    $('#dr-window-kind, #dr-roi-shape').on('change', () => this.showRelevantFields());
    $('#node-input-knownClasses, #node-input-timeMode').on('input change', () => this.validateSoon());
    $('#dr-export').on('click', () => $('#dr-json').val(JSON.stringify(this.rules(), null, 2)));
    $('#dr-import').on('click', () => this.importJson());
    $('#dr-try-input').val(JSON.stringify(SAMPLE_INSPECTION, null, 2));
    $('#dr-try-run').on('click', () => void this.tryIt());
    this.select(rules[0]);
    void this.validate();
  }

  save(): void {
    this.node.rules = this.rules();
  }

  rules(): DefectRule[] {
    const out: DefectRule[] = [];
    this.$list.editableList('items').each((_i: number, el: any) => out.push($(el).data('data')));
    return out;
  }

  private renderRow(row: any, data: DefectRule): void {
    // The list's add button passes an empty object: make it a fresh rule and open it in the form.
    const fresh = !data.id;
    if (fresh) Object.assign(data, newRule(this.rules().filter((r) => r !== data).map((r) => r.id)));
    row.addClass('dr-row').css({ display: 'flex', alignItems: 'center', gap: '8px', cursor: 'pointer' });
    const $on = $('<input type="checkbox" class="dr-enabled" style="width:auto;margin:0" title="enabled">').prop('checked', data.enabled !== false).appendTo(row);
    $('<span class="dr-id" style="font-weight:bold;min-width:90px"></span>').appendTo(row);
    $('<span class="dr-summary" style="flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap"></span>').appendTo(row);
    $on.on('click', (e: any) => {
      e.stopPropagation();
      if ($on.prop('checked')) delete data.enabled;
      else data.enabled = false;
      if (data === this.selected) $('#dr-f-enabled').prop('checked', data.enabled !== false);
      this.validateSoon();
    });
    row.on('click', () => this.select(data));
    this.refreshRow(row, data);
    if (fresh || (!this.selected && this.$list)) setTimeout(() => this.select(data), 0);
    this.validateSoon();
  }

  private rowOf(rule: DefectRule): any {
    let found: any;
    this.$list.editableList('items').each((_i: number, el: any) => {
      if ($(el).data('data') === rule) found = $(el);
    });
    return found;
  }

  private refreshRow(row: any, rule: DefectRule): void {
    row.find('.dr-id').text(rule.id + (rule.name ? ` — ${rule.name}` : ''));
    row.find('.dr-summary').text(summarize(rule)).attr('title', summarize(rule));
    const bad = this.problems.some((p) => p.ruleId === rule.id);
    row.css('color', bad ? 'var(--red-ui-text-color-error, #c00)' : '');
    row.css('background', rule === this.selected ? 'var(--red-ui-list-item-background-selected, #ffebc7)' : '');
    row.css('opacity', rule.enabled === false ? '0.55' : '1');
  }

  private refreshRows(): void {
    this.$list.editableList('items').each((_i: number, el: any) => this.refreshRow($(el), $(el).data('data')));
  }

  private select(rule: DefectRule | undefined): void {
    this.selected = rule;
    $('#dr-form').toggle(!!rule);
    if (rule) {
      const f = ruleToForm(rule) as unknown as Record<string, string | boolean>;
      $('#dr-form .dr-f').each((_i: number, el: any) => {
        const key = $(el).data('field') as string;
        if (el.type === 'checkbox') $(el).prop('checked', !!f[key]);
        else $(el).val(f[key] as string);
      });
      this.showRelevantFields();
    }
    this.refreshRows();
    this.showProblems();
  }

  private readForm(): RuleForm {
    const f: Record<string, string | boolean> = {};
    $('#dr-form .dr-f').each((_i: number, el: any) => {
      f[$(el).data('field')] = el.type === 'checkbox' ? $(el).prop('checked') : String($(el).val() ?? '');
    });
    return f as unknown as RuleForm;
  }

  private formChanged(): void {
    if (!this.selected) return;
    const next = formToRule(this.readForm());
    // Replace in place: the table row keeps pointing at the same object.
    for (const k of Object.keys(this.selected)) delete (this.selected as unknown as Record<string, unknown>)[k];
    Object.assign(this.selected, next);
    const row = this.rowOf(this.selected);
    if (row) this.refreshRow(row, this.selected);
    this.validateSoon();
  }

  private showRelevantFields(): void {
    const kind = $('#dr-window-kind').val() as keyof typeof WINDOW_FORM_FIELDS;
    const fields: string[] = WINDOW_FORM_FIELDS[kind] ?? [];
    $('.dr-window-field').each((_i: number, el: any) => $(el).toggle(fields.includes($(el).data('for'))));
    const shape = $('#dr-roi-shape').val();
    $('.dr-roi-rect').toggle(shape === 'rect');
    $('.dr-roi-polygon').toggle(shape === 'polygon');
    $('.dr-roi-any').toggle(shape === 'rect' || shape === 'polygon');
  }

  private async validate(): Promise<void> {
    try {
      const res = await post('linesight/defect-rule/validate', { rules: this.rules(), knownClasses: $('#node-input-knownClasses').val() });
      // And every write against the tag table of the plc-write(s) the actions output is wired to.
      const wiredTo = RED.nodes.filterLinks({ source: { id: this.node.id }, sourcePort: 0 }).map((l: any) => l.target.id);
      const targets = writeTargetsOf(wiredTo, (id) => RED.nodes.node(id));
      this.problems = [...(res.problems ?? []), ...writeTagProblems(this.rules(), targets)];
    } catch (err) {
      this.problems = [{ ruleId: '', field: '', reason: `could not validate: ${(err as Error).message}` }];
    }
    this.refreshRows();
    this.showProblems();
  }

  private showProblems(): void {
    const $p = $('#dr-problems').empty();
    if (this.problems.length === 0) {
      $p.append('<div style="color:var(--red-ui-text-color-success, #080)"><i class="fa fa-check"></i> rules are valid</div>');
      return;
    }
    for (const p of this.problems) {
      const mine = this.selected && p.ruleId === this.selected.id;
      $(`<div><i class="fa fa-exclamation-triangle"></i> ${p.ruleId ? `rule <b>${esc(p.ruleId)}</b> ` : ''}<code>${esc(p.field)}</code> ${esc(p.reason)}</div>`)
        .css({ color: 'var(--red-ui-text-color-error, #c00)', fontWeight: mine ? 'bold' : 'normal' })
        .appendTo($p);
    }
  }

  private importJson(): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String($('#dr-json').val() ?? ''));
    } catch (err) {
      $('#dr-json-error').text(`not JSON: ${(err as Error).message}`);
      return;
    }
    if (!Array.isArray(parsed)) {
      $('#dr-json-error').text('expected an array of rules');
      return;
    }
    $('#dr-json-error').text('');
    this.selected = undefined;
    this.$list.editableList('empty');
    this.$list.editableList('addItems', parsed);
    this.select(parsed[0]);
    this.validateSoon();
  }

  private async tryIt(): Promise<void> {
    const $out = $('#dr-try-output').empty();
    let inspections: unknown;
    try {
      inspections = JSON.parse(String($('#dr-try-input').val() ?? ''));
    } catch (err) {
      $out.text(`not JSON: ${(err as Error).message}`);
      return;
    }
    try {
      const res = await post('linesight/defect-rule/try', {
        rules: this.rules(),
        knownClasses: $('#node-input-knownClasses').val(),
        timeMode: $('#node-input-timeMode').val(),
        allowedLatenessMs: Number($('#node-input-allowedLatenessMs').val()),
        inspections,
      });
      const lines: string[] = [];
      for (const p of res.problems ?? []) lines.push(`<div style="color:#c00">rule ${esc(p.ruleId)} ${esc(p.field)} ${esc(p.reason)}</div>`);
      for (const p of res.inputProblems ?? []) lines.push(`<div style="color:#c00">${esc(p)}</div>`);
      for (const s of res.steps ?? []) {
        lines.push(`<div><b>${esc(s.inspectionId)}</b>: <span class="dr-verdict">${esc(s.verdict.result)}</span></div>`);
        for (const m of s.verdict.matched) lines.push(`<div style="margin-left:12px">${m.fired ? '<i class="fa fa-bolt"></i> fires' : 'matches'} <b>${esc(m.ruleId)}</b>: ${esc(m.why)}</div>`);
        for (const a of s.actions) lines.push(`<div style="margin-left:24px"><code>${esc(a.kind)}</code> writes ${esc(a.writes.map((w: any) => `${w.tag}=${JSON.stringify(w.value)}`).join(', ') || 'nothing')}</div>`);
      }
      for (const a of res.resets ?? []) lines.push(`<div><i class="fa fa-undo"></i> hold of <b>${esc(a.ruleId)}</b> ends: writes ${esc(a.writes.map((w: any) => `${w.tag}=${JSON.stringify(w.value)}`).join(', '))}</div>`);
      $out.html(lines.join('') || 'nothing to show');
    } catch (err) {
      $out.text(`try failed: ${(err as Error).message}`);
    }
  }
}

const editors = new WeakMap<object, RuleEditor>();

// The node is registered by the generated editor (defect-rule.editor.ts, defaults from the schema);
// its edit hooks reach the rule editor through this global, inlined in front of it.
(globalThis as unknown as Record<string, unknown>).LinesightDefectRule = {
  prepare(node: object) {
    const ed = new RuleEditor(node);
    editors.set(node, ed);
    ed.prepare();
  },
  save(node: object) {
    editors.get(node)?.save();
  },
};
