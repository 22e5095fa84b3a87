// The shipped example examples/vision-detect.json in a real `linesight runtime` (child process): the model comes
// from an agent-style models folder (LINESIGHT_MODELS_DIR), a Python grpcio camera sends images only, and the
// alarm and diverter coils on pymodbus (another process) go on for the defects the model finds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type ModbusRTU from 'modbus-serial';
import { PACKAGE_ROOT } from '../../../runtime/paths';
import { productImage, type ProductImage } from '../../../runtime/dev/simulators/camera-images';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { freePort } from '../../support/services';
import { waitFor } from '../../support/wait';
import { generateStubs, listening, pythonSubmit, type PySpec } from '../../fixtures/camera-intake/python-camera';
import { closeClient, rawClient, startPymodbus, type Peer } from '../plc/peers';
import { ModelsDir } from './models-dir';

const ALARM = 0;
const DIVERT = 2;

/** The first seeded 1280x800 part whose drawn defects are exactly of the given classes. */
async function partWith(classes: string[]): Promise<ProductImage> {
  for (let seed = 1; seed < 500; seed++) {
    const frame = await productImage({ width: 1280, height: 800, defects: classes.length, seed });
    if ([...frame.detections.map((d) => d.defectClass)].sort().join() === [...classes].sort().join()) return frame;
  }
  throw new Error(`no seed draws ${classes.join(', ')}`);
}

describe('examples/vision-detect.json in a real runtime: images only -> model -> rules -> Modbus coils', function () {
  this.timeout(180_000);
  let rt: RuntimeProcess | undefined;
  let plc: Peer | undefined;
  let raw: ModbusRTU | undefined;
  let models: ModelsDir | undefined;
  let stubs: string | undefined;

  after(async () => {
    await closeClient(raw);
    await rt?.stop();
    await plc?.stop();
    models?.remove();
    if (stubs) fs.rmSync(stubs, { recursive: true, force: true });
  });

  it('a hole lights the alarm lamp and a scratch diverts, the model found them in images alone; no node reports an error', async () => {
    stubs = generateStubs();
    models = new ModelsDir();
    models.install('1.1.0');
    const modbusPort = await freePort();
    const cameraPort = await freePort();
    plc = await startPymodbus({ co: { [ALARM]: false, [DIVERT]: false } }, { port: modbusPort });
    raw = await rawClient(modbusPort);
    rt = await startRuntimeProcess({ timeoutMs: 60_000, env: { LINESIGHT_MODELS_DIR: models.dir } });
    const flow = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', 'vision-detect.json'), 'utf8')) as Array<{ type: string; env?: Array<{ name: string; value: string }> }>;
    const env = flow.find((n) => n.type === 'tab')!.env!;
    env.find((e) => e.name === 'CAMERA_PORT')!.value = String(cameraPort);
    env.find((e) => e.name === 'PLC_PORT')!.value = String(modbusPort);
    await rt.deploy(flow);
    await waitFor('camera-intake listening', () => listening(cameraPort), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${rt!.output()}`);
    });

    const coil = async (address: number) => (await raw!.readCoils(address, 1)).data[0];
    const send = async (id: string, frame: ProductImage) => {
      const spec: PySpec = { inspection_id: id, camera_id: 'cam-1', captured_at_ms: Date.now(), detections: [], image: { data_b64: frame.data.toString('base64'), format: frame.format, width: frame.width, height: frame.height } };
      const [r] = await pythonSubmit(stubs!, `127.0.0.1:${cameraPort}`, [spec]);
      assert.equal(r!.code, 'OK', r!.details);
    };

    await send('good-1', await productImage({ width: 1280, height: 800, defects: 0, seed: 11 }));
    await send('hole-1', await partWith(['hole']));
    await waitFor('alarm lamp on', () => coil(ALARM), 30_000, 20);
    await send('scratch-1', await partWith(['scratch']));
    await waitFor('diverter on', () => coil(DIVERT), 30_000, 20);
    const errors = rt.output().split('\n').filter((l) => /\[error\]/.test(l));
    assert.deepEqual(errors, [], rt.output());
  });
});
