// The OpenAPI 3.1 document of the repository API, served at /api/v1/openapi.json. Request schemas are the
// JSON Schemas generated from api.schema.ts and, for the fleet documents, contracts/fleet/protocol.schema.ts
// (the same ones the server validates with); a test checks that the paths here and the Express routes are
// the same set.
import { loadSchema } from '../../contracts/schemas';
import { API_ROOT } from '../../contracts/fleet/protocol';
import { DEFAULT_DEVICE_PAGE, DEVICE_STATE_FILTERS, MAX_DEVICE_PAGE } from './device-query';
import { FLOW_BODY_LIMIT, MAX_JSON_DEPTH, MAX_PARAM_LENGTH, SMALL_BODY_LIMIT, TELEMETRY_BODY_LIMIT } from './input-limits';
import { LOGIN_LIMITS } from './store/sessions';
import { historyPaths } from './history-mount';

const REQUEST_SCHEMAS = ['RepoSessionCreate', 'RepoUserCreate', 'RepoUserUpdate', 'RepoTokenCreate', 'RepoAdminTokenCreate', 'RepoTemplateCreate', 'RepoVersionPublish', 'RepoDeviceRegister', 'RepoDeviceUpdate', 'RepoDeploymentCreate', 'RepoStatusReport', 'RepoLogBatch', 'RepoHealthBatch', 'RepoError', 'RepoNodeTypePolicy', 'RepoModelUploadCreate', 'RepoRemoteEditing', 'RepoRemoteCommand', 'RepoSaveVersion'];

type Obj = Record<string, unknown>;

/** Component names allow only [a-zA-Z0-9._-]; generated names such as `Record<string,unknown>` do not. */
const componentName = (name: string) => name.replace(/[^a-zA-Z0-9._-]+/g, '_');

/** Lifts a generated draft-07 schema into components: `#/definitions/X` becomes `#/components/schemas/X`. */
function toComponent(schema: Obj, components: Obj): Obj {
  const { $schema: _s, $id: _i, definitions, defaultProperties: _d, ...rest } = schema;
  const fix = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') {
      const o: Obj = {};
      for (const [k, x] of Object.entries(v as Obj)) {
        if (k === 'defaultProperties') continue;
        o[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/definitions/') ? `#/components/schemas/${componentName(decodeURIComponent(x.slice('#/definitions/'.length)))}` : fix(x);
      }
      return o;
    }
    return v;
  };
  for (const [name, def] of Object.entries((definitions ?? {}) as Obj)) components[componentName(name)] ??= fix(def);
  return fix(rest) as Obj;
}

/**
 * A generated schema with its `#/definitions/X` references replaced by the definitions themselves: a
 * component a client can compile on its own (the fleet documents have no recursive types).
 */
function selfContained(schema: Obj): Obj {
  const { $schema: _s, $id: _i, definitions = {}, ...rest } = schema as Obj & { definitions?: Obj };
  const inline = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(inline);
    if (!v || typeof v !== 'object') return v;
    const { $ref, ...others } = v as Obj;
    if (typeof $ref === 'string' && $ref.startsWith('#/definitions/')) return inline({ ...(definitions[decodeURIComponent($ref.slice('#/definitions/'.length))] as Obj), ...others });
    return Object.fromEntries(Object.entries(v as Obj).filter(([k]) => k !== 'defaultProperties').map(([k, x]) => [k, inline(x)]));
  };
  return inline(rest) as Obj;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Obj) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json(ref('RepoError')) });
const ok = (description: string, schema: Obj = { type: 'object' }) => ({ description, content: json(schema) });
const param = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1, maxLength: MAX_PARAM_LENGTH } });
/**
 * Who may call an operation: `x-linesight-role` names the lowest role (a user's session or an API token of
 * that role or higher); `deviceToken` in `security` means a device token is accepted too.
 */
