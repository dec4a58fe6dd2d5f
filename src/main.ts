import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const app = await createApp(config);
  await app.listen(config.PORT, '0.0.0.0');
  new Logger('Main').log(`hi-server listening on port ${config.PORT} (CDC_MODE=${config.CDC_MODE})`);
}

main().catch((err) => {
  process.stderr.write(`hi-server failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
