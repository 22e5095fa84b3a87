// Turns the node's topic setting into the subscription filters (with the shared-subscription group applied),
// and reads {site}/{line} back out of a topic with the sender's topic template.
import { filterProblem } from '../cloud-broker';
import { LinesightError } from '../../contracts/errors';

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

/** A function that reads the template's {variables} out of a topic, or undefined when the topic does not fit. */
export function topicReader(template: string): (topic: string) => Record<string, string> | undefined {
  const levels = template.split('/');
  return (topic) => {
    const t = topic.split('/');
    if (t.length !== levels.length) return undefined;
    const out: Record<string, string> = {};
    for (let i = 0; i < levels.length; i++) {
      const m = /^\{(\w+)\}$/.exec(levels[i]);
      if (m) out[m[1]] = t[i];
      else if (levels[i] !== t[i]) return undefined;
    }
    return out;
  };
}
