// The plc-endpoint config form; defaults and checks come from PlcEndpointConfig. The tag table is an
// editable list this module fills and reads back; CSV import and the Modbus address check use the
// same parsers the runtime uses (bundled into the editor).
import { credentialRows, nameRow, tableRows } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { editorGlobals, showGroupsBy, type JQueryLike } from '../kit/editor/red';
import { parseModbusAddress } from './modbus-address';
import type { PlcTagConfig } from './plc-endpoint.schema';
import { parseTagCsv } from './tag-csv';

const TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float32', 'float64', 'string'];
const ORDERS = ['ABCD', 'BADC', 'CDAB', 'DCBA'];
const NUMBER_FIELDS = ['length', 'scale', 'offset', 'deadband', 'min', 'max'] as const;
const opcua = 'ls-plc-opcua';

function addTagRow(container: JQueryLike, tag: Partial<PlcTagConfig>): void {
  const { $ } = editorGlobals();
  const row = $('<div class="ls-plc-tag" style="display:flex;gap:4px;align-items:center;flex-wrap:nowrap"></div>').appendTo(container);
  const numberInput = (field: string, width: string, value: unknown, extra = '') =>
    $(`<input type="number" class="t-${field}" placeholder="${field}" style="width:${width}" step="any"${extra}>`).val(value ?? '').appendTo(row);
  $('<input type="text" class="t-name" placeholder="name" style="width:110px">').val(tag.name ?? '').appendTo(row);
  $('<input type="text" class="t-address" placeholder="hr:0 / 40001 / ns=2;s=X" style="width:130px">').val(tag.address ?? '').appendTo(row);
  const type = $('<select class="t-type" style="width:80px"><option value="">(auto)</option></select>').appendTo(row);
  for (const t of TYPES) $('<option>').val(t).text(t).appendTo(type);
  type.val(tag.type ?? '');
  const order = $('<select class="t-order" style="width:70px"></select>').appendTo(row);
  for (const o of ORDERS) $('<option>').val(o).text(o).appendTo(order);
  order.val(tag.order ?? 'ABCD');
  numberInput('length', '50px', tag.length);
  numberInput('scale', '55px', tag.scale ?? 1);
  numberInput('offset', '55px', tag.offset ?? 0);
  $('<input type="text" class="t-unit" placeholder="unit" style="width:50px">').val(tag.unit ?? '').appendTo(row);
  numberInput('deadband', '60px', tag.deadband ?? 0, ' min="0"');
  $('<label style="width:auto;margin:0"><input type="checkbox" class="t-writable" style="width:auto;margin:0 2px"> w</label>').appendTo(row).find('input').prop('checked', !!tag.writable);
  numberInput('min', '55px', tag.min);
  numberInput('max', '55px', tag.max);
}

function readTagRow(row: JQueryLike): Record<string, unknown> {
  const tag: Record<string, unknown> = { name: row.find('.t-name').val().trim(), address: row.find('.t-address').val().trim() };
  if (row.find('.t-type').val()) tag.type = row.find('.t-type').val();
  tag.order = row.find('.t-order').val();
  for (const field of NUMBER_FIELDS) {
    const text = row.find(`.t-${field}`).val();
    if (text !== '' && text != null) tag[field] = Number(text);
  }
  if (row.find('.t-unit').val()) tag.unit = row.find('.t-unit').val();
  tag.writable = row.find('.t-writable').prop('checked');
  return tag;
}

