import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBoxId } from '../../src/mqtt/box-id.ts';
import { mqttTopics, parseCommand } from '../../src/mqtt/topics.ts';

const known = { cameras: ['porch', 'garden'], residents: ['alice'] };
const parse = (topic: string, payload: string | Buffer) => parseCommand('volet/b1', topic, Buffer.from(payload), known);

test('command topics become commands', () => {
  assert.deepEqual(parse('volet/b1/porch/shutter/set', 'close'), { command: { kind: 'shutter', camera: 'porch', state: 'closed' } });
  assert.deepEqual(parse('volet/b1/garden/shutter/set', ' OPEN\n'), { command: { kind: 'shutter', camera: 'garden', state: 'open' } });
  assert.deepEqual(parse('volet/b1/presence/alice/set', 'away'), { command: { kind: 'presence', resident: 'alice', state: 'away' } });
  for (const action of ['arm', 'disarm', 'trigger'] as const) {
    assert.deepEqual(parse('volet/b1/intrusion/set', action), { command: { kind: 'intrusion', action } });
  }
});

test('bad commands are errors that say what is wrong; other topics are ignored', () => {
  const error = (result: ReturnType<typeof parse>) => ('error' in result ? result.error : '');
  assert.match(error(parse('volet/b1/porch/shutter/set', 'banana')), /"banana" is not one of open, close/);
  assert.match(error(parse('volet/b1/attic/shutter/set', 'close')), /no camera "attic" \(cameras: porch, garden\)/);
  assert.match(error(parse('volet/b1/presence/mallory/set', 'home')), /no resident "mallory"/);
  assert.match(error(parse('volet/b1/intrusion/set', Buffer.alloc(10_000, 0x41))), /payload of 10000 bytes/);
  assert.match(error(parse('volet/b1/intrusion/set', '')), /"" is not one of arm, disarm, trigger/);
  assert.deepEqual(parse('volet/b1/porch/motion', 'ON'), { ignored: true });
  assert.deepEqual(parse('volet/b2/porch/shutter/set', 'close'), { ignored: true }, "another box's topic");
  assert.deepEqual(parse('volet/b1x/porch/shutter/set', 'close'), { ignored: true });
});

test('every topic sits under the prefix, and the command filters match the command topics', () => {
  const topics = mqttTopics('home/volet');
  assert.equal(topics.count('porch', 'person'), 'home/volet/porch/person/count');
  assert.equal(topics.shutterReason('porch'), 'home/volet/porch/shutter/reason');
  assert.deepEqual(topics.commandFilters, ['home/volet/+/shutter/set', 'home/volet/presence/+/set', 'home/volet/intrusion/set']);
});

test('the box id is created once and kept; a damaged file is an error that says how to fix it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-boxid-'));
  try {
    const id = loadBoxId(dir);
    assert.match(id, /^[0-9a-f]{10}$/);
    assert.equal(loadBoxId(dir), id);
    const other = mkdtempSync(join(tmpdir(), 'volet-boxid-'));
    assert.notEqual(loadBoxId(other), id);
    rmSync(other, { recursive: true });
    writeFileSync(join(dir, 'box-id'), 'not/valid\n');
    assert.throws(() => loadBoxId(dir), /does not hold a box id.*fix or delete it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
