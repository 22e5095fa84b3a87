// MQTT topic filter matching (for routing one connection's messages to the nodes that subscribed).

/** The filter without a `$share/<group>/` prefix. */
export function stripShare(filter: string): string {
  const m = /^\$share\/[^/+#]+\/(.+)$/.exec(filter);
  return m ? m[1] : filter;
}

/** Checks a subscription filter; returns a reason when it is not valid, else undefined. */
export function filterProblem(filter: string): string | undefined {
  if (!filter) return 'is empty';
  if (filter.startsWith('$share/') && !/^\$share\/[^/+#]+\/.+$/.test(filter)) return 'must be $share/<group>/<filter>';
  const levels = stripShare(filter).split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return "uses # other than as the whole last level";
    if (l.includes('+') && l !== '+') return 'uses + other than as a whole level';
  }
  return undefined;
}

/** True when `topic` matches `filter` (MQTT 3.1.1 section 4.7 rules, including $-topics not matching wildcards). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = stripShare(filter).split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
