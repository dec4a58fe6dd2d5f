import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadEnvFiles } from './env-files';

describe('loadEnvFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hi-env-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the environment wins over .env, and .env over the defaults file', () => {
    writeFileSync(join(dir, '.env'), 'HI_T_SHELL=dotenv\nHI_T_DOTENV=dotenv\n');
    writeFileSync(join(dir, 'defaults.env'), 'HI_T_SHELL=default\nHI_T_DOTENV=default\nHI_T_DEFAULT=default\n');
    const env: NodeJS.ProcessEnv = { HI_T_SHELL: 'shell', HI_ENV_DEFAULTS: 'defaults.env' };
    expect(loadEnvFiles(dir, env)).toEqual([join(dir, '.env'), join(dir, 'defaults.env')]);
    expect(env).toEqual({ HI_T_SHELL: 'shell', HI_T_DOTENV: 'dotenv', HI_T_DEFAULT: 'default', HI_ENV_DEFAULTS: 'defaults.env' });
  });

  it('reads nothing, and says nothing, when there is no file', () => {
    const env: NodeJS.ProcessEnv = { HI_ENV_DEFAULTS: 'missing.env' };
    const write = jest.spyOn(process.stderr, 'write');
    expect(loadEnvFiles(dir, env)).toEqual([]);
    expect(env).toEqual({ HI_ENV_DEFAULTS: 'missing.env' });
    expect(write).not.toHaveBeenCalled();
    write.mockRestore();
  });
});
