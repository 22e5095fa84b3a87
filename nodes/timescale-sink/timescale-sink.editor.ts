// The timescale-sink edit form; defaults and checks come from TimescaleSinkConfig. The custom-table
// columns are an editable list this module fills and reads back.
import { configPicker, nameRow, tableRows } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { editorGlobals, showGroupsBy, type JQueryLike } from '../kit/editor/red';
import type { TimescaleSinkColumn } from './timescale-sink.schema';

const COLUMN_TYPES = ['timestamptz', 'text', 'integer', 'bigint', 'double precision', 'boolean', 'jsonb', 'bytea'];
const custom = { group: 'ls-custom' };

export const editor: NodeEditor = {
  type: 'timescale-sink',
  category: 'Linesight',
  color: '#8fc1e3',
  inputs: 1,
  outputs: 0,
  icon: 'db.svg',
  align: 'right',
  paletteLabel: 'timescale sink',
  label() {
    return (this.name as string) || (this.target === 'custom' ? `sink ${(this.table as string) || '?'}` : 'timescale sink');
  },
  rows: [
    nameRow,
    configPicker('db', 'database'),
    { prop: 'target', icon: 'table' },
    { fields: [{ prop: 'images', icon: 'picture-o', options: ['database', 'path', 'none'] }], group: 'ls-contracts' },
    { fields: [{ prop: 'imageDir', icon: 'folder' }], group: 'ls-imagedir' },
    { fields: [{ prop: 'table', icon: 'table' }], ...custom },
    ...tableRows('timescale-sink', 'columns', 'columns', 'node-input-columns-container-row', custom.group),
    { fields: [{ prop: 'timeColumn', icon: 'clock-o' }], ...custom },
    { fields: [{ prop: 'keyColumns', icon: 'key' }], ...custom },
    { prop: 'createTables', icon: 'wrench' },
    { prop: 'timescale', icon: 'clock-o' },
    { prop: 'partitionDaysAhead', width: '60px' },
    { fields: [{ prop: 'compressAfterDays', width: '60px' }, { prop: 'retainDays', width: '60px' }] },
    { fields: [{ prop: 'imageRetainDays', icon: 'picture-o', width: '60px' }, { prop: 'imageVariantRetainDays', width: '60px' }] },
    { fields: [{ prop: 'batchSize', icon: 'cubes', width: '70px' }, { prop: 'batchAgeMs', width: '60px' }, { prop: 'maxInFlight', width: '40px' }] },
    { prop: 'method', icon: 'bolt' },
    { fields: [{ prop: 'maxMemoryRows', icon: 'hdd-o', width: '80px' }, { prop: 'spool' }, { prop: 'spoolMaxMB', width: '60px' }] },
    'spoolFile',
    { prop: 'closeGraceMs', width: '70px' },
  ],
  crossChecks: {
    // The schema cannot say "required when the target is custom".
    table(value) {
      return this.target !== 'custom' || value !== '';
    },
  },
  oneditprepare() {
    const { $ } = editorGlobals();
    const list = $('#node-input-columns-list').css('min-height', '200px').editableList({
      addItem(row: JQueryLike, _index: number, column: Partial<TimescaleSinkColumn>) {
        $('<input type="text" class="ls-col" placeholder="column" style="width: 28%">').val(column.column ?? '').appendTo(row);
        $('<input type="text" class="ls-field" placeholder="payload.value" style="width: 38%; margin-left: 4px">').val(column.field ?? '').appendTo(row);
        const type = $('<select class="ls-type" style="width: 28%; margin-left: 4px">').appendTo(row);
        for (const t of COLUMN_TYPES) $('<option>').val(t).text(t).appendTo(type);
        type.val(column.type ?? 'text');
      },
      removable: true,
      sortable: true,
    });
    for (const column of (this.columns as TimescaleSinkColumn[] | undefined) ?? []) list.editableList('addItem', column);
    showGroupsBy('#node-input-target', { '.ls-custom': (t) => t === 'custom', '.ls-contracts': (t) => t !== 'custom' });
    showGroupsBy('#node-input-images', { '.ls-imagedir': (images) => images === 'path' && $('#node-input-target').val() !== 'custom' });
  },
  oneditsave() {
    const { $ } = editorGlobals();
    const columns: Array<{ column: string; field: string; type: string }> = [];
    $('#node-input-columns-list').editableList('items').each(function (this: unknown) {
      const row = $(this);
      const column = { column: row.find('.ls-col').val().trim(), field: row.find('.ls-field').val().trim(), type: row.find('.ls-type').val() };
      if (column.column || column.field) columns.push(column);
    });
    this.columns = columns;
  },
};
