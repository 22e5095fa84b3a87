// Keeps credentials out of log lines and status texts: the password in a URL's userinfo
// (`mqtt://user:password@host`), secret query parameters (`?token=…`, `?password=…`) and `password=…`
// pairs in free text. One helper for nodes, runtimes, the agent, the repository and the CLI.

/** Query parameter (and `key=value`) names whose values are secrets. */
const SECRET_NAME = /(pass|pwd|token|secret|key|auth|sig|credential|cookie|session)/i;

/** A URL with a scheme and an authority, up to the next whitespace or quote. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** `password=…`-style pairs outside URLs (libpq keyword strings, shell-ish messages). */
const SECRET_PAIR = /\b(password|passwd|pwd|token|secret|access_token|api_?key|sslpassword)(\s*=\s*)("[^"]*"|'[^']*'|[^\s&;,)"']+)/gi;

export const REDACTED = '***';

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // An undecodable name is judged as written.
      }
      return SECRET_NAME.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
}

/** Redacts the rest of a URL after its `scheme://`. */
function redactAfterScheme(rest: string): string {
  // The authority ends at the first "/", "?" or "#", as URL parsers read it; the userinfo is everything
  // before its last "@" (a password with an unencoded "@" is still hidden whole).
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let tail = end < 0 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  let safeAuthority = authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    // The user name stays (it names the device or account, which helps diagnosis); the password goes.
    safeAuthority = `${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:${REDACTED}`}@${authority.slice(at + 1)}`;
  }
  const q = tail.indexOf('?');
  if (q >= 0) {
    const hash = tail.indexOf('#', q);
    const query = hash < 0 ? tail.slice(q + 1) : tail.slice(q + 1, hash);
    tail = `${tail.slice(0, q + 1)}${redactQuery(query)}${hash < 0 ? '' : tail.slice(hash)}`;
  }
  return safeAuthority + tail;
}

/**
 * One URL made safe to print: `mqtt://line-1:s3cret@broker:1883/?token=abc` becomes
 * `mqtt://line-1:***@broker:1883/?token=***`. Anything that is not a URL is returned as `redactText` leaves it.
 */
export function redactUrl(url: string | undefined | null): string {
  if (url === undefined || url === null) return '';
  return redactText(String(url));
}

/** Redacts every URL and every `password=…`-style pair inside a free text (an error message, a log line). */
export function redactText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (_m, scheme: string, rest: string) => scheme + redactAfterScheme(rest))
    .replace(SECRET_PAIR, (m, name: string, eq: string, value: string) => (value.startsWith(REDACTED) ? m : `${name}${eq}${REDACTED}`));
}

export interface UrlCredentials {
  /** The URL without its userinfo, safe to log and to hand to a client with the credentials beside it. */
  url: string;
  username?: string;
  password?: string;
}

/**
 * Takes the user name and password out of a URL's userinfo (percent-decoded), so a client gets them as
 * options and the URL that is kept around and logged has none.
 */
export function splitUrlCredentials(url: string): UrlCredentials {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!m) return { url };
  const [, scheme, authority, tail] = m;
  const at = authority.lastIndexOf('@');
  if (at < 0) return { url };
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? undefined : decode(userinfo.slice(colon + 1));
  return { url: `${scheme}${authority.slice(at + 1)}${tail}`, ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}