const PEOPLE = [{ bearerToken: [] }, { sessionCookie: [] }];
const role = (need: 'viewer' | 'deployer' | 'admin') => ({ security: PEOPLE, 'x-linesight-role': need });
const DEVICE_OR_VIEWER = { security: [...PEOPLE, { deviceToken: [] }], 'x-linesight-role': 'viewer' };
const authErrors = {
  401: err('no or unknown token, or no live session'),
  403: err('the role is too low (the answer names the role needed), a device token on a route for people, or, with the session cookie: CSRF token missing or wrong, or a foreign Origin'),
};
const LOG_LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const logFilters = [
  { name: 'level', in: 'query', required: false, description: 'the least severe level wanted (warn: fatal, error and warn)', schema: { type: 'string', enum: LOG_LEVEL_NAMES } },
  { name: 'node', in: 'query', required: false, description: 'a node id or name', schema: { type: 'string', maxLength: MAX_PARAM_LENGTH } },
  { name: 'q', in: 'query', required: false, description: 'text the message contains (case-insensitive)', schema: { type: 'string', maxLength: MAX_PARAM_LENGTH } },
];
const seqParam = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'integer', minimum: 0 } });
const LOG_PAGE = {
  type: 'object',
  required: ['lines', 'dropped'],
  properties: {
    lines: {
      type: 'array',
      items: {
        type: 'object',
        required: ['seq', 'ts', 'level', 'msg'],
        properties: { seq: { type: 'integer' }, ts: { type: 'integer' }, level: { type: 'string', enum: LOG_LEVEL_NAMES }, msg: { type: 'string' }, nodeId: { type: 'string' }, nodeType: { type: 'string' }, nodeName: { type: 'string' } },
      },
    },
    dropped: { type: 'integer', minimum: 0 },
  },
};

const cached = new Map<boolean, Obj>();

