// An OpenAPI-driven fuzzer for the repository: reads the served OpenAPI document and, for every operation,
// sends requests generated from its own schemas, valid and mutated (wrong types, NUL, lone surrogates, huge
// integers, long strings, deep nesting, missing and extra fields, bad path and query parameters, bodies that
// are not JSON), with an admin token, a device token, a wrong token and none. Seeded: the same seed sends
// the same requests in the same order. Written without a fuzzing library (none is a dependency here).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };
interface Operation {
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---- strings matching a pattern -----------------------------------------------------------------------

type Rx = { kind: 'seq'; items: Rx[] } | { kind: 'alt'; options: Rx[] } | { kind: 'set'; chars: string } | { kind: 'lit'; ch: string } | { kind: 'rep'; item: Rx; min: number; max: number };

const DIGITS = '0123456789';
const WORD = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';

/** Parses the regular-expression subset the API's patterns use: classes, groups, alternation, quantifiers. */
function parsePattern(src: string): Rx {
  let i = 0;
  const escape = (): Rx => {
    const c = src[i++]!;
    if (c === 'd') return { kind: 'set', chars: DIGITS };
    if (c === 'w') return { kind: 'set', chars: WORD };
    if (c === 's') return { kind: 'set', chars: ' ' };
    return { kind: 'lit', ch: c };
  };
  const klass = (): Rx => {
    let negate = false;
    if (src[i] === '^') {
      negate = true;
      i++;
    }
    let chars = '';
    while (i < src.length && src[i] !== ']') {
      let c = src[i++]!;
      if (c === '\\') {
        const e = escape();
        chars += e.kind === 'set' ? e.chars : (e as { ch: string }).ch;
        continue;
      }
      if (src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
        const end = src[i + 1]!;
        i += 2;
        for (let code = c.charCodeAt(0); code <= end.charCodeAt(0); code++) chars += String.fromCharCode(code);
        continue;
      }
      chars += c;
      c = '';
    }
    i++; // ]
    if (negate) chars = WORD.split('').filter((ch) => !chars.includes(ch)).join('') || 'x';
    return { kind: 'set', chars };
  };
  const atom = (): Rx | undefined => {
    const c = src[i];
    if (c === undefined || c === '|' || c === ')') return undefined;
    i++;
    if (c === '^' || c === '$') return { kind: 'seq', items: [] };
    if (c === '\\') return escape();
    if (c === '[') return klass();
    if (c === '.') return { kind: 'set', chars: WORD };
    if (c === '(') {
      if (src.startsWith('?:', i)) i += 2;
      const inner = alternation();
      i++; // )
      return inner;
    }
    return { kind: 'lit', ch: c };
  };
  const quantified = (): Rx | undefined => {
    const a = atom();
    if (!a) return undefined;
    const q = src[i];
    if (q === '?') return i++, { kind: 'rep', item: a, min: 0, max: 1 };
    if (q === '*') return i++, { kind: 'rep', item: a, min: 0, max: 4 };
    if (q === '+') return i++, { kind: 'rep', item: a, min: 1, max: 4 };
    if (q === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (m) {
        i += m[0].length;
        const min = Number(m[1]);
        const max = m[2] ? (m[3] ? Number(m[3]) : min + 4) : min;
        return { kind: 'rep', item: a, min, max };
      }
    }
    return a;
  };
  const sequence = (): Rx => {
    const items: Rx[] = [];
    for (let q = quantified(); q; q = quantified()) items.push(q);
    return { kind: 'seq', items };
  };
  function alternation(): Rx {
    const options = [sequence()];
    while (src[i] === '|') {
      i++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }
  return alternation();
}

function render(rx: Rx, rnd: Random, maxRep: number): string {
  switch (rx.kind) {
    case 'seq':
      return rx.items.map((x) => render(x, rnd, maxRep)).join('');
    case 'alt':
      return render(rnd.pick(rx.options), rnd, maxRep);
    case 'set':
      return rnd.pick(rx.chars.split(''));
    case 'lit':
      return rx.ch;
    case 'rep': {
      const n = rnd.int(rx.min, Math.max(rx.min, Math.min(rx.max, rx.min + maxRep)));
      let out = '';
      for (let k = 0; k < n; k++) out += render(rx.item, rnd, maxRep);
      return out;
    }
  }
}

/** A string matching `pattern` (the subset above), short: repetitions are capped. */
export function stringMatching(pattern: string, rnd: Random): string {
  const rx = parsePattern(pattern);
  const re = new RegExp(pattern, 'u');
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = render(rx, rnd, 8);
    if (re.test(s)) return s;
  }
  return render(rx, rnd, 8);
}

// ---- values from schemas --------------------------------------------------------------------------------

export interface GenContext {
  doc: Doc;
  rnd: Random;
  /** Good values by property name (an existing template slug, the device's own id), used 4 times in 5. */
  hints: Record<string, (rnd: Random) => Json>;
}

function resolve(schema: Schema | undefined, doc: Doc): Schema {
  let s = schema ?? {};
  for (let n = 0; typeof s.$ref === 'string' && n < 20; n++) {
    const name = decodeURIComponent((s.$ref as string).replace('#/components/schemas/', ''));
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

function anyJson(rnd: Random, depth = 0): Json {
  const k = rnd.int(0, depth > 2 ? 3 : 5);
  if (k === 0) return null;
  if (k === 1) return rnd.chance(0.5);
  if (k === 2) return rnd.int(-1000, 1000);
  if (k === 3) return rnd.pick(['a', 'value', 'A-1', 'x y']);
  if (k === 4) return Array.from({ length: rnd.int(0, 3) }, () => anyJson(rnd, depth + 1));
  return Object.fromEntries(Array.from({ length: rnd.int(0, 3) }, (_, n) => [`k${n}`, anyJson(rnd, depth + 1)]));
}

/** A value valid for `schema` (as far as this generator knows; the server is the judge). */
export function valueFor(schemaIn: Schema | undefined, ctx: GenContext, name?: string, depth = 0): Json {
  const { rnd } = ctx;
  if (name && ctx.hints[name] && rnd.chance(0.8)) return ctx.hints[name]!(rnd);
  const schema = resolve(schemaIn, ctx.doc);
  if (Array.isArray(schema.enum)) return rnd.pick(schema.enum as Json[]);
  if ('const' in schema) return schema.const as Json;
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (branches?.length) return valueFor(rnd.pick(branches), ctx, undefined, depth);
  let type = schema.type as string | string[] | undefined;
  if (Array.isArray(type)) type = rnd.pick(type);
  if (!type) type = schema.properties || schema.additionalProperties ? 'object' : undefined;
  switch (type) {
    case undefined:
      return anyJson(rnd, depth);
    case 'null':
      return null;
    case 'boolean':
      return rnd.chance(0.5);
    case 'integer':
    case 'number': {
      const lo = typeof schema.minimum === 'number' ? schema.minimum : -1000;
      const hi = typeof schema.maximum === 'number' ? schema.maximum : 1000;
      const n = rnd.int(Math.max(lo, -1e6), Math.min(hi, lo + 1e6));
      return type === 'number' && rnd.chance(0.3) ? Math.min(hi, n + 0.5) : n;
    }
    case 'string': {
      if (typeof schema.pattern === 'string') return stringMatching(schema.pattern, rnd);
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : 24;
      const len = rnd.int(min, Math.max(min, Math.min(max, min + 16)));
      return Array.from({ length: len }, () => rnd.pick('abcdefghij KLMNOP-_.:0123'.split(''))).join('');
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : 3;
      return Array.from({ length: rnd.int(min, Math.max(min, Math.min(max, min + 3))) }, () => valueFor(schema.items as Schema, ctx, undefined, depth + 1));
    }
    case 'object': {
      const out: { [k: string]: Json } = {};
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      for (const [key, sub] of Object.entries(props)) if (required.has(key) || rnd.chance(0.5)) out[key] = valueFor(sub, ctx, key, depth + 1);
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object' && depth < 4) {
        const names = resolve(schema.propertyNames as Schema | undefined, ctx.doc);
        for (let n = rnd.int(0, 2); n > 0; n--) {
          const key = typeof names.pattern === 'string' ? stringMatching(names.pattern, rnd) : `key${rnd.int(0, 99)}`;
          out[key] = valueFor(extra as Schema, ctx, undefined, depth + 1);
        }
      }
      return out;
    }
    default:
      return anyJson(rnd, depth);
  }
}

// ---- mutations ------------------------------------------------------------------------------------------

/** Markers replaced in the JSON text after stringify, for what JSON.stringify cannot or should not write. */
const DEEP_ARRAY = '\u0001fuzz-deep-array\u0001';
const DEEP_OBJECT = '\u0001fuzz-deep-object\u0001';
const PROTO = '\u0001fuzz-proto\u0001';

function nasty(rnd: Random): { value: Json; what: string } {
  return rnd.pick<() => { value: Json; what: string }>([
    () => ({ value: 'a\u0000b', what: 'NUL in a string' }),
    () => ({ value: '\u0000', what: 'a lone NUL' }),
    () => ({ value: '\ud800', what: 'a lone high surrogate' }),
    () => ({ value: 'x\udc00y', what: 'a lone low surrogate' }),
    () => ({ value: 2 ** 31, what: 'int32 max + 1' }),
    () => ({ value: 2 ** 53 + 2, what: 'past 2^53' }),
    () => ({ value: -(2 ** 31) - 1, what: 'int32 min - 1' }),
    () => ({ value: 1e308, what: '1e308' }),
    () => ({ value: -1, what: '-1' }),
    () => ({ value: 0.5, what: 'a fraction' }),
    () => ({ value: '', what: 'an empty string' }),
    () => ({ value: 'x'.repeat(rnd.pick([300, 70_000, 1_100_000])), what: 'a long string' }),
    () => ({ value: '\ufeff\u202e\uffff😀', what: 'odd unicode' }),
    () => ({ value: DEEP_ARRAY, what: 'arrays nested 10,000 deep' }),
    () => ({ value: DEEP_OBJECT, what: 'objects nested 10,000 deep' }),
    () => ({ value: PROTO, what: 'a __proto__ key' }),
    () => ({ value: null, what: 'null' }),
    () => ({ value: true, what: 'a boolean' }),
    () => ({ value: 42, what: 'a number' }),
    () => ({ value: 'a string', what: 'a string' }),
    () => ({ value: [], what: 'an empty array' }),
    () => ({ value: [1, 'a', null], what: 'a mixed array' }),
    () => ({ value: {}, what: 'an empty object' }),
    () => ({ value: { a: { b: 1 } }, what: 'a nested object' }),
    () => ({ value: Array.from({ length: 5000 }, (_, n) => n), what: '5,000 items' }),
    () => ({ value: Object.fromEntries(Array.from({ length: 3000 }, (_, n) => [`k${n}`, 'v'])), what: '3,000 properties' }),
  ])();
}

/** Every place in `value` a mutation can hit: [] is the whole value. */
function placesIn(value: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (out.length > 200) return out;
  if (Array.isArray(value)) value.slice(0, 10).forEach((v, n) => placesIn(v, [...at, n], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) placesIn(v, [...at, k], out);
  return out;
}

function clone(value: Json): Json {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/** The value with one mutation, and what was done (for the failure report). */
export function mutate(valid: Json, rnd: Random): { value: Json; what: string } {
  const value = clone(valid);
  const places = placesIn(value);
  const place = rnd.pick(places);
  const label = place.length ? place.join('.') : 'the body';
  if (place.length === 0) {
    const n = nasty(rnd);
    return { value: n.value, what: `${label} replaced by ${n.what}` };
  }
  const parentPath = place.slice(0, -1);
  let parent: Json = value;
  for (const key of parentPath) parent = (parent as Record<string | number, Json>)[key]!;
  const key = place[place.length - 1]!;
  const container = parent as Record<string | number, Json>;
  const op = rnd.int(0, 9);
  if (op === 0 && !Array.isArray(parent)) {
    delete container[key];
    return { value, what: `${label} removed` };
  }
  if (op === 1 && !Array.isArray(parent)) {
    const extraKey = rnd.pick(['extra', 'a\u0000b', '\ud800', 'constructor', '', 'x'.repeat(5000)]);
    container[extraKey] = nasty(rnd).value;
    return { value, what: `extra field ${JSON.stringify(extraKey).slice(0, 40)} beside ${label}` };
  }
  const n = nasty(rnd);
  container[key] = n.value;
  return { value, what: `${label} replaced by ${n.what}` };
}

/** JSON text with the markers expanded. */
export function toJsonText(value: Json): string {
  return JSON.stringify(value)
    .replaceAll(JSON.stringify(DEEP_ARRAY), `${'['.repeat(10_000)}${']'.repeat(10_000)}`)
    .replaceAll(JSON.stringify(DEEP_OBJECT), `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)
    .replaceAll(JSON.stringify(PROTO), '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
}

// ---- requests -------------------------------------------------------------------------------------------

export interface FuzzTokens {
  admin: string;
  device: string;
  deviceId: string;
  /** A logged-in browser: its requests carry the cookie, mostly the right CSRF token, sometimes a foreign Origin. */
  session?: { cookie: string; csrfToken: string };
}

export interface FuzzOptions {
  url: string;
  tokens: FuzzTokens;
  seed: number;
  /** Stop starting new requests after this long. */
  budgetMs: number;
  /** Good path parameter values by operation path and name, e.g. `{ slug: () => 'line-inspection' }`. */
  pathValues: (path: string, name: string) => string;
  hints: Record<string, (rnd: Random) => Json>;
  /** Stop after this many failures (each is reported). */
  maxFailures?: number;
  /**
   * Requests in flight at once. Each request is the same for a seed whatever the concurrency; with more
   * than one, their interleaving (and so what the database holds when each arrives) is not.
   */
  concurrency?: number;
}

export interface FuzzRequest {
  n: number;
  method: string;
  path: string;
  token: string;
  contentType?: string;
  body?: string | Buffer;
  what: string;
}

export interface FuzzFailure {
  request: FuzzRequest;
  status: number;
  answer: string;
}

export interface FuzzResult {
  requests: number;
  byStatus: Record<string, number>;
  /** Operations exercised, `METHOD path`. */
  operations: string[];
  /** Answers by operation and status class, e.g. `{ "POST /api/v1/deployments": { "2xx": 3, "4xx": 90 } }`. */
  byOperation: Record<string, Record<string, number>>;
  failures: FuzzFailure[];
  /** Connections the server closed before answering (a big body it refused early): counted, not failures. */
  closedEarly: number;
}

const BAD_PATH_VALUES = ['%00', 'a%00b', '%ED%A0%80', '%', '%zz', 'x'.repeat(5000), '..', '%2e%2e', '%C3%BC', '%F0%9F%98%80', '-1', '99999999999999999999', '%20', '%2F', 'null', 'undefined', '__proto__', '1.0.0%2Bb1'];

/** Describes a request for a failure report: enough to send it again with curl. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : `<${r.body.length} bytes> ${r.body.subarray(0, 120).toString('hex')}`;
  const shown = body.length > 600 ? `${body.slice(0, 600)}… (${body.length} chars)` : body;
  return `#${r.n} ${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…` : r.path} token=${r.token}${r.contentType ? ` content-type=${r.contentType}` : ''} [${r.what}]${shown ? `\n      body: ${shown}` : ''}`;
}

type Op = { path: string; method: string; op: Operation };

/** Request number `n` of a run: generated from its own stream (seed, n), so it is the same whatever ran before it. */
export function buildRequest(n: number, seed: number, doc: Doc, ops: Op[], tokens: FuzzTokens, opts: Pick<FuzzOptions, 'pathValues' | 'hints'>): { request: FuzzRequest; headers: Record<string, string> } {
  const rnd = new Random((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(n + 1, 0xc2b2ae35)) >>> 0);
  const ctx: GenContext = { doc, rnd, hints: opts.hints };
  const { path, method, op } = ops[n % ops.length]!;
  const whats: string[] = [];
  const usesDevice = JSON.stringify(op.security ?? []).includes('deviceToken');
  const kinds = usesDevice ? ['admin', 'device', 'device', 'none', 'wrong'] : ['admin', 'admin', 'admin', 'device', 'none', 'wrong'];
  const tokenKind = rnd.pick(tokens.session ? [...kinds, 'session', 'session'] : kinds);
  const token = tokenKind === 'admin' ? tokens.admin : tokenKind === 'device' ? tokens.device : tokenKind === 'wrong' ? rnd.pick(['lsa_wrong', 'lsd_wrong', 'garbage', `lsa_${'x'.repeat(3000)}`]) : undefined;

  // Path and query parameters.
  let url = path;
  const query: string[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in === 'path') {
      let v = p.name === 'id' && tokenKind === 'device' && path.includes('/devices/') ? tokens.deviceId : opts.pathValues(path, p.name);
      if (rnd.chance(0.25)) {
        v = rnd.pick(BAD_PATH_VALUES);
        whats.push(`path ${p.name}=${v.slice(0, 30)}`);
      } else v = encodeURIComponent(v);
      url = url.replace(`{${p.name}}`, v);
    } else if (p.in === 'query' && rnd.chance(0.7)) {
      let v = String(valueFor(p.schema, ctx));
      if (rnd.chance(0.5)) {
        v = rnd.pick(['2147483648', '1e400', '-5', 'abc', '', '%00', '%ED%A0%80', 'x'.repeat(3000), '0x10', '1.5', 'NaN']);
        whats.push(`query ${p.name}=${v.slice(0, 20)}`);
      } else v = encodeURIComponent(v);
      query.push(`${p.name}=${v}`);
      if (rnd.chance(0.1)) query.push(`${p.name}=${v}`);
    }
  }
  if (query.length) url += `?${query.join('&')}`;

  // The body.
  let body: string | Buffer | undefined;
  let contentType: string | undefined;
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  if (bodySchema || (method !== 'GET' && rnd.chance(0.2))) {
    contentType = 'application/json';
    const valid = valueFor(bodySchema, ctx);
    const roll = rnd.next();
    if (roll < 0.3) {
      body = toJsonText(valid);
      whats.push('valid body');
    } else if (roll < 0.85) {
      const m = mutate(valid, rnd);
      body = toJsonText(m.value);
      whats.push(m.what);
    } else {
      const whole = rnd.pick<() => { body: string | Buffer; what: string; type?: string }>([
        () => ({ body: '{"a":', what: 'truncated JSON' }),
        () => ({ body: '', what: 'an empty body' }),
        () => ({ body: 'null', what: 'the body null' }),
        () => ({ body: '"text"', what: 'the body a string' }),
        () => ({ body: '[]', what: 'the body an array' }),
        () => ({ body: `${toJsonText(valid)} trailing`, what: 'trailing garbage' }),
        () => ({ body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x7d]), what: 'invalid UTF-8' }),
        () => ({ body: toJsonText(valid), what: 'text/plain', type: 'text/plain' }),
        () => ({ body: toJsonText(valid), what: 'a charset the server does not know', type: 'application/json; charset=klingon' }),
        () => ({ body: `{"pad":"${'x'.repeat(rnd.chance(0.1) ? 12 * 1024 * 1024 : 300 * 1024)}"}`, what: 'a big body' }),
      ])();
      body = whole.body;
      if (whole.type) contentType = whole.type;
      whats.push(whole.what);
    }
  }
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (tokenKind === 'session' && tokens.session) {
    headers.cookie = rnd.chance(0.9) ? tokens.session.cookie : rnd.pick(['ls_session=wrong', `ls_session=${'x'.repeat(5000)}`, 'ls_session=', 'other=1; ls_session']);
    const csrf = rnd.next();
    if (csrf < 0.8) headers['x-csrf-token'] = tokens.session.csrfToken;
    else if (csrf < 0.9) headers['x-csrf-token'] = rnd.pick(['wrong', '', 'x'.repeat(3000)]);
    if (rnd.chance(0.1)) headers.origin = rnd.pick(['https://evil.example', 'null', '']);
  }
  if (contentType) headers['content-type'] = contentType;
  if (path.endsWith('/desired') && rnd.chance(0.3)) headers['if-none-match'] = rnd.pick(['"x"', '*', 'W/"', 'x'.repeat(6000), '"a", "b", W/"c"']);
  return { request: { n, method, path: url, token: tokenKind, contentType, body, what: whats.join('; ') || 'no mutation' }, headers };
}

export async function fuzzRepository(opts: FuzzOptions): Promise<FuzzResult> {
  const doc = (await (await fetch(`${opts.url}/api/v1/openapi.json`)).json()) as Doc;
  const ops: Op[] = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
  const tokens = { ...opts.tokens };
  const result: FuzzResult = { requests: 0, byStatus: {}, byOperation: {}, operations: ops.map((o) => `${o.method} ${o.path}`), failures: [], closedEarly: 0 };
  const deadline = Date.now() + opts.budgetMs;
  const maxFailures = opts.maxFailures ?? 20;
  let next = 0;

  const worker = async () => {
    while (Date.now() < deadline && result.failures.length < maxFailures) {
      const n = next++;
      const { request, headers } = buildRequest(n, opts.seed, doc, ops, tokens, opts);
      const { body } = request;
      const op = ops[n % ops.length]!;
      result.requests++;
      let status: number;
      let answer = '';
      try {
        const res = await fetch(`${opts.url}${request.path}`, { method: request.method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body), signal: AbortSignal.timeout(30_000) });
        status = res.status;
        // A live stream (the log tail) never ends by itself: its status and headers are the answer.
        if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel();
        else answer = await res.text();
        // A rotated device token replaces ours, so the device keeps being exercised.
        if (status === 200 && request.path === `/api/v1/devices/${encodeURIComponent(tokens.deviceId)}/token`) tokens.device = (JSON.parse(answer) as { token: string }).token;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        const early = typeof body !== 'string' || body.length > 1024 * 1024 || !headers.authorization;
        if (early && cause && /UND_ERR_SOCKET|EPIPE|ECONNRESET/.test(String(cause.code))) {
          result.closedEarly++;
          continue;
        }
        status = 0;
        answer = `no answer: ${(err as Error).message} ${cause?.code ?? ''}`;
      }
      result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      const key = `${op.method} ${op.path}`;
      const perOp = (result.byOperation[key] ??= {});
      const bucket = `${Math.floor(status / 100)}xx`;
      perOp[bucket] = (perOp[bucket] ?? 0) + 1;
      if (status >= 500 || status === 0) result.failures.push({ request, status, answer: answer.slice(0, 500) });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
  result.failures.sort((a, b) => a.request.n - b.request.n);
  return result;
}
