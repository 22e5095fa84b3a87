// A small Node gRPC client for linesight.v1.InspectionIntake: what the camera simulator uses, and what
// tests and benchmarks can use to play a camera. Unary `submit` and an ordered `stream`.
import * as grpc from '@grpc/grpc-js';
import { intakeService, type ProtoInspection, type SubmitReply } from '../../../nodes/camera-intake';
import type { Inspection } from '../../../contracts/messages';

export type { ProtoInspection, SubmitReply };

export interface CameraClientOptions {
  /** host:port of a camera-intake node. */
  target: string;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** PEM material: `ca` alone for TLS, plus `cert` and `key` for mutual TLS. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; serverName?: string };
  maxMessageBytes?: number;
}

/** An open SubmitStream: `send` resolves with the reply to that inspection (replies come in order). */
export interface InspectionStream {
  send(p: ProtoInspection): Promise<SubmitReply>;
  /** Half-closes and waits for the server to end the call. */
  end(): Promise<void>;
  /** True once the call failed or ended: open a new stream to go on. */
  readonly closed: boolean;
}

export class CameraClient {
  private readonly client: grpc.Client & Record<string, any>;
  private readonly metadata = new grpc.Metadata();

  constructor(o: CameraClientOptions) {
    const Ctor = intakeService();
    const creds = o.tls
      ? grpc.credentials.createSsl(o.tls.ca ? Buffer.from(o.tls.ca) : null, o.tls.key ? Buffer.from(o.tls.key) : null, o.tls.cert ? Buffer.from(o.tls.cert) : null)
      : grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = { 'grpc.max_send_message_length': o.maxMessageBytes ?? 64 * 1024 * 1024 };
    if (o.tls?.serverName) options['grpc.ssl_target_name_override'] = o.tls.serverName;
    this.client = new Ctor(o.target, creds, options) as grpc.Client & Record<string, any>;
    if (o.token) this.metadata.set('authorization', `Bearer ${o.token}`);
  }

  /** Resolves with the reply; rejects with the gRPC error (`code`, `details`). */
  submit(p: ProtoInspection, deadlineMs = 30_000): Promise<SubmitReply> {
    return new Promise((resolve, reject) => {
      this.client.Submit(p, this.metadata, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, reply: SubmitReply) => (err ? reject(err) : resolve(reply)));
    });
  }

  stream(): InspectionStream {
    const call = this.client.SubmitStream(this.metadata) as grpc.ClientDuplexStream<ProtoInspection, SubmitReply>;
    const waiting: Array<{ resolve(r: SubmitReply): void; reject(e: Error): void }> = [];
    let failure: Error | undefined;
    let closed = false;
    const ended = new Promise<void>((resolve) => {
      call.on('data', (r: SubmitReply) => waiting.shift()?.resolve(r));
      call.on('error', (err: Error) => {
        failure = err;
        closed = true;
        for (const w of waiting.splice(0)) w.reject(err);
        resolve();
      });
      call.on('end', () => {
        closed = true;
        for (const w of waiting.splice(0)) w.reject(new Error('stream ended before its reply'));
        resolve();
      });
    });
    return {
      get closed() {
        return closed;
      },
      send(p) {
        if (failure) return Promise.reject(failure);
        return new Promise((resolve, reject) => {
          waiting.push({ resolve, reject });
          call.write(p);
        });
      },
      async end() {
        call.end();
        await ended;
      },
    };
  }

  /** Resolves when the channel is connected (or rejects after `timeoutMs`). */
  ready(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.client.waitForReady(Date.now() + timeoutMs, (err?: Error) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.client.close();
  }
}

/** The proto message for a contract `Inspection` (what a camera would send). */
export function toProtoInspection(i: Inspection): ProtoInspection {
  return {
    inspection_id: i.inspectionId,
    camera_id: i.cameraId,
    line_id: i.line,
    product_serial: i.productSerial ?? '',
    captured_at_ms: i.capturedAt,
    detections: i.detections.map((d) => ({ defect_class: d.defectClass, confidence: d.confidence, box: d.box ?? null })),
    image: i.image ? { data: Buffer.isBuffer(i.image.data) ? i.image.data : Buffer.from(i.image.data, 'base64'), format: i.image.format, width: i.image.width, height: i.image.height } : null,
    model_version: i.modelVersion ?? '',
    attributes: i.attributes ?? {},
  };
}