/** The document; with `history` (a repository started with a history database) also the history's operations. */
export function openApiDocument(options: { history?: boolean } = {}): Obj {
  const withHistory = options.history === true;
  const done = cached.get(withHistory);
  if (done) return done;
  const schemas: Obj = {};
  for (const name of REQUEST_SCHEMAS) schemas[name] = toComponent(loadSchema(name), schemas);
  // The answer of GET /devices/{id}/desired and the retained MQTT message: generated from the fleet contract.
  schemas.DesiredState = selfContained(loadSchema('SignedDesiredState'));
  schemas.ModelVersionDocument = selfContained(loadSchema('ModelVersionDocument'));
  const body = (name: string, limit = SMALL_BODY_LIMIT) => ({
    required: true,
    description: `JSON of at most ${limit}, read only once the token is accepted`,
    content: json(ref(name)),
  });
  const slug = param('slug', 'template slug');
  const version = param('version', 'semantic version');
  const id = param('id', 'device id');
  const depId = param('id', 'deployment id');
  const modelName = param('name', 'model name');
  const uploadId = param('uploadId', 'upload id');
  const refused = { 422: err('validation failed; `problems` names each field and reason') };
  const deploymentAction = (summary: string) => ({
    post: { summary, ...role('deployer'), parameters: [depId], responses: { 200: ok('the deployment'), ...authErrors, 404: err('no such deployment'), 409: err('not allowed in the current state') } },
  });
  const paths: Obj = {
    '/': { get: { summary: 'the fleet console (a single page; its scripts and styles are served under /console/)', security: [], responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, 503: { description: 'the console is not built' } } } },
    '/healthz': { get: { summary: 'liveness: the service and its database answer', security: [], responses: { 200: ok('healthy') } } },
    '/metrics': { get: { summary: 'Prometheus text metrics', security: [], responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    [`${API_ROOT}/openapi.json`]: { get: { summary: 'this document', security: [], responses: { 200: ok('OpenAPI document') } } },
    [`${API_ROOT}/keys/public`]: {
      get: { summary: "the repository's Ed25519 public key (PEM) that verifies version signatures", security: [], responses: { 200: { description: 'PEM', content: { 'application/x-pem-file': { schema: { type: 'string' } } } } } },
    },
    [`${API_ROOT}/policy/node-types`]: {
      get: {
        summary: 'the node-type policy: which node types templates may use, repository-wide and per tier',
        description: 'Set with `linesight repo --node-type-policy <file>` / `--refuse-node-types <list>` (env LINESIGHT_NODE_TYPE_POLICY / LINESIGHT_REFUSE_NODE_TYPES). Enforced when templates are created, versions published and deployments made.',
        ...DEVICE_OR_VIEWER,
        responses: { 200: ok('the policy in force', ref('RepoNodeTypePolicy')), ...authErrors },
      },
    },
    [`${API_ROOT}/templates`]: {
      get: { summary: 'list templates', ...role('viewer'), responses: { 200: ok('templates', { type: 'array', items: { type: 'object' } }), ...authErrors } },
      post: {
        summary: 'create a template',
        description: 'Its `requiredNodes` may not name a node type the node-type policy refuses for its tier (422 naming each).',
        ...role('deployer'),
        requestBody: body('RepoTemplateCreate'),
        responses: { 201: ok('created'), ...authErrors, 409: err('slug taken'), ...refused },
      },
    },
    [`${API_ROOT}/templates/{slug}`]: { get: { summary: 'one template with its versions', ...role('viewer'), parameters: [slug], responses: { 200: ok('template'), ...authErrors, 404: err('no such template') } } },
    [`${API_ROOT}/templates/{slug}/versions`]: {
      get: { summary: 'versions of a template', ...role('viewer'), parameters: [slug], responses: { 200: ok('versions', { type: 'array', items: { type: 'object' } }), ...authErrors, 404: err('no such template') } },
      post: {
        summary: 'publish a new immutable version (checked, hashed and signed)',
        description:
          "The flow must be well formed, use only known node types and declared parameters, and use no node type the repository's node-type policy " +
          `(GET ${API_ROOT}/policy/node-types; default: \`exec\` refused, \`function\` allowed) refuses for the template's tier. ` +
          'A refusal by the policy is 422 with one problem per refused node (`flow[i].type`, naming the node id, its type and the rule) and the policy in force as `policy`.',
        ...role('deployer'),
        parameters: [slug],
        requestBody: body('RepoVersionPublish', FLOW_BODY_LIMIT),
        responses: { 201: ok('the version document'), ...authErrors, 404: err('no such template'), 409: err('version exists'), 422: err('validation failed, or the node-type policy refuses a node; `problems` names each field (node) and reason') },
      },
    },
    [`${API_ROOT}/templates/{slug}/versions/{version}`]: {
      get: {
        summary: 'a version document (flow, sha256, signature); a device token reads only versions a deployment assigned to it (current, previous, last known good), never one it merely reports running',
        ...DEVICE_OR_VIEWER,
        parameters: [slug, version],
        responses: { 200: ok('VersionDocument'), ...authErrors, 404: err('no such version') },
      },
    },
    [`${API_ROOT}/devices`]: {
      get: {
        summary: 'list devices with truthful liveness; filtered and paged when any query parameter is given',
        description:
          'Without query parameters: every device, as an array. With any of them: `{devices, total, offset, limit}`, the page of devices (by id) matching every filter given; ' +
          '`total` counts all matching devices.',
        ...role('viewer'),
        parameters: [
          { name: 'tier', in: 'query', required: false, schema: { type: 'string', maxLength: MAX_PARAM_LENGTH } },
          { name: 'label', in: 'query', required: false, description: 'key=value; repeat for several (all must match)', style: 'form', explode: true, schema: { type: 'array', items: { type: 'string', pattern: '^[^=]+=', maxLength: MAX_PARAM_LENGTH } } },
          { name: 'state', in: 'query', required: false, schema: { type: 'string', enum: [...DEVICE_STATE_FILTERS] } },
          { name: 'q', in: 'query', required: false, description: 'text in the id, labels, versions or reasons (case-insensitive)', schema: { type: 'string', maxLength: MAX_PARAM_LENGTH } },
          { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_DEVICE_PAGE, default: DEFAULT_DEVICE_PAGE } },
        ],
        responses: { 200: ok('devices (array), or a page `{devices, total, offset, limit}` when filtered or paged', { oneOf: [{ type: 'array', items: { type: 'object' } }, { type: 'object', required: ['devices', 'total', 'offset', 'limit'] }] }), ...authErrors, ...refused },
      },
      post: { summary: 'register a device; its token is in the answer once', ...role('deployer'), requestBody: body('RepoDeviceRegister'), responses: { 201: ok('device and token'), ...authErrors, 409: err('id taken'), ...refused } },
    },
    [`${API_ROOT}/devices/{id}`]: {
      get: { summary: 'one device', ...role('viewer'), parameters: [id], responses: { 200: ok('device'), ...authErrors, 404: err('no such device') } },
      patch: { summary: 'change labels, parameters or poll interval', ...role('deployer'), parameters: [id], requestBody: body('RepoDeviceUpdate'), responses: { 200: ok('device'), ...authErrors, 404: err('no such device'), ...refused } },
    },
    [`${API_ROOT}/devices/{id}/remote-editing`]: {
      post: {
        summary: "turn remote editing on or off (deployer, audited): the device's agent learns it with its signed desired state and opens (or closes) its editor tunnel",
        description: 'While on, the editor of the device is served at `/devices/{id}/editor/` to logged-in deployers and admins; the agent closes the tunnel after `idleMinutes` without an editor request, which turns remote editing off.',
        ...role('deployer'),
        parameters: [id],
        requestBody: body('RepoRemoteEditing'),
        responses: { 200: ok('the device, with `remoteEditing`, `tunnel` and `editorUrl`'), ...authErrors, 404: err('no such device'), ...refused },
      },
    },
    [`${API_ROOT}/devices/{id}/tunnel`]: {
      get: {
        summary: "the agent's outbound editor tunnel (device token, own id only): a WebSocket of binary frames (kind, stream id, payload) multiplexing editor requests with flow control per stream",
        description: 'Refused (409) while remote editing is off. Closed at once when the device token is replaced or remote editing is turned off. A plain GET answers 426.',
        security: [{ deviceToken: [] }],
        parameters: [id],
        responses: { 101: { description: 'switching to the tunnel WebSocket' }, 426: err('not a WebSocket request'), ...authErrors, 409: err('remote editing is off') },
      },
    },
    [`${API_ROOT}/devices/{id}/remote-commands`]: {
      post: {
        summary: 'run one command the agent allows, through its tunnel (deployer, audited): restart the runtime, the last good flow, a support bundle (kept, `bundleId`), revert a hand edit to the assigned version',
        ...role('deployer'),
        parameters: [id],
        requestBody: body('RepoRemoteCommand'),
        responses: { 200: ok('{command, result, bundleId?}'), ...authErrors, 404: err('no such device'), 409: err('remote editing is off, the tunnel is not connected, or the agent refused'), ...refused },
      },
    },
    [`${API_ROOT}/devices/{id}/support-bundles/{bundleId}`]: {
      get: {
        summary: 'a support bundle uploaded through the tunnel: logs, health, versions (deployer)',
        ...role('deployer'),
        parameters: [id, param('bundleId', 'support bundle id')],
        responses: { 200: ok('{id, deviceId, createdAt, createdBy, bundle}'), ...authErrors, 404: err('no such bundle') },
      },
    },
    [`${API_ROOT}/devices/{id}/save-version`]: {
      post: {
        summary: "publish the flow the device runs now (a hand edit made through its editor) as a new version of its template (deployer, audited); the device's parameter values become `${NAME}` references again",
        ...role('deployer'),
        parameters: [id],
        requestBody: body('RepoSaveVersion'),
        responses: { 201: ok('the new version'), ...authErrors, 404: err('no such device or template'), 409: err('remote editing is off, the tunnel is not connected, or the version exists'), ...refused },
      },
    },
    [`${API_ROOT}/devices/{id}/token`]: { post: { summary: "replace a device's token", ...role('admin'), parameters: [id], responses: { 200: ok('the new token'), ...authErrors, 404: err('no such device') } } },
    [`${API_ROOT}/devices/{id}/desired`]: {
      get: {
        summary: "the device's DesiredState, signed whole by the repository key (`signature`) with a `generation` that only grows; send If-None-Match with the last ETag to get 304 when unchanged",
        ...DEVICE_OR_VIEWER,
        parameters: [id, { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } }],
        responses: { 200: ok('DesiredState', ref('DesiredState')), 304: { description: 'unchanged' }, ...authErrors, 404: err('no such device') },
      },
    },
    [`${API_ROOT}/devices/{id}/status`]: {
      post: {
        summary: "the device's DeviceStatusReport (device token, own id only); drives its deployment",
        security: [{ deviceToken: [] }],
        parameters: [id],
        requestBody: body('RepoStatusReport'),
        responses: { 204: { description: 'recorded' }, ...authErrors, 404: err('no such device'), ...refused },
      },
    },
    [`${API_ROOT}/devices/{id}/logs`]: {
      post: {
        summary: "lines of the device's runtime log, oldest first (device token, own id only); `dropped` counts lines the agent could not keep while the repository was away",
        description: 'The repository keeps the newest lines of each device (default 10,000) and numbers them with `seq`, increasing per device.',
        security: [{ deviceToken: [] }],
        parameters: [id],
        requestBody: body('RepoLogBatch', TELEMETRY_BODY_LIMIT),
        responses: { 204: { description: 'stored' }, ...authErrors, ...refused },
      },
      get: {
        summary: "the device's log lines, newest last, with the total the agent reported dropping (viewer)",
        description: 'Without `since`: the newest `limit` lines (before `before`). With `since`: the oldest `limit` lines after it, to follow a tail.',
        ...role('viewer'),
        parameters: [id, ...logFilters, seqParam('since', 'lines after this seq'), seqParam('before', 'lines before this seq'), { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } }],
        responses: { 200: ok('{lines: [{seq, ts, level, msg, nodeId?, nodeType?, nodeName?}], dropped}', LOG_PAGE), ...authErrors, 404: err('no such device') },
      },
    },
    [`${API_ROOT}/devices/{id}/logs/stream`]: {
      get: {
        summary: "live tail of the device's log as Server-Sent Events (viewer): one `event: line` per line, `id:` its seq, data the line as JSON; a comment heartbeat every 15 s",
        description: 'Starts after the `Last-Event-ID` header (a reconnecting EventSource sends it) or `since`; without either, with the lines stored from now on.',
        ...role('viewer'),
        parameters: [id, ...logFilters, seqParam('since', 'start after this seq (when no Last-Event-ID)'), { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', maxLength: 32 } }],
        responses: { 200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...authErrors, 404: err('no such device') },
      },
    },
    [`${API_ROOT}/devices/{id}/health`]: {
      post: {
        summary: "health samples of the device's runtime, oldest first (device token, own id only)",
        description: 'The repository keeps 24 h of samples per device (by their `ts`) and folds the newest into the device\'s `health`.',
        security: [{ deviceToken: [] }],
        parameters: [id],
        requestBody: body('RepoHealthBatch', TELEMETRY_BODY_LIMIT),
        responses: { 204: { description: 'stored' }, ...authErrors, ...refused },
      },
      get: {
        summary: "the device's health samples as posted, plus `seq`, oldest first (viewer); at most 2,000, averaged into `step` seconds when asked or needed",
        ...role('viewer'),
        parameters: [
          id,
          { name: 'since', in: 'query', required: false, description: 'ms since the epoch', schema: { type: 'integer', minimum: 0 } },
          { name: 'until', in: 'query', required: false, description: 'ms since the epoch', schema: { type: 'integer', minimum: 0 } },
          { name: 'step', in: 'query', required: false, description: 'seconds per point', schema: { type: 'integer', minimum: 1, maximum: 86400 } },
        ],
        responses: { 200: ok('{samples}', { type: 'object', required: ['samples'], properties: { samples: { type: 'array', items: { type: 'object' } } } }), ...authErrors, 404: err('no such device') },
      },
    },
    [`${API_ROOT}/fleet/health`]: {
      get: {
        summary: 'every device\'s latest health summary and a CPU/RSS sparkline of the last hour, one point a minute (viewer)',
        description: '`devices[id].last`: {ts, cpuPercent, rssBytes, eventLoopP99Ms, restarts, redNodes: [{id, type, name, text}], errorsPerMin} or null; `devices[id].spark`: {cpu: number[], rss: number[]}.',
        ...role('viewer'),
        responses: { 200: ok('{devices}'), ...authErrors },
      },
    },
    [`${API_ROOT}/deployments`]: {
      get: { summary: 'list deployments', ...role('viewer'), responses: { 200: ok('deployments', { type: 'array', items: { type: 'object' } }), ...authErrors } },
      post: {
        summary: 'deploy a version to devices by tier, ids or labels (all, or canary then waves)',
        description: 'A version that uses a node type the node-type policy refuses now (it may have tightened since publishing) is refused with 422.',
        ...role('deployer'),
        requestBody: body('RepoDeploymentCreate'),
        responses: { 201: ok('the deployment'), ...authErrors, ...refused },
      },
    },
    [`${API_ROOT}/deployments/{id}`]: { get: { summary: 'a deployment with each device', ...role('viewer'), parameters: [depId], responses: { 200: ok('deployment'), ...authErrors, 404: err('no such deployment') } } },
    [`${API_ROOT}/deployments/{id}/pause`]: deploymentAction('stop releasing further waves'),
    [`${API_ROOT}/deployments/{id}/resume`]: deploymentAction('release waves again'),
    [`${API_ROOT}/deployments/{id}/rollback`]: deploymentAction("every device it reached goes back to its previous version"),
    [`${API_ROOT}/deployments/{id}/cancel`]: deploymentAction('stop a deployment not yet finished: devices still queued, pending or waiting go back to their previous version; devices running it stay'),
    [`${API_ROOT}/models`]: {
      get: { summary: 'list models: name, versions, latest', ...role('viewer'), responses: { 200: ok('models', { type: 'array', items: { type: 'object' } }), ...authErrors } },
    },
    [`${API_ROOT}/models/{name}`]: {
      get: { summary: "a model's versions (metadata, no signatures)", ...role('viewer'), parameters: [modelName], responses: { 200: ok('name and versions'), ...authErrors, 404: err('no such model') } },
    },
    [`${API_ROOT}/models/{name}/uploads`]: {
      post: {
        summary: 'announce a model artifact (version, format, sha256, size up to 2 GiB, metadata); answers the upload id and the offset to send from',
        description:
          'The bytes follow with PUT /models/uploads/{uploadId}. Announcing the same name, version, sha256 and size again answers the same upload and how far it got, ' +
          'so an interrupted publisher resumes there. A version already published (also one equal by semver precedence) is 409.',
        ...role('deployer'),
        parameters: [modelName],
        requestBody: body('RepoModelUploadCreate'),
        responses: { 201: ok('uploadId, offset, bytes'), ...authErrors, 409: err('the version is already published'), ...refused },
      },
    },
    [`${API_ROOT}/models/uploads/{uploadId}`]: {
      head: {
        summary: 'how far an upload got: `Upload-Offset` (bytes received) and `Upload-Length` headers',
        ...role('deployer'),
        parameters: [uploadId],
        responses: {
          200: {
            description: 'offset in the Upload-Offset header',
            headers: {
              'Upload-Offset': { description: 'bytes received so far: the next chunk starts here', schema: { type: 'integer', minimum: 0 } },
              'Upload-Length': { description: 'the size announced', schema: { type: 'integer', minimum: 1 } },
            },
          },
          ...authErrors,
          404: err('no such upload (finished, refused or never started)'),
        },
      },
      put: {
        summary: 'append a chunk: `Content-Range: bytes <first>-<last>/<total>`, first = the current offset; the last chunk publishes the version when the sha256 matches',
        description:
          'The body is the raw bytes (streamed to storage, never held in memory); the token is checked before any byte is read, and no more bytes than the range names are accepted. ' +
          'A chunk that does not start at the offset is 409 with `offset`; a connection cut mid-chunk keeps the bytes received (HEAD tells how many). ' +
          'When the last byte arrives the artifact is hashed: a mismatch with the announced sha256 is 422 and the upload is discarded; a match signs and publishes the version (201).',
        ...role('deployer'),
        parameters: [uploadId, { name: 'Content-Range', in: 'header', required: true, schema: { type: 'string', pattern: '^bytes \\d+-\\d+/\\d+$' } }],
        requestBody: { required: true, description: 'the chunk, at most the bytes its Content-Range names', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          200: ok('the upload and its new offset (`complete: false`)'),
          201: ok('complete: the published ModelVersionDocument under `version`'),
          ...authErrors,
          404: err('no such upload'),
          409: err('the chunk does not start at the offset (`offset` says where), or the version was published meanwhile'),
          413: err('more bytes than the Content-Range names'),
          422: err('Content-Range missing or not the announced total, or the sha256 does not match (the upload is discarded)'),
        },
      },
    },
    [`${API_ROOT}/models/{name}/versions/{version}`]: {
      get: {
        summary: 'a model version: metadata, sha256, size and the repository signature; a device token reads only versions a deployment assigned to it',
        ...DEVICE_OR_VIEWER,
        parameters: [modelName, version],
        responses: { 200: ok('ModelVersionDocument', ref('ModelVersionDocument')), ...authErrors, 404: err('no such model version') },
      },
    },
    [`${API_ROOT}/models/{name}/versions/{version}/artifact`]: {
      get: {
        summary: "the artifact's bytes; HTTP Range (one range) for resuming, ETag = the sha256 (If-None-Match, If-Range); a device token reads only versions assigned to it",
        ...DEVICE_OR_VIEWER,
        parameters: [modelName, version, { name: 'Range', in: 'header', required: false, schema: { type: 'string' } }],
        responses: {
          200: { description: 'the whole artifact', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          206: { description: 'the range asked for (Content-Range)', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          304: { description: 'unchanged (If-None-Match)' },
          ...authErrors,
          404: err('no such model version'),
          416: err('the range is outside the artifact'),
        },
      },
    },
    [`${API_ROOT}/admin-tokens`]: {
      get: { summary: 'admin tokens (names and ids; never the tokens)', ...role('admin'), responses: { 200: ok('tokens', { type: 'array', items: { type: 'object' } }), ...authErrors } },
      post: { summary: 'create a named admin token (e.g. for CI); the token is in the answer once', ...role('admin'), requestBody: body('RepoAdminTokenCreate'), responses: { 201: ok('id, name and token'), ...authErrors, 409: err('name taken'), ...refused } },
    },
    [`${API_ROOT}/admin-tokens/{tokenId}`]: {
      delete: {
        summary: 'revoke an admin token (not the last one)',
        ...role('admin'),
        parameters: [param('tokenId', 'admin token id')],
        responses: { 204: { description: 'revoked' }, ...authErrors, 404: err('no such token'), 409: err('the last admin token') },
      },
    },
    [`${API_ROOT}/tokens`]: {
      get: { summary: 'API tokens (never the tokens themselves): every token for an admin, your own for anyone else', ...role('viewer'), responses: { 200: ok('tokens', { type: 'array', items: { type: 'object' } }), ...authErrors } },
      post: {
        summary: 'create an API token with a role, owned by a user or a pipeline; the token is in the answer once',
        description: 'Its role is at most your own (403) and at most its owner\'s (422). Without `owner` it is yours; only an admin may create one for another user or a pipeline (403). A token of a user never acts above that user\'s current role and stops when the user is disabled.',
        ...role('viewer'),
        requestBody: body('RepoTokenCreate'),
        responses: { 201: ok('id, token, name, role, owner'), ...authErrors, 409: err('name taken'), ...refused },
      },
    },
    [`${API_ROOT}/tokens/{tokenId}`]: {
      delete: { summary: 'revoke an API token at once (an admin any, anyone else their own)', ...role('viewer'), parameters: [param('tokenId', 'token id')], responses: { 204: { description: 'revoked' }, ...authErrors, 404: err('no such token') } },
    },
    [`${API_ROOT}/users`]: {
      get: { summary: 'users: name, role, disabled, createdAt, lastLoginAt', ...role('admin'), responses: { 200: ok('users', { type: 'array', items: { type: 'object' } }), ...authErrors } },
      post: { summary: 'create a user', ...role('admin'), requestBody: body('RepoUserCreate'), responses: { 201: ok('the user'), ...authErrors, 409: err('name taken'), ...refused } },
    },
    [`${API_ROOT}/users/{name}`]: {
      patch: {
        summary: 'change a user\'s role, disabled flag or password; disabling or a new password ends their sessions at once',
        ...role('admin'),
        parameters: [param('name', 'user name')],
        requestBody: body('RepoUserUpdate'),
        responses: { 200: ok('the user'), ...authErrors, 404: err('no such user'), 409: err('it would leave no enabled admin'), ...refused },
      },
    },
    [`${API_ROOT}/session`]: {
      post: {
        summary: 'log in: sets the `ls_session` cookie (HttpOnly, SameSite=Strict, Secure over https) and answers the user, the CSRF token and when the session ends',
        description: `A session ends after it is unused for the idle time (default 8 h) and at its absolute age (default 7 days). Every failed login is answered 401 with one message. Failed logins are limited to ${LOGIN_LIMITS.perAddress} per client address and ${LOGIN_LIMITS.perUser} per user name in ${LOGIN_LIMITS.windowMs / 60_000} minutes; beyond that 429 with Retry-After.`,
        security: [],
        requestBody: body('RepoSessionCreate'),
        responses: { 200: ok('{user: {name, role}, csrfToken, expiresAt}'), 401: err('user name or password is wrong'), 403: err('a foreign Origin'), 429: err('too many failed logins; Retry-After says when to try again'), ...refused },
      },
      get: { summary: 'the current session (cookie only)', security: [{ sessionCookie: [] }], responses: { 200: ok('{user: {name, role}, csrfToken, expiresAt}'), ...authErrors } },
      delete: { summary: 'log out (cookie and X-CSRF-Token)', security: [{ sessionCookie: [] }], responses: { 204: { description: 'logged out; the cookie is cleared' }, ...authErrors } },
    },
    [`${API_ROOT}/audit`]: {
      get: {
        summary: 'the audit log of every write, login, failed login and logout, newest first; `actor` is user:<name>, token:<name>(user:<u>|pipeline:<p>), device:<id>, system:bootstrap or client:<address>',
        ...role('viewer'),
        parameters: [
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          { name: 'subject', in: 'query', required: false, schema: { type: 'string', maxLength: MAX_PARAM_LENGTH } },
        ],
        responses: { 200: ok('entries', { type: 'array', items: { type: 'object' } }), ...authErrors, ...refused },
      },
    },
  };
  if (withHistory) {
    const history = historyPaths(PEOPLE, authErrors);
    Object.assign(paths, history.paths);
    for (const [name, schema] of Object.entries(history.schemas)) schemas[name] ??= schema;
  }
  // What every operation may answer beyond its own list: a body over its limit, a path or query parameter
  // refused, and a 500 that names only the request id the cause was logged under.
  for (const ops of Object.values(paths) as Record<string, Obj>[]) {
    for (const op of Object.values(ops) as Obj[]) {
      const responses = op.responses as Obj;
      if (op.requestBody) responses[413] ??= err('the body is larger than the limit of this route');
      if ((op.security as unknown[]).length && !(op.tags as string[] | undefined)?.includes('quality history')) responses[422] ??= err('a path or query parameter refused; `problems` names it and the reason');
      responses[500] ??= err('internal error: the answer carries only `requestId`; the cause is in the repository log under it');
    }
  }
  const document: Obj = {
    openapi: '3.1.0',
    info: {
      title: 'Linesight flow repository',
      version: '1',
      description: [
        'Versioned, signed Node-RED flow templates, devices and deployments.',
        '',
        `Input limits: the token is checked before a body is read; bodies are JSON of at most ${SMALL_BODY_LIMIT} (${FLOW_BODY_LIMIT} to publish a version);`,
        `no string or property name may hold a NUL character or a lone UTF-16 surrogate; arrays and objects nest at most ${MAX_JSON_DEPTH} deep;`,
        `path and query parameters are at most ${MAX_PARAM_LENGTH} characters; the schemas below bound every other string, list and map.`,
        'Bad input is answered 4xx with `problems` naming each field and reason, never 5xx. Every answer carries `X-Request-Id`.',
      ].join('\n'),
    },
    security: PEOPLE,
    components: {
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: 'API token (`lsa_…`) with a role, owned by a user or a pipeline; needs no CSRF token' },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'ls_session',
          description: 'login session from POST /session (HttpOnly, SameSite=Strict). Every request with it that is not GET/HEAD/OPTIONS must send `X-CSRF-Token` (from the login answer or GET /session); a request whose Origin is not the repository\'s own is refused (403).',
        },
        deviceToken: { type: 'http', scheme: 'bearer', description: "device token (`lsd_…`): its own desired state, its assigned versions, its own status" },
      },
      schemas,
    },
    paths,
  };
  cached.set(withHistory, document);
  return document;
}
