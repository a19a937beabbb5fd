import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { pushEndpointProblem, selfHostedProblem, type DestinationPolicy } from '../../src/notify/destinations.ts';

const NONE: DestinationPolicy = { pushServices: [], allowedHosts: [] };

test("the browser vendors' push services are allowed without any config", () => {
  for (const endpoint of [
    'https://fcm.googleapis.com/fcm/send/abc:APA91b',
    'https://updates.push.services.mozilla.com/wpush/v2/gAAAAA',
    'https://web.push.apple.com/QGuQyavXutnMH',
    'https://wns2-par02p.notify.windows.com/w/?token=BQYAAA',
  ]) {
    assert.equal(pushEndpointProblem(endpoint, NONE), undefined, endpoint);
  }
});

test('anything else is refused as a push endpoint: LAN, loopback, metadata, look-alikes, http, other ports', () => {
  for (const endpoint of [
    'http://127.0.0.1:22/',
    'http://169.254.169.254/latest/meta-data/',
    'http://192.168.1.1/admin',
    'https://localhost/push',
    'http://fcm.googleapis.com/fcm/send/x',
    'https://fcm.googleapis.com:8443/fcm/send/x',
    'https://fcm.googleapis.com.evil.example/fcm/send/x',
    'https://evil.example/fcm.googleapis.com/',
    'https://user@fcm.googleapis.com/fcm/send/x',
    'https://push.apple.com/x',
    'https://a.b.push.apple.com/x',
    'https://notify.windows.com.evil.example/x',
    'file:///etc/passwd',
    'not a url',
  ]) {
    assert.match(pushEndpointProblem(endpoint, NONE) ?? '', /push service/, endpoint);
  }
});

test('notifications.pushServices allows exactly those origins (scheme, host and port)', () => {
  const policy: DestinationPolicy = { pushServices: ['http://127.0.0.1:8080', 'https://push.example.org'], allowedHosts: [] };
  assert.equal(pushEndpointProblem('http://127.0.0.1:8080/push/1', policy), undefined);
  assert.equal(pushEndpointProblem('https://push.example.org/p/1', policy), undefined);
  for (const endpoint of ['http://127.0.0.1:8081/push/1', 'https://127.0.0.1:8080/push/1', 'http://push.example.org/p/1', 'https://push.example.org:444/p']) {
    assert.notEqual(pushEndpointProblem(endpoint, policy), undefined, endpoint);
  }
});

test('ntfy/Gotify hosts: nothing is allowed by default; host allows any port, host:port that port, in any spelling of the address', () => {
  assert.match(selfHostedProblem('https://ntfy.sh/topic', NONE) ?? '', /not in notifications\.allowedHosts/);
  const policy: DestinationPolicy = { pushServices: [], allowedHosts: ['NTFY.home.arpa', '192.168.1.5:8080', '[fd00::5]'] };
  for (const url of ['https://ntfy.home.arpa/t', 'http://ntfy.home.arpa:81/t', 'http://192.168.1.5:8080/t', 'http://[fd00::5]:2586/t', 'http://3232235781:8080/t']) {
    assert.equal(selfHostedProblem(url, policy), undefined, url);
  }
  for (const url of ['http://192.168.1.5/t', 'http://192.168.1.5:8081/t', 'https://ntfy.home.arpa.evil.example/t', 'http://[fd00::6]/t', 'http://u:p@ntfy.home.arpa/t']) {
    assert.notEqual(selfHostedProblem(url, policy), undefined, url);
  }
});

function configProblems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'volet.yml', {});
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
}

test('volet.yml: pushServices are origins, allowedHosts are host[:port], and ntfy/gotify URLs are usable, or the config is refused', () => {
  const config = parseConfig("notifications:\n  pushServices: ['HTTPS://Push.Example.org/']\n  allowedHosts: [ntfy.lan, '10.0.0.5:8080', '[fd00::1]']\n", 'volet.yml', {});
  assert.deepEqual(config.notifications.pushServices, ['https://push.example.org']);
  assert.deepEqual(parseConfig('', 'volet.yml', {}).notifications, { cooldownSeconds: 60, pushServices: [], allowedHosts: [] });

  const problems = configProblems(
    "notifications:\n  pushServices: ['https://push.example.org/some/path', 'ftp://push.example.org']\n" +
      "  allowedHosts: ['http://ntfy.lan', 'ntfy.lan:99999', 'a b']\n" +
      '  ntfy: https://ntfy.lan/\n  gotify: https://gotify.lan/\n',
  );
  for (const path of [
    'notifications.pushServices[0]',
    'notifications.pushServices[1]',
    'notifications.allowedHosts[0]',
    'notifications.allowedHosts[1]',
    'notifications.allowedHosts[2]',
    'notifications.ntfy',
    'notifications.gotify',
  ]) {
    assert.ok(problems.some((p) => p.startsWith(`${path}:`)), `${path} in ${problems.join(' | ')}`);
  }
});
