// The DataSource the typeorm CLI uses (`npm run typeorm -- migration:show`). The real options live
// in src/ so that the build compiles them and the service and the CLI can never disagree.
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/database/data-source-options';

export default new DataSource(dataSourceOptions(loadConfig()));
