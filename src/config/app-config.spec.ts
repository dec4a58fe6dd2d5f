import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('gives the defaults of CONTRACT section 8 for an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 3000,
      DB_HOST: '127.0.0.1',
      DB_PORT: 3306,
      DB_USER: 'root',
      DB_PASSWORD: '',
      DB_NAME: 'hi',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: 6379,
      REDIS_DB: 0,
      CACHE_TTL_SECONDS: 3600,
      SESSION_TTL_SECONDS: 2592000,
      CDC_MODE: 'off',
      AUTH_RATE_LIMIT_PER_MINUTE: 60,
      LOGIN_FAILURES_PER_PHONE: 5,
      EMAIL_CODE_COOLDOWN_SECONDS: 60,
    });
  });

  it('reads numbers and ignores unrelated variables', () => {
    const config = loadConfig({ PORT: '8080', REDIS_DB: '3', AUTH_RATE_LIMIT_PER_MINUTE: '0', HOME: '/root' });
    expect([config.PORT, config.REDIS_DB, config.AUTH_RATE_LIMIT_PER_MINUTE]).toEqual([8080, 3, 0]);
    expect(config).not.toHaveProperty('HOME');
  });

  it.each([
    ['PORT', 'eighty'],
    ['DB_PORT', '70000'],
    ['REDIS_DB', '-1'],
    ['CACHE_TTL_SECONDS', '0'],
    ['CDC_MODE', 'kafka'],
    ['DB_NAME', 'hi; DROP'],
    ['LOGIN_FAILURES_PER_PHONE', '1.5'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}=`));
  });

  it('reads LOG_FORMAT json (the default) or pretty, and refuses anything else naming the variable', () => {
    expect(loadConfig({}).LOG_FORMAT).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    for (const value of ['Pretty', 'text', '', ' pretty']) {
      expect(() => loadConfig({ LOG_FORMAT: value })).toThrow(
        new RegExp(`^Invalid configuration:\\n  LOG_FORMAT=${JSON.stringify(value)}: LOG_FORMAT must be json or pretty$`),
      );
    }
  });

  it('needs ADMIN_PHONE and ADMIN_PASSWORD together', () => {
    expect(() => loadConfig({ ADMIN_PHONE: '10000000000' })).toThrow(/ADMIN_PHONE and ADMIN_PASSWORD/);
    expect(loadConfig({ ADMIN_PHONE: '10000000000', ADMIN_PASSWORD: 'long-enough' }).ADMIN_PHONE).toBe('10000000000');
  });
});
