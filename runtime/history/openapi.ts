// The OpenAPI 3.1 document of the history API, served at /api/v1/history/openapi.json. A test checks that
// every path here answers and that unknown paths do not.
type Obj = Record<string, unknown>;

const json = (schema: Obj) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: Obj) => ({ description, content: json(schema) });
const ERRORS = {
  400: { description: 'bad input; `field` names the parameter', content: json(ref('HistoryError')) },
  401: { description: 'a bearer token is required (when the server has one)', content: json(ref('HistoryError')) },
  404: { description: 'not found', content: json(ref('HistoryError')) },
  503: { description: 'the history database is unreachable or not migrated', content: json(ref('HistoryError')) },
};
const q = (name: string, description: string, schema: Obj, required = false) => ({ name, in: 'query', required, description, schema });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1, maxLength: 200 } });
const TIME = { type: 'string', description: 'ISO 8601 time or unix milliseconds' };
const FILTERS = [
  q('site', 'only this site', { type: 'string', maxLength: 200 }),
  q('line', 'only this line', { type: 'string', maxLength: 200 }),
  q('camera', 'only this camera', { type: 'string', maxLength: 200 }),
  q('modelVersion', 'only this model version', { type: 'string', maxLength: 200 }),
];
const WINDOW = q('window', 'tag samples within ± this many seconds of the inspection (default 5)', { type: 'integer', minimum: 0, maximum: 300, default: 5 });

const HIT: Obj = {
  type: 'object',
  required: ['time', 'inspectionId', 'site', 'line', 'cameraId', 'defectCount'],
  properties: {
    time: { type: 'string', format: 'date-time' },
    inspectionId: { type: 'string' },
    productSerial: { type: ['string', 'null'] },
    site: { type: 'string' },
    line: { type: 'string' },
    cameraId: { type: 'string' },
    modelVersion: { type: ['string', 'null'] },
    defectCount: { type: 'integer' },
  },
};
const READING: Obj = {
  type: 'object',
  properties: { time: { type: 'string', format: 'date-time' }, device: { type: 'string' }, tag: { type: 'string' }, value: { type: ['number', 'boolean', 'string', 'null'] }, quality: { type: 'string' }, unit: { type: ['string', 'null'] } },
};
const DETAIL: Obj = {
  type: 'object',
  description: 'One inspection: its detections, images (by kind: full, thumbnail, annotated, ...), the line\'s PLC tag samples around it, the line actions taken for it and by which rule, and the model version.',
  properties: {
    inspection: { allOf: [ref('SearchHit'), { type: 'object', properties: { attributes: {} } }] },
    modelVersion: { type: ['string', 'null'] },
    detections: {
      type: 'array',
      items: { type: 'object', properties: { idx: { type: 'integer' }, defectClass: { type: 'string' }, confidence: { type: 'number' }, box: { type: ['object', 'null'], properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } } } } },
    },
    images: {
      type: 'array',
      items: { type: 'object', properties: { kind: { type: 'string' }, format: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, sizeBytes: { type: 'integer' }, stored: { enum: ['database', 'file'] }, url: { type: 'string' } } },
    },
    tags: {
      type: 'object',
      properties: {
        windowSeconds: { type: 'integer' },
        from: { type: 'string', format: 'date-time' },
        to: { type: 'string', format: 'date-time' },
        devices: { description: 'the line\'s devices from line_devices, or "all" when the line has none mapped', oneOf: [{ type: 'array', items: { type: 'string' } }, { const: 'all' }] },
        samples: { type: 'array', items: ref('TagReading') },
        atInspection: { type: 'array', description: 'per device and tag: the last reading at or before the inspection, also from before the window (a tag read by exception is stored only when it changes; at most 200 tags); else the first after', items: ref('TagReading') },
      },
    },
    actions: {
      type: 'array',
      items: { type: 'object', properties: { time: { type: 'string' }, actionId: { type: 'string' }, ruleId: { type: 'string' }, kind: { type: 'string' }, severity: { type: 'string' }, writes: {}, reset: { type: ['boolean', 'null'] }, reason: { type: ['string', 'null'] } } },
    },
  },
};
const POINT: Obj = {
  type: 'object',
  properties: {
    bucket: { type: 'string', format: 'date-time' },
    key: { type: ['string', 'null'], description: 'the line, camera, model version or defect class (null for by=none)' },
    inspections: { type: 'integer' },
    defective: { type: 'integer', description: 'inspections with at least one detection' },
    detections: { type: 'integer' },
    defectRate: { type: ['number', 'null'], description: 'defective / inspections; for by=class: detections of the class per inspection' },
  },
};

