import { parseFlags, FlagError, HelpRequested, parseGoBool, type FlagSpecs } from './flags.js';

const specs = {
  port: { type: 'int', default: 50001, help: 'gRPC port' },
  'log-level': { type: 'string', default: 'info', help: 'log level' },
  'enable-metrics': { type: 'bool', default: true, help: 'metrics on' },
  'tls-enabled': { type: 'bool', default: false, help: 'TLS' },
  'keepalive-time': { type: 'duration', default: 2000, help: 'keepalive' },
  'initial-cluster': { type: 'stringSlice', default: ['dapr-placement-0=127.0.0.1:8201'], help: 'peers' },
} satisfies FlagSpecs;

const pflag = (argv: string[]) => parseFlags(specs, argv, { program: 'placement', dialect: 'pflag' });
const goflag = (argv: string[]) => parseFlags(specs, argv, { program: 'operator', dialect: 'goflag' });

describe('parseFlags', () => {
  it('returns the defaults when nothing is given', () => {
    const { values, set } = pflag([]);
    expect(values).toEqual({
      port: 50001,
      'log-level': 'info',
      'enable-metrics': true,
      'tls-enabled': false,
      'keepalive-time': 2000,
      'initial-cluster': ['dapr-placement-0=127.0.0.1:8201'],
    });
    expect(set.size).toBe(0);
  });

  describe.each([
    ['--port=7', ['--port=7']],
    ['--port 7', ['--port', '7']],
    ['-port=7', ['-port=7']],
    ['-port 7', ['-port', '7']],
  ])('when a value is spelled %s', (_name, argv) => {
    it('reads it', () => {
      const { values, set } = pflag(argv);
      expect(values.port).toBe(7);
      expect(set.has('port')).toBe(true);
    });
  });

  it('reads a separate value word that starts with a dash, as Go does', () => {
    expect(pflag(['--log-level', '-x']).values['log-level']).toBe('-x');
  });

  it('takes a bare boolean as true and =value words as Go ParseBool does', () => {
    expect(pflag(['--tls-enabled']).values['tls-enabled']).toBe(true);
    expect(pflag(['-tls-enabled=true']).values['tls-enabled']).toBe(true);
    expect(pflag(['--enable-metrics=false']).values['enable-metrics']).toBe(false);
    expect(pflag(['--enable-metrics=0']).values['enable-metrics']).toBe(false);
    expect(pflag(['--enable-metrics=F']).values['enable-metrics']).toBe(false);
  });

  it('leaves a boolean true when its value is a separate word, which becomes a positional (pflag)', () => {
    const { values, positionals } = pflag(['--tls-enabled', 'false']);
    expect(values['tls-enabled']).toBe(true);
    expect(positionals).toEqual(['false']);
  });

  it('parses Go durations', () => {
    expect(pflag(['--keepalive-time=1m30s']).values['keepalive-time']).toBe(90_000);
    expect(pflag(['--keepalive-time', '500ms']).values['keepalive-time']).toBe(500);
  });

  it('replaces a slice default on first use and appends on repeats', () => {
    expect(pflag(['--initial-cluster=a=1,b=2', '--initial-cluster', 'c=3']).values['initial-cluster']).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('lets the last of repeated scalar flags win', () => {
    expect(pflag(['--port=1', '--port=2']).values.port).toBe(2);
  });

  describe('when positional arguments appear', () => {
    it('ignores them anywhere in the pflag dialect', () => {
      const { values, positionals } = pflag(['extra', '--port=9', 'more']);
      expect(values.port).toBe(9);
      expect(positionals).toEqual(['extra', 'more']);
    });

    it('stops at the first one in the goflag dialect', () => {
      const { values, positionals } = goflag(['--port=9', 'stop', '--port=10']);
      expect(values.port).toBe(9);
      expect(positionals).toEqual(['stop', '--port=10']);
    });

    it('ends flag parsing at --', () => {
      expect(pflag(['--', '--port=9']).values.port).toBe(50001);
    });
  });

  describe('when the input is wrong', () => {
    it.each([
      [['--unknown=1'], /unknown/i],
      [['--port=abc'], /invalid argument "abc" for "--port" flag: expected an integer/],
      [['--enable-metrics=maybe'], /expected true or false/],
      [['--keepalive-time=5'], /expected a duration/],
      [['--log-level'], /flag needs an argument: --log-level/],
    ])('rejects %j with exit code 2 and a message naming the flag', (argv, message) => {
      let error: unknown;
      try {
        pflag(argv);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(FlagError);
      expect((error as FlagError).exitCode).toBe(2);
      expect((error as Error).message).toMatch(message);
    });
  });

  it.each([['--help'], ['-h'], ['-help']])('asks for help with %s (exit code 0) and lists the flags with defaults', (arg) => {
    let error: unknown;
    try {
      pflag([arg]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HelpRequested);
    expect((error as HelpRequested).exitCode).toBe(0);
    expect((error as HelpRequested).usage).toContain('--keepalive-time duration');
    expect((error as HelpRequested).usage).toContain('(default 2s)');
  });
});

describe('parseGoBool', () => {
  it('accepts exactly the words of strconv.ParseBool', () => {
    for (const word of ['1', 't', 'T', 'true', 'TRUE', 'True']) expect(parseGoBool(word)).toBe(true);
    for (const word of ['0', 'f', 'F', 'false', 'FALSE', 'False']) expect(parseGoBool(word)).toBe(false);
    for (const word of ['yes', 'on', 'tRuE', '']) expect(parseGoBool(word)).toBeUndefined();
  });
});
