// Turns the node's topic setting into the subscription filters, with the shared-subscription group applied.
import { filterProblem } from '../cloud-broker/topic-filter';
import { LinesightError } from '../shared/node-kit';

export function parseFilters(topics: string, shareGroup?: string): string[] {
  const list = topics.split(/[\n,]/).map((t) => t.trim()).filter(Boolean);
  if (list.length === 0) throw new LinesightError('topics: give at least one topic filter', { field: 'topics' });
  return list.map((f) => {
    const full = shareGroup && !f.startsWith('$share/') ? `$share/${shareGroup}/${f}` : f;
    const bad = filterProblem(full);
    if (bad) throw new LinesightError(`topics: filter "${f}" ${bad}`, { field: 'topics' });
    return full;
  });
}
