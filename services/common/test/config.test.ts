import { commonVariables, ConfigError, configOrExit, databaseVariables, describeConfig, env, kafkaVariables, loadConfig } from '@eshop/common';

const definition = {
  port: env.port('PRODUCT_SERVICE_PORT', { doc: 'HTTP port.', default: 8081 }),
  ...databaseVariables('PRODUCT', 'product_db'),
  ...kafkaVariables('test-service'),
  verbose: env.boolean('VERBOSE', { doc: 'More output.', default: false }),
};

describe('loadConfig', () => {
  it('applies defaults and converts types when only required variables are set', () => {
    const config = loadConfig(definition, { PRODUCT_DB_PASSWORD: 's3cret' });
    expect(config.port).toBe(8081);
    expect(config.dbPort).toBe(3306);
    expect(config.dbPassword).toBe('s3cret');
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.verbose).toBe(false);
  });

  it('splits a comma-separated broker list and trims blanks', () => {
    const config = loadConfig(definition, { PRODUCT_DB_PASSWORD: '', KAFKA_BROKERS: ' a:9092, b:9092 ,,' });
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9092']);
  });

  it('names every bad or missing variable at once, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig(definition, { PRODUCT_SERVICE_PORT: '80x', PRODUCT_DB_PORT: '70000', VERBOSE: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('PRODUCT_SERVICE_PORT must be a TCP port number, got "80x"');
    expect(message).toContain('PRODUCT_DB_PORT must be 0-65535, got "70000"');
    expect(message).toContain('VERBOSE must be true or false');
    expect(message).toContain('PRODUCT_DB_PASSWORD is required but not set');
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('reads sizes as bytes and refuses what is not a size or out of range, naming the variable', () => {
    // The variable every service reads (commonVariables): checked at load, before any connection is opened.
    const sizes = { limit: commonVariables.httpBodyLimit };
    expect(loadConfig(sizes, {}).limit).toBe(102400);
    expect(loadConfig(sizes, { HTTP_BODY_LIMIT: '512' }).limit).toBe(512);
    expect(loadConfig(sizes, { HTTP_BODY_LIMIT: ' 1MB ' }).limit).toBe(1048576);
    expect(loadConfig(sizes, { HTTP_BODY_LIMIT: '1.5kb' }).limit).toBe(1536);
    for (const bad of ['banana', '100 kilobytes', '-1kb', '', '1e3']) {
      expect(() => loadConfig(sizes, { HTTP_BODY_LIMIT: bad })).toThrow(`HTTP_BODY_LIMIT must be a size such as 512, 100kb or 1mb, got ${JSON.stringify(bad)}`);
    }
    expect(() => loadConfig(sizes, { HTTP_BODY_LIMIT: '0' })).toThrow('HTTP_BODY_LIMIT must be at least 1B, got "0"');
    expect(() => loadConfig(sizes, { HTTP_BODY_LIMIT: '1gb' })).toThrow('HTTP_BODY_LIMIT must be at most 64MB, got "1gb"');
  });

  it('defaults KAFKA_CLIENT_ID to the process name it is given, as documented', () => {
    expect(loadConfig(definition, { PRODUCT_DB_PASSWORD: '' }).kafkaClientId).toBe('test-service');
    expect(describeConfig(definition)).toContain('| `KAFKA_CLIENT_ID` | `test-service` |');
  });

  it('never prints the value of a secret variable it rejects', () => {
    const secret = { token: { ...env.string('API_TOKEN', { doc: 'Token.', secret: true }) } };
    expect(() => loadConfig(secret, { API_TOKEN: '   ' })).toThrow(/API_TOKEN must not be empty$/m);
  });

  it('documents each variable with its default as a markdown table row', () => {
    const table = describeConfig(definition);
    expect(table).toContain('| `PRODUCT_SERVICE_PORT` | `8081` | HTTP port. |');
    expect(table).toContain('| `PRODUCT_DB_PASSWORD` | *(required)* |');
  });
});

describe('configOrExit', () => {
  it('returns the config when it loads', () => {
    expect(configOrExit(() => loadConfig(definition, { PRODUCT_DB_PASSWORD: '' })).port).toBe(8081);
  });

  it('prints the problems and exits 2 on a ConfigError, without a stack trace', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => configOrExit(() => loadConfig(definition, { PRODUCT_SERVICE_PORT: 'x', PRODUCT_DB_PASSWORD: '' }))).toThrow('exit 2');
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining('PRODUCT_SERVICE_PORT must be a TCP port number'));
      expect(String(stderr.mock.calls[0]?.[0])).not.toContain('    at ');
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });

  it('lets other errors through', () => {
    expect(() =>
      configOrExit(() => {
        throw new TypeError('bug');
      }),
    ).toThrow(TypeError);
  });
});
