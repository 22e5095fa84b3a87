// The OPC UA face of the simulated line: node-opcua server with Line1.* variables bound to the model.
import fs from 'node:fs';
import path from 'node:path';
import { DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant, VariantArrayType, type Namespace, type UAObject } from 'node-opcua';
import type { PlcLine } from './plc-line';

export interface OpcuaSim {
  url: string;
  close(): Promise<void>;
}

export interface OpcuaSecurity {
  /** The one security mode the server offers (default None, with anonymous or user login). */
  mode?: 'None' | 'Sign' | 'SignAndEncrypt';
  /** Certificate store of the server (own certificate, trusted and rejected client certificates). */
  pkiDir?: string;
  /** Accept client certificates not in the trusted folder (default true); false: only trusted ones. */
  trustAll?: boolean;
}

/** `user` ("name:password") turns anonymous access off and accepts only that user. */
export async function startOpcuaSimulator(line: PlcLine, port: number, user?: string, security: OpcuaSecurity = {}): Promise<OpcuaSim> {
  const [name, password] = user ? [user.slice(0, user.indexOf(':')), user.slice(user.indexOf(':') + 1)] : [];
  const certificates = security.pkiDir ? new OPCUACertificateManager({ rootFolder: security.pkiDir, automaticallyAcceptUnknownCertificate: security.trustAll ?? true }) : undefined;
  const server = new OPCUAServer({
    port,
    resourcePath: '/UA/Linesight',
    buildInfo: { productName: 'Linesight PLC simulator', buildNumber: '1', buildDate: new Date() },
    allowAnonymous: !user,
    ...(user ? { userManager: { isValidUser: (u: string, p: string) => u === name && p === password } } : {}),
    ...(security.mode && security.mode !== 'None'
      ? { securityModes: [MessageSecurityMode[security.mode]], securityPolicies: [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss] }
      : {}),
    ...(certificates ? { serverCertificateManager: certificates } : {}),
  });
  await server.initialize();
  const ns: Namespace = server.engine.addressSpace!.getOwnNamespace();
  const folder: UAObject = ns.addObject({ organizedBy: server.engine.addressSpace!.rootFolder.objects, browseName: 'Line1', nodeId: 's=Line1' });
  let batchSize = 500;
  const variable = (name: string, dataType: DataType, get: () => unknown, set?: (v: unknown) => boolean) => {
    ns.addVariable({
      componentOf: folder,
      browseName: name,
      nodeId: `s=Line1.${name}`,
      dataType: DataType[dataType],
      minimumSamplingInterval: 50,
      value: {
        get: () => new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: get() }),
        ...(set
          ? {
              set: (v: Variant) => (set(v.value) ? StatusCodes.Good : StatusCodes.BadOutOfRange),
            }
          : {}),
      },
    });
  };
  const coil = (i: number) => (v: unknown) => {
    line.coils[i] = Boolean(v);
    return true;
  };
  variable('LineSpeed', DataType.Double, () => Math.round(line.speed * 100) / 100);
  variable('SpeedSetpoint', DataType.Double, () => line.setpoint, (v) => {
    const n = Number(v);
    if (!(n >= 0 && n <= 300)) return false;
    line.holding.set(floatWords(n), 2);
    return true;
  });
  variable('GoodCount', DataType.UInt32, () => line.get('GoodCount'));
  variable('RejectCount', DataType.UInt32, () => line.get('RejectCount'));
  variable('Mode', DataType.UInt16, () => line.holding[8]);
  variable('ProductCode', DataType.String, () => line.get('ProductCode'), (v) => {
    const s = String(v);
    if (s.length > 8) return false;
    const b = Buffer.alloc(8);
    b.write(s, 'latin1');
    for (let i = 0; i < 4; i++) line.holding[10 + i] = b.readUInt16BE(i * 2);
    return true;
  });
  variable('MotorTemp', DataType.Double, () => Math.round(line.temp * 10) / 10);
  variable('AlarmLamp', DataType.Boolean, () => line.coils[0], coil(0));
  variable('Horn', DataType.Boolean, () => line.coils[1], coil(1));
  variable('Diverter', DataType.Boolean, () => line.coils[2], coil(2));
  variable('LineStop', DataType.Boolean, () => line.coils[3], coil(3));
  variable('BatchSize', DataType.Int16, () => batchSize, (v) => {
    batchSize = Number(v);
    return true;
  });
  // Int64 travels as [high, low] 32-bit halves in node-opcua.
  let lifetimeCount: [number, number] = [0x0001_0203, 0x0405_0607];
  variable('LifetimeCount', DataType.Int64, () => lifetimeCount, (v) => {
    lifetimeCount = v as [number, number];
    return true;
  });
  await server.start();
  const rescan = certificates && security.pkiDir ? watchTrustFolders(certificates, security.pkiDir) : undefined;
  // The server names itself by hostname; clients on this machine reach it on the loopback address.
  const url = `opc.tcp://127.0.0.1:${port}/UA/Linesight`;
  return {
    url,
    close: async () => {
      if (rescan) clearInterval(rescan);
      await server.shutdown(0);
    },
  };
}

/**
 * An administrator trusts a client by moving its certificate from rejected/ to trusted/certs/. node-opcua's
 * certificate manager learns of such moves from file-system watchers it starts without waiting for them to
 * be ready, and a move they miss leaves the certificate rejected until a restart (seen here: still refused
 * 90 s later). The simulator looks at both folders' listings every second and, when either changed, has the
 * manager read them again, so trust (or its withdrawal) takes effect within a second, always.
 */
function watchTrustFolders(certificates: OPCUACertificateManager, pkiDir: string): NodeJS.Timeout {
  const listing = () =>
    ['trusted/certs', 'rejected']
      .map((d) => {
        try {
          return fs.readdirSync(path.join(pkiDir, d)).sort().join('/');
        } catch {
          return '';
        }
      })
      .join('|');
  let last = listing();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const now = listing();
    if (now === last) return;
    last = now;
    busy = true;
    certificates
      .reloadCertificates()
      .catch((err: Error) => console.error(`opcua: re-reading the certificate folders failed: ${err.message}`))
      .finally(() => {
        busy = false;
      });
  }, 1000);
  timer.unref();
  return timer;
}

function floatWords(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(n, 0);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}