export function historyOpenApi(): Obj {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Linesight history API',
      version: '1',
      description:
        'Read-only access to the inspection history written by timescale-sink: search, traceability per product or inspection, defect-rate series from the rollups, worst lines of a shift, CSV export. GET only; every query runs in a read-only transaction as a read-only database role.',
    },
    servers: [{ url: '/api/v1/history' }],
    components: {
      schemas: { HistoryError: { type: 'object', required: ['error'], properties: { error: { type: 'string' }, field: { type: 'string' } } }, SearchHit: HIT, TagReading: READING, InspectionDetail: DETAIL, SeriesPoint: POINT },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'only when the server was started with a token' } },
    },
    paths: {
      '/search': {
        get: {
          summary: 'inspections whose product serial or inspection id starts with q (exact matches first, then newest)',
          parameters: [q('q', 'serial or inspection id prefix', { type: 'string', minLength: 1, maxLength: 200 }, true), q('limit', 'at most this many hits', { type: 'integer', minimum: 1, maximum: 200, default: 20 })],
          responses: { 200: ok('hits', { type: 'object', properties: { q: { type: 'string' }, hits: { type: 'array', items: ref('SearchHit') } } }), ...ERRORS },
        },
      },
      '/inspections/{inspectionId}': {
        get: { summary: 'one inspection in full', parameters: [pathParam('inspectionId', 'inspection id'), WINDOW], responses: { 200: ok('the inspection', ref('InspectionDetail')), ...ERRORS } },
      },
      '/inspections/{inspectionId}/images/{kind}': {
        get: {
          summary: 'an image of the inspection (full, thumbnail, annotated, ...), from the table or the image store',
          parameters: [pathParam('inspectionId', 'inspection id'), pathParam('kind', 'image kind')],
          responses: { 200: { description: 'the image bytes', content: { 'image/*': { schema: { type: 'string', contentEncoding: 'binary' } } } }, ...ERRORS },
        },
      },
      '/products/{serial}': {
        get: {
          summary: 'every inspection of a product serial, newest first, each in full',
          parameters: [pathParam('serial', 'product serial'), WINDOW, q('limit', 'at most this many inspections', { type: 'integer', minimum: 1, maximum: 100, default: 20 })],
          responses: { 200: ok('the product', { type: 'object', properties: { serial: { type: 'string' }, inspections: { type: 'array', items: ref('InspectionDetail') } } }), ...ERRORS },
        },
      },
      '/defect-rate': {
        get: {
          summary: 'defect-rate series from the rollups, per bucket and line / camera / model version / defect class',
          parameters: [
            q('from', 'start (default: 24 h before to)', TIME),
            q('to', 'end, exclusive (default: now)', TIME),
            q('bucket', 'bucket size (at most 10,000 buckets)', { enum: ['minute', 'hour', 'day'], default: 'hour' }),
            q('by', 'series key', { enum: ['line', 'camera', 'model_version', 'class', 'none'], default: 'line' }),
            q('defectClass', 'only this class (by=class)', { type: 'string', maxLength: 200 }),
            q('maxPoints', 'refuse (400, field maxPoints) a series with more points than this', { type: 'integer', minimum: 1, maximum: 100_000, default: 20_000 }),
            ...FILTERS,
          ],
          responses: { 200: ok('the series', { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, bucket: { type: 'string' }, by: { type: 'string' }, points: { type: 'array', items: ref('SeriesPoint') } } }), ...ERRORS },
        },
      },
      '/model-comparison': {
        get: {
          summary: 'per line and model version over a period: defect rate, detections per class, confidence distribution (hourly rollups) — a canary model beside the one it replaces',
          parameters: [q('from', 'start (default: 24 h before to)', TIME), q('to', 'end, exclusive (default: now)', TIME), ...FILTERS.filter((f) => f.name !== 'camera')],
          responses: {
            200: ok('one row per line and model version', {
              type: 'object',
              properties: {
                from: { type: 'string' },
                to: { type: 'string' },
                rows: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      site: { type: 'string' },
                      line: { type: 'string' },
                      modelVersion: { type: ['string', 'null'] },
                      inspections: { type: 'integer' },
                      defective: { type: 'integer' },
                      defectRate: { type: ['number', 'null'] },
                      detections: { type: 'integer' },
                      classes: { type: 'object', additionalProperties: { type: 'integer' } },
                      meanConfidence: { type: ['number', 'null'] },
                      confidenceBins: { type: 'array', items: { type: 'integer' }, minItems: 10, maxItems: 10, description: 'detections per 0.1 of confidence, [0,0.1) ... [0.9,1]' },
                    },
                  },
                },
              },
            }),
            ...ERRORS,
          },
        },
      },
      '/worst-lines': {
        get: {
          summary: 'lines by defect rate, worst first: this shift by default, or from/to',
          parameters: [
            q('from', 'start (default: the current shift)', TIME),
            q('to', 'end, exclusive', TIME),
            q('limit', 'at most this many lines', { type: 'integer', minimum: 1, maximum: 1000, default: 10 }),
            q('minInspections', 'ignore lines with fewer inspections', { type: 'integer', minimum: 0, default: 1 }),
            ...FILTERS,
          ],
          responses: {
            200: ok('the lines', {
              type: 'object',
              properties: { from: { type: 'string' }, to: { type: 'string' }, lines: { type: 'array', items: { type: 'object', properties: { site: { type: 'string' }, line: { type: 'string' }, inspections: { type: 'integer' }, defective: { type: 'integer' }, detections: { type: 'integer' }, defectRate: { type: ['number', 'null'] } } } } },
            }),
            ...ERRORS,
          },
        },
      },
      '/export.csv': {
        get: {
          summary: 'inspections of a period as CSV (time, inspection_id, product_serial, site, line, camera_id, model_version, defect_count, defect_classes)',
          parameters: [q('from', 'start (default: 24 h before to)', TIME), q('to', 'end, exclusive (default: now)', TIME), q('limit', 'at most this many rows', { type: 'integer', minimum: 1, maximum: 1000000, default: 100000 }), ...FILTERS],
          responses: { 200: { description: 'CSV, one row per inspection, oldest first', content: { 'text/csv': { schema: { type: 'string' } } } }, ...ERRORS },
        },
      },
      '/openapi.json': { get: { summary: 'this document', security: [], responses: { 200: ok('OpenAPI 3.1', { type: 'object' }) } } },
    },
    security: [{}, { bearer: [] }],
  };
}
