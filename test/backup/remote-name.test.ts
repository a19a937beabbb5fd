import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InvalidRemoteNameError,
  assertRemoteName,
  assertRemotePrefix,
  folderOfPrefix,
  joinRemote,
  parentFoldersOf,
} from '../../src/backup/remote-name.ts';

test('relative POSIX names of vault files are accepted as they are', () => {
  const name = 'porch/2026-11-22/segment-1795330000000-1795330004000.volet';
  assert.equal(assertRemoteName(name), name);
  assert.equal(assertRemoteName('entrée/caméra été.volet'), 'entrée/caméra été.volet');
});

test('path traversal, absolute paths, backslashes and control characters are rejected', () => {
  for (const name of ['..', '../x', 'a/../../x', 'a/..', '/etc/passwd', 'C:/x', 'a\\b', 'a//b', './a', 'a/./b', 'a/', 'a\nb', 'a\rb', 'a\u0000b', '', ' a', 'a /b']) {
    assert.throws(() => assertRemoteName(name), InvalidRemoteNameError, JSON.stringify(name));
  }
});

test('prefixes may be empty or end with a slash, but may not escape either', () => {
  assert.equal(assertRemotePrefix(''), '');
  assert.equal(assertRemotePrefix('porch/'), 'porch/');
  assert.equal(assertRemotePrefix('porch/2026-11'), 'porch/2026-11');
  assert.throws(() => assertRemotePrefix('../'), InvalidRemoteNameError);
  assert.throws(() => assertRemotePrefix('/porch/'), InvalidRemoteNameError);
});

test('folder helpers', () => {
  assert.deepEqual(parentFoldersOf('a/b/c.volet'), ['a', 'a/b']);
  assert.deepEqual(parentFoldersOf('c.volet'), []);
  assert.equal(folderOfPrefix('porch/2026-1'), 'porch');
  assert.equal(folderOfPrefix('porch/'), 'porch');
  assert.equal(folderOfPrefix('por'), '');
  assert.equal(joinRemote('/volet/', 'a/b'), '/volet/a/b');
  assert.equal(joinRemote('', 'a'), '/a');
  assert.equal(joinRemote('/', ''), '/');
});
