import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet } from '../../src/app/start.ts';
import { startMosquitto } from '../support/mosquitto.ts';
import { tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

test('Volet with wrong broker credentials runs on, says so once, and reports it in its health', { timeout: 60_000 }, async () => {
  const broker = await startMosquitto({ users: { volet: 'the right password' }, acl: ['user volet', 'topic readwrite volet/#'] });
  const t = tempVoletConfig(`mqtt: { url: '${broker.url}', username: volet, password: 'the wrong password', boxId: creds }\n`);
  const volet = await startVolet(t.config, t.logger, { web: false });
  try {
    await waitFor('unauthorized', () => volet.mqtt!.status().state === 'unauthorized', 10_000);
    await new Promise((r) => setTimeout(r, 3500)); // retries go on with backoff
    assert.equal(volet.mqtt!.status().state, 'unauthorized');
    assert.match(volet.mqtt!.status().lastError!, /refused the credentials/);
    const lines = t.logLines.filter((l) => String(l.msg).startsWith('MQTT broker unavailable'));
    assert.equal(lines.length, 1, 'one log line, not one per retry');
    assert.ok(!JSON.stringify(t.logLines).includes('the wrong password'));
    const report = await volet.health();
    assert.equal(report.mqtt?.state, 'unauthorized', 'the health report shows it');
    assert.equal(report.status, 'up', 'a broker refusing Volet is not a recording problem');
  } finally {
    await volet.stop();
    await broker.stop();
    t.cleanup();
  }
});
