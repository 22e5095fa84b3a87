// Root hooks for the whole test run.
import { stopEmbeddedServices } from './services';

after(async function () {
  this.timeout(20_000);
  await stopEmbeddedServices();
});