function modbusAddressProblem(address: string): string | null {
  try {
    parseModbusAddress(address);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export const editor: NodeEditor = {
  type: 'plc-endpoint',
  category: 'config',
  credentials: { user: { type: 'text' }, password: { type: 'password' } },
  label() {
    if (this.name) return this.name as string;
    if (this.protocol === 'opcua') return this.endpointUrl as string;
    if (this.protocol === 'modbus-rtu') return `${(this.serialPath as string) || 'serial'} #${this.unitId as number}`;
    return `modbus ${this.host as string}:${this.port as number}`;
  },
  rows: [
    nameRow,
    { prop: 'protocol', icon: 'plug', options: ['modbus-tcp', 'modbus-rtu', 'opcua'] },
    { fields: [{ prop: 'host', width: '45%' }, { prop: 'port', width: '70px' }], group: 'ls-plc-tcp' },
    { fields: [{ prop: 'maxInFlight', width: '60px' }], group: 'ls-plc-tcp' },
    { fields: ['serialPath'], group: 'ls-plc-rtu' },
    { fields: [{ prop: 'baudRate', width: '80px' }, { prop: 'parity', width: '80px', options: ['none', 'even', 'odd'] }, { prop: 'dataBits', width: '40px' }, { prop: 'stopBits', width: '40px' }], group: 'ls-plc-rtu' },
    { fields: [{ prop: 'unitId', width: '60px' }], group: 'ls-plc-modbus' },
    { fields: ['endpointUrl'], group: opcua },
    { fields: [{ prop: 'securityMode', width: '35%', options: ['None', 'Sign', 'SignAndEncrypt'] }, { prop: 'securityPolicy', width: '35%', options: ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] }], group: opcua },
    { fields: ['pkiDir'], group: opcua },
    { fields: ['trustNewServers'], group: opcua, checkboxFirst: true },
    { fields: [{ prop: 'auth', options: ['anonymous', 'username', 'certificate'] }], group: opcua },
    ...credentialRows(`${opcua} ls-plc-user`),
    { fields: ['certificateFile'], group: `${opcua} ls-plc-cert` },
    { fields: ['privateKeyFile'], group: `${opcua} ls-plc-cert` },
    { fields: [{ prop: 'timeoutMs', width: '70px' }, { prop: 'reconnectMinMs', width: '60px' }, { prop: 'reconnectMaxMs', width: '70px' }] },
    ...tableRows('plc-endpoint', 'tag', 'table', 'node-input-tag-list-row'),
    {
      html: '<label data-i18n="plc-endpoint.label.csv"></label>'
        + '<textarea id="ls-plc-csv" rows="3" style="width:70%;font-family:monospace" placeholder="name,address,type,order,scale,unit,writable&#10;LineSpeed,hr:0,float32,ABCD,1,m/min,false"></textarea>'
        + '<button type="button" class="red-ui-button" id="ls-plc-csv-import" data-i18n="plc-endpoint.label.csvImport"></button>'
        + '<span id="ls-plc-csv-result"></span>',
    },
  ],
  oneditprepare() {
    const { $ } = editorGlobals();
    showGroupsBy('#node-config-input-protocol', {
      '.ls-plc-tcp': (p) => p === 'modbus-tcp',
      '.ls-plc-rtu': (p) => p === 'modbus-rtu',
      '.ls-plc-modbus': (p) => p !== 'opcua',
      '.ls-plc-opcua': (p) => p === 'opcua',
    });
    showGroupsBy('#node-config-input-auth', { '.ls-plc-user': (a) => a === 'username', '.ls-plc-cert': (a) => a === 'certificate' });
    const list = $('#node-config-input-tag-list').css('min-height', '150px').css('min-width', '900px').editableList({
      addItem: (container: JQueryLike, _index: number, tag?: Partial<PlcTagConfig>) => addTagRow(container, tag ?? {}),
      removable: true,
      sortable: true,
      scrollOnAdd: true,
    });
    for (const tag of (this.tags as PlcTagConfig[] | undefined) ?? []) list.editableList('addItem', tag);
    const translate = this._.bind(this);
    $('#ls-plc-csv-import').on('click', () => {
      try {
        const rows = parseTagCsv($('#ls-plc-csv').val());
        for (const tag of rows) list.editableList('addItem', tag);
        $('#ls-plc-csv-result').text(translate('plc-endpoint.csvImported', { count: rows.length })).css('color', '');
      } catch (err) {
        $('#ls-plc-csv-result').text((err as Error).message).css('color', 'red');
      }
    });
  },
  oneditsave() {
    const { $, RED } = editorGlobals();
    const tags: Array<Record<string, unknown>> = [];
    const protocol = $('#node-config-input-protocol').val();
    $('#node-config-input-tag-list').editableList('items').each(function (this: unknown) {
      const tag = readTagRow($(this));
      if (!tag.name && !tag.address) return;
      const problem = protocol !== 'opcua' ? modbusAddressProblem(tag.address as string) : null;
      if (problem) RED.notify(`tag "${tag.name as string}": ${problem}`, 'warning');
      tags.push(tag);
    });
    this.tags = tags;
  },
  oneditresize(size) {
    const { $ } = editorGlobals();
    let height = size.height;
    $('#dialog-form>div:not(.node-input-tag-list-row)').each(function (this: unknown) {
      height -= $(this).outerHeight(true);
    });
    $('#node-config-input-tag-list').editableList('height', Math.max(150, height - 40));
  },
};
