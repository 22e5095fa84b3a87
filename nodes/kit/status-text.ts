// Status texts a person can read under a node: never cut mid-word, and an address said once. Errors
// arrive wrapped by several layers that each name the target ("127.0.0.1:502: connect ECONNREFUSED
// 127.0.0.1:502"), and a status line has room for about forty characters.

/** The longest status text the kit shows; Node-RED's editor shows a status on one line under the node. */
export const STATUS_MAX = 64;

// host:port (IPv4, [IPv6] or a name with a dot), or a URL; what layers of error messages repeat.
const ADDRESS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s,;]+|\[[0-9a-f:]+\]:\d+|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+:\d+/gi;

/**
 * Drops every repetition of an address after its first mention, with the ": " or space that joined it:
 * "127.0.0.1:23599: 127.0.0.1:23599: connection refused" -> "127.0.0.1:23599: connection refused".
 */
export function dropRepeatedAddress(text: string): string {
  const seen = new Set<string>();
  let out = '';
  let last = 0;
  for (const m of text.matchAll(ADDRESS)) {
    const at = m.index ?? 0;
    const address = m[0];
    if (!seen.has(address)) {
      seen.add(address);
      continue;
    }
    let before = text.slice(last, at);
    let end = at + address.length;
    // "X: X: reason" -> drop the second "X: "; "reason X" at the end -> drop " X".
    if (text.startsWith(': ', end)) end += 2;
    else before = before.replace(/[\s:]+$/, (sep) => (text.slice(end).trim() ? sep : ''));
    out += before;
    last = end;
  }
  out += text.slice(last);
  return out.replace(/\s{2,}/g, ' ').replace(/[\s:,]+$/, '');
}

/**
 * Shortens to at most `max` characters at a word boundary with an ellipsis; a single word longer than
 * `max` (a path, a token) is the only thing ever cut inside.
 */
export function shortenAtWord(text: string, max = STATUS_MAX): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  if (/\s/.test(text[max - 1])) return `${room.replace(/[\s:,;(-]+$/, '')}…`;
  // The last boundary: a space, or the ": " / ", " that joins the parts of a message.
  const cut = room.search(/[\s:,;(]*\s\S*$/);
  const head = (cut > max / 3 ? room.slice(0, cut) : room).replace(/[\s:,;(-]+$/, '');
  return `${head}…`;
}

/** The one status text rule: the address once, whole words, at most `max` characters. */
export function statusText(text: string, max = STATUS_MAX): string {
  return shortenAtWord(dropRepeatedAddress(text), max);
}
