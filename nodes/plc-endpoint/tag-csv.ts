// The CSV import format of the tag table, shared by the runtime and the editor (bundled into the HTML).
import type { PlcTagConfig } from './plc-endpoint.schema';

const CSV_COLUMNS = ['name', 'address', 'type', 'order', 'length', 'scale', 'offset', 'unit', 'deadband', 'writable', 'min', 'max'] as const;

/**
 * Parses the CSV import format: a header row naming any of the columns
 * name,address,type,order,length,scale,offset,unit,deadband,writable,min,max (name and address required),
 * then one tag per row. Quoted fields ("a,b") are allowed. Errors name the line.
 */
export function parseTagCsv(text: string): PlcTagConfig[] {
  const lines = splitCsv(text).filter((r) => r.some((c) => c.trim() !== ''));
  if (lines.length === 0) return [];
  const header = lines[0].map((h) => h.trim().toLowerCase());
  for (const h of header) if (!(CSV_COLUMNS as readonly string[]).includes(h)) throw new Error(`CSV header: unknown column "${h}" (known: ${CSV_COLUMNS.join(', ')})`);
  if (!header.includes('name') || !header.includes('address')) throw new Error('CSV header: needs at least the columns name and address');
  return lines.slice(1).map((cells, i) => {
    const row: Record<string, unknown> = {};
    header.forEach((h, j) => {
      const v = (cells[j] ?? '').trim();
      if (v === '') return;
      if (['length', 'scale', 'offset', 'deadband', 'min', 'max'].includes(h)) {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Error(`CSV line ${i + 2}: ${h} "${v}" is not a number`);
        row[h] = n;
      } else if (h === 'writable') {
        if (!/^(true|false|yes|no|1|0|y|n)$/i.test(v)) throw new Error(`CSV line ${i + 2}: writable "${v}" is not true/false`);
        row[h] = /^(true|yes|1|y)$/i.test(v);
      } else if (h === 'type' || h === 'order') {
        row[h] = h === 'order' ? v.toUpperCase() : v.toLowerCase();
      } else row[h] = v;
    });
    return row as unknown as PlcTagConfig;
  });
}

function splitCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
