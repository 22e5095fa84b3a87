// Child process for the cloud-bridge benchmarks: subscribes (QoS 0) and reports how many messages arrived,
// so the subscriber's own parsing does not run on the event loop being measured.
import mqtt from 'mqtt';

const [url, filter, version] = process.argv.slice(2);
let n = 0;
let sent = -1;
const c = mqtt.connect(url, { protocolVersion: Number(version) as 4 | 5 });
c.on('message', () => n++);
c.on('connect', () => {
  c.subscribe(filter, { qos: 0 }, (err) => {
    if (err) throw err;
    process.send!({ ready: true });
  });
});
setInterval(() => {
  if (n !== sent) {
    sent = n;
    process.send!({ n });
  }
}, 10);
process.on('message', (m: { reset?: boolean }) => {
  if (m.reset) n = 0;
});
process.on('disconnect', () => process.exit(0));
