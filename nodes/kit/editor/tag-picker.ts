// The tags of the plc-endpoint a plc-read or plc-write uses, for its edit form: a select that adds a tag
// to a comma-separated list (plc-read), a line naming the writable ones (plc-write), and the check that a
// listed tag is in the endpoint's table. Reads the editor's config node, so it follows unsaved edits.
import { editorGlobals } from './red';

export interface EndpointTag {
  name: string;
  writable: boolean;
}

/** The tag table of a plc-endpoint config node in the editor; undefined when there is no such node or table. */
export function endpointTags(endpointId: unknown): EndpointTag[] | undefined {
  if (typeof endpointId !== 'string' || !endpointId || endpointId === '_ADD_') return undefined;
  const { RED } = editorGlobals();
  const ep = typeof RED.nodes.node === 'function' ? RED.nodes.node(endpointId) : undefined;
  if (!ep || !Array.isArray(ep.tags)) return undefined;
  return (ep.tags as Array<{ name?: unknown; writable?: unknown }>).filter((t) => typeof t?.name === 'string' && t.name).map((t) => ({ name: t.name as string, writable: t.writable === true }));
}

/** Names in a comma-separated list that the table lacks; empty when the table is unknown. */
export function unknownTags(list: unknown, tags: EndpointTag[] | undefined): string[] {
  if (!tags || typeof list !== 'string') return [];
  const names = new Set(tags.map((t) => t.name));
  return list.split(',').map((s) => s.trim()).filter((s) => s && !s.includes('${') && !names.has(s));
}

/**
 * Beside a comma-separated tag input: a select listing the endpoint's tags; picking one appends it.
 * Refilled when the endpoint picker changes.
 */
export function attachTagPicker(input: string, endpointSelect: string, only?: (t: EndpointTag) => boolean): void {
  const { $ } = editorGlobals();
  const picker = $('<select class="ls-tag-picker" style="width:auto; margin-left:4px"></select>');
  picker.appendTo($(input).parent());
  // Room for the picker on the input's row.
  $(input).css('width', 'calc(70% - 90px)');
  const fill = () => {
    const tags = (endpointTags($(endpointSelect).val()) ?? []).filter((t) => !only || only(t));
    picker.empty();
    picker.append($('<option value="">+ tag</option>'));
    for (const t of tags) picker.append($('<option></option>').val(t.name).text(t.name));
    picker.toggle(tags.length > 0);
  };
  picker.on('change', () => {
    const pick = picker.val();
    if (!pick) return;
    const current = $(input).val().split(',').map((s) => s.trim()).filter(Boolean);
    if (!current.includes(pick)) current.push(pick);
    $(input).val(current.join(', ')).trigger('change');
    picker.val('');
  });
  $(endpointSelect).on('change', fill);
  fill();
}

/** A line under the endpoint picker naming the tags a message may write, refilled when it changes. */
export function attachWritableHint(endpointSelect: string): void {
  const { $ } = editorGlobals();
  // A row of its own under the endpoint picker, aligned with the inputs.
  const hint = $('<div class="form-tips ls-writable-tags" style="margin: -6px 0 12px 105px; max-width: 400px"></div>');
  hint.insertAfter($(endpointSelect).closest('.form-row'));
  const fill = () => {
    const tags = endpointTags($(endpointSelect).val());
    const writable = (tags ?? []).filter((t) => t.writable).map((t) => t.name);
    hint.text(tags ? (writable.length ? `Writable tags: ${writable.join(', ')}` : 'This endpoint has no writable tag.') : '');
    hint.toggle(!!tags);
  };
  $(endpointSelect).on('change', fill);
  fill();
}
