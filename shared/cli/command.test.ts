import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../errors.ts';
import { envName, parseCommandArgs, renderHelp, type Command } from './command.ts';

const command: Command = {
  name: 'control-plane',
  summary: 'test command',
  usage: 'mcpmux control-plane',
  examples: ['mcpmux control-plane --grpc-port 1'],
  flags: [
    { name: 'grpc-port', type: 'number', default: 18000, description: 'port' },
    { name: 'source', type: 'string', default: 'files', choices: ['files', 'kubernetes'], description: 'source' },
    { name: 'leader-elect', type: 'boolean', default: false, description: 'elect' },
  ],
  run: async () => 0,
};

test('env names follow the subcommand and flag', () => {
  assert.is(envName('control-plane', 'grpc-port'), 'MCPMUX_CONTROL_PLANE_GRPC_PORT');
  assert.is(envName('proxy', 'port'), 'MCPMUX_PROXY_PORT');
});

test('defaults, then environment, then flags', () => {
  assert.is(parseCommandArgs(command, [], {}).flags['grpc-port'], 18000);
  assert.is(parseCommandArgs(command, [], { MCPMUX_CONTROL_PLANE_GRPC_PORT: '1234' }).flags['grpc-port'], 1234);
  assert.is(parseCommandArgs(command, ['--grpc-port', '99'], { MCPMUX_CONTROL_PLANE_GRPC_PORT: '1234' }).flags['grpc-port'], 99);
  assert.is(parseCommandArgs(command, ['--grpc-port=98'], {}).flags['grpc-port'], 98);
  // A variable meant for another subcommand is not read.
  assert.is(parseCommandArgs(command, [], { MCPMUX_PROXY_GRPC_PORT: '5' }).flags['grpc-port'], 18000);
});

test('booleans take --flag, --no-flag and env values', () => {
  assert.is(parseCommandArgs(command, ['--leader-elect'], {}).flags['leader-elect'], true);
  assert.is(parseCommandArgs(command, ['--no-leader-elect'], { MCPMUX_CONTROL_PLANE_LEADER_ELECT: 'true' }).flags['leader-elect'], false);
  assert.is(parseCommandArgs(command, [], { MCPMUX_CONTROL_PLANE_LEADER_ELECT: 'yes' }).flags['leader-elect'], true);
});

test('bad input gets an error that names the flag and the fix', () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--nope'], {}, /unknown flag --nope/],
    [['--grpc-port'], {}, /--grpc-port needs a value/],
    [['--grpc-port', 'abc'], {}, /--grpc-port must be a whole number, not "abc"/],
    [[], { MCPMUX_CONTROL_PLANE_GRPC_PORT: '-1' }, /MCPMUX_CONTROL_PLANE_GRPC_PORT must be a whole number/],
    [['--source', 'cluster'], {}, /--source must be one of files, kubernetes, not "cluster"/],
  ];
  for (const [argv, env, message] of cases) {
    try {
      parseCommandArgs(command, argv, env);
      assert.unreachable(`accepted ${argv.join(' ')}`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_USAGE');
      assert.match((error as Error).message, message);
      assert.match((error as Error).message, /--help/);
    }
  }
});

test('positionals and --help are returned', () => {
  const parsed = parseCommandArgs(command, ['dir', '--help'], {});
  assert.equal(parsed.positionals, ['dir']);
  assert.ok(parsed.help);
});

test('help shows each flag with its default and environment variable', () => {
  const help = renderHelp(command);
  assert.match(help, /--grpc-port N\s+port \(default 18000\)/);
  assert.match(help, /env MCPMUX_CONTROL_PLANE_GRPC_PORT/);
  assert.match(help, /\[files\|kubernetes\]/);
  assert.match(help, /Examples:\n  mcpmux control-plane --grpc-port 1/);
});



test('parseArgs edges: --bool=value, values after --, a single-dash flag we do not have', () => {
  assert.is(parseCommandArgs(command, ['--leader-elect=false'], { MCPMUX_CONTROL_PLANE_LEADER_ELECT: 'true' }).flags['leader-elect'], false);
  assert.equal(parseCommandArgs(command, ['a', '--', '--grpc-port', '--leader-elect=1'], {}).positionals, ['a', '--grpc-port', '--leader-elect=1']);
  assert.throws(() => parseCommandArgs(command, ['--leader-elect=maybe'], {}), /--leader-elect must be true or false, not "maybe"/);
  assert.throws(() => parseCommandArgs(command, ['-x'], {}), /unknown flag -x/);
  assert.throws(() => parseCommandArgs(command, ['--grpc-port', '--source', 'files'], {}), /--grpc-port needs a value/);
});

test.run();
