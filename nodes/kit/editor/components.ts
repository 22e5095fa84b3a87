// Form rows that several nodes share: written once, so a broker picker or a TLS block reads the same
// (and is translated once, in the kit catalog) wherever it appears.
import type { CustomRow, Field, FieldRow } from './form';

/** The name row every node starts with. */
export const nameRow: Field = { prop: 'name', icon: 'tag' };

/** A config-node picker (broker, PLC, database): Node-RED turns the input into a select with an edit button. */
export const configPicker = (prop: string, icon: string): Field => ({ prop, icon });

/** User and password, kept in Node-RED's credentials. */
export function credentialRows(group?: string, props: { user: string; password: string } = { user: 'user', password: 'password' }): FieldRow[] {
  return [
    { fields: [{ prop: props.user, icon: 'user' }], group },
    { fields: [{ prop: props.password, icon: 'lock' }], group },
  ];
}

/** File paths of a TLS set-up, one row each, in the order given (e.g. CA, certificate, key). */
export function tlsFileRows(props: string[], group?: string): FieldRow[] {
  return props.map((prop) => ({ fields: [{ prop, icon: 'certificate' }], group }));
}

/**
 * A table edited as an editable list (PLC tags, custom-table columns): a header row saying what the
 * columns are, then the list; the node's script fills and reads it. `rowClass` marks the list's row
 * so resize code can leave it out of the fixed height.
 */
export function tableRows(type: string, list: string, icon: string, rowClass: string, group?: string): CustomRow[] {
  return [
    { html: `<label><i class="fa fa-${icon}"></i> <span data-i18n="${type}.label.${list}"></span></label><span style="font-size:smaller" data-i18n="${type}.label.${list}Columns"></span>`, group },
    { html: `<ol id="{prefix}${list}-list"></ol>`, group, rowClass },
  ];
}
