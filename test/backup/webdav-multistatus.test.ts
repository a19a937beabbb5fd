import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMultistatus } from '../../src/backup/webdav-multistatus.ts';

test('an Apache mod_dav style multistatus with D: prefixes and a 404 propstat', () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:lp1="DAV:">
<D:response><D:href>/dav/volet/</D:href><D:propstat><D:prop><lp1:resourcetype><D:collection/></lp1:resourcetype>
<lp1:getlastmodified>Sun, 22 Nov 2026 10:00:00 GMT</lp1:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
<D:propstat><D:prop><D:getcontentlength/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>
<D:response><D:href>/dav/volet/caf%C3%A9%20porch/a%26b.volet</D:href><D:propstat><D:prop><lp1:resourcetype/>
<lp1:getcontentlength>1234</lp1:getcontentlength><lp1:getlastmodified>Sun, 22 Nov 2026 10:00:04 GMT</lp1:getlastmodified>
</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>`;
  assert.deepEqual(parseMultistatus(xml), [
    { path: '/dav/volet/', isCollection: true, modifiedMs: Date.UTC(2026, 10, 22, 10, 0, 0) },
    { path: '/dav/volet/café porch/a&b.volet', isCollection: false, size: 1234, modifiedMs: Date.UTC(2026, 10, 22, 10, 0, 4) },
  ]);
});

test('lower-case d: prefixes, a default namespace, full URLs and entities in href', () => {
  const xml = `<d:multistatus xmlns:d="DAV:"><d:response><d:href>http://nas.local/remote.php/dav/x/a&amp;b.volet</d:href>
<d:propstat><d:prop><d:getcontentlength>7</d:getcontentlength><d:resourcetype></d:resourcetype></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<response xmlns="DAV:"><href>/remote.php/dav/x/sub/</href><propstat><prop><resourcetype><collection/></resourcetype></prop>
<status>HTTP/1.1 200 OK</status></propstat></response></d:multistatus>`;
  assert.deepEqual(parseMultistatus(xml), [
    { path: '/remote.php/dav/x/a&b.volet', isCollection: false, size: 7 },
    { path: '/remote.php/dav/x/sub/', isCollection: true },
  ]);
});
