// The fleet documents are defined once (contracts/fleet/protocol.schema.ts): the repository's request
// schema for a status report, its deploy gate fields and its OpenAPI DesiredState are generated from them,
// so the agent and the repository cannot disagree on a field or a limit.
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { assertValid, loadSchema, ValidationError } from '../../../../contracts/schemas';
import { generateSigningKeys, signDesiredState, type DesiredState, type DeviceStatusReport } from '../../../../contracts/fleet/protocol';
import { openApiDocument } from '../../../../runtime/repo/openapi';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const withoutNames = (schema: Obj) => {
  const { $id: _id, $schema: _schema, description: _description, ...rest } = schema;
  return rest;
};

describe('fleet protocol documents: one definition', () => {
  it("the repository's RepoStatusReport is the agent's DeviceStatusReport, limits included", () => {
    assert.deepEqual(withoutNames(loadSchema('RepoStatusReport')), withoutNames(loadSchema('DeviceStatusReport')));
    const props = (loadSchema('DeviceStatusReport') as Obj).properties;
    assert.equal(props.reasons.maxItems, 100);
    assert.equal(props.reasons.items.maxLength, 4000);
    assert.equal(props.deviceId.maxLength, 128);
    assert.equal(props.running.maxLength, 300);
  });

  it('a report past the limits is refused by the shared schema, naming the field', () => {
    const report: DeviceStatusReport = { deviceId: 'line-a', state: 'failed', running: null, reasons: ['x'.repeat(4001)], ts: 1 };
    assert.throws(() => assertValid('RepoStatusReport', report), (err: unknown) => err instanceof ValidationError && err.problems.some((p) => p.field.startsWith('reasons')));
    assertValid('DeviceStatusReport', { ...report, reasons: ['x'.repeat(4000)] });
  });

  it("a deployment's window and line-state gate are the DeployGate fields the device checks", () => {
    const defs = (loadSchema('RepoDeploymentCreate') as Obj).definitions;
    assert.deepEqual(withoutNames(defs.DeployWindow), withoutNames(loadSchema('DeployWindow')));
    assert.deepEqual(withoutNames(defs.LineStateGate), withoutNames(loadSchema('LineStateGate')));
  });

  it('the OpenAPI DesiredState is the generated SignedDesiredState: a signed state fits it, an unsigned one does not', () => {
    const component = (openApiDocument() as Obj).components.schemas.DesiredState as Obj;
    assert.ok(component.required.includes('signature'));
    assert.equal(component.properties.generation.type, 'integer');
    const keys = generateSigningKeys();
    const state: DesiredState = { deviceId: 'line-a', deploymentId: null, version: null, parameters: { LINE: 'l1' }, generation: 3 };
    assertValid('SignedDesiredState', signDesiredState(state, keys.privateKeyPem));
    assert.throws(() => assertValid('SignedDesiredState', state), ValidationError);
    // A client compiles the component on its own: every definition is inlined.
    assert.doesNotMatch(JSON.stringify(component), /\$ref/);
    const valid = new Ajv({ strict: false }).compile(component);
    const gated = signDesiredState({ ...state, gate: { window: { from: '22:00', to: '06:00' } } }, keys.privateKeyPem);
    assert.ok(valid(gated), JSON.stringify(valid.errors));
    assert.equal(valid({ ...gated, gate: { window: { from: '25:00', to: '06:00' } } }), false, 'the window pattern is inlined too');
  });
});
