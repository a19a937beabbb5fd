import { get, post } from '../api.js';
import { clear, formatBytes, formatTime, h, page, toast } from '../ui.js';
import { vaultLockedNotice } from './events.js';

export async function render(main, ctx) {
  const { cameras } = await get('/cameras');
  const health = await get('/health').catch(() => null);
  const isViewer = ctx.session.user.admin || Object.values(ctx.session.user.grants).some((rights) => rights.includes('recordings'));
  const vault = await get('/vault');
  let storage = null;
  let storageError = null;
  if (isViewer) {
    try {
      storage = await get('/storage');
    } catch (err) {
      storageError = err.message;
    }
  }

  const recordingOf = new Map((health?.cameras ?? []).map((c) => [c.name, c]));
  const healthSection = health
    ? h('section', { class: 'card' },
        h('h2', {}, 'Health'),
        h('p', {}, h('span', { class: `badge ${health.status === 'up' ? 'streaming' : 'backoff'}` }, health.status === 'up' ? 'Up' : 'Degraded')),
        health.problems.length > 0 ? h('ul', { 'aria-label': 'Problems' }, health.problems.map((p) => h('li', {}, p.message))) : null,
        health.eventLoop ? h('p', {}, `Worst event-loop lag in the last ${health.eventLoop.windowSeconds} s: ${Math.round(health.eventLoop.worstLagMs)} ms`) : null,
      )
    : null;
  const recordingCell = (name) => {
    const r = recordingOf.get(name);
    if (!r || r.recording === 'not_expected') return '—';
    const age = r.recordingAgeSeconds === null ? 'nothing yet' : `${Math.round(r.recordingAgeSeconds)} s ago`;
    return r.recording === 'ok' ? age : `failing (${age})`;
  };

  const cameraTable = h('table', {},
    h('caption', {}, 'Cameras'),
    h('thead', {}, h('tr', {}, ['Camera', 'State', 'Frames/s', 'Since', 'Shutter', 'Last segment', 'Problem'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {},
      cameras.map((c) =>
        h('tr', {},
          h('th', { scope: 'row' }, h('a', { href: `#/camera/${c.name}` }, c.name)),
          h('td', {}, h('span', { class: `badge ${c.state}` }, c.state)),
          h('td', {}, String(c.fps)),
          h('td', {}, formatTime(c.since)),
          h('td', {}, c.shutter ?? '—'),
          h('td', {}, recordingCell(c.name)),
          h('td', {}, c.lastError ?? ''),
        ),
      ),
    ),
  );

  const vaultSection = h('section', { class: 'card' },
    h('h2', {}, 'Vault'),
    !vault.initialised
      ? h('p', {}, 'The vault has not been set up.')
      : vault.unlocked
        ? [
            h('p', {}, 'Unlocked: snapshots and clips can be viewed.'),
            isViewer
              ? h('button', { type: 'button', onclick: async () => {
                  await post('/vault/lock');
                  toast('Vault locked');
                  render(main, ctx);
                } }, 'Lock now')
              : null,
          ]
        : isViewer
          ? vaultLockedNotice(() => render(main, ctx))
          : h('p', {}, 'Locked.'),
  );

  const storageSection = isViewer
    ? h('section', { class: 'card' },
        h('h2', {}, 'Storage'),
        storage
          ? [
              h('meter', { min: 0, max: storage.totalBytes, value: storage.totalBytes - storage.freeBytes, 'aria-label': 'Disk used' }),
              h('p', {}, `${formatBytes(storage.usedByVoletBytes)} used by Volet · ${formatBytes(storage.freeBytes)} free of ${formatBytes(storage.totalBytes)}`),
              h('ul', {}, Object.entries(storage.perCamera).map(([cam, bytes]) => h('li', {}, `${cam}: ${formatBytes(bytes)}`))),
            ]
          : h('p', {}, storageError ?? ''),
      )
    : null;

  const backup = ctx.session.user.admin ? await get('/backup').catch(() => null) : null;
  const backupSection = backup && backup.targets.length > 0
    ? h('section', { class: 'card' },
        h('table', {},
          h('caption', {}, 'Backup'),
          h('thead', {}, h('tr', {}, ['Target', 'Health', 'Last success', 'Waiting', 'Problem'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {},
            backup.targets.map((t) =>
              h('tr', {},
                h('th', { scope: 'row' }, t.target),
                h('td', {}, h('span', { class: `badge ${t.healthy ? 'streaming' : 'backoff'}` }, t.healthy ? 'healthy' : 'failing')),
                h('td', {}, t.lastSuccessMs ? formatTime(t.lastSuccessMs) : 'never'),
                h('td', {}, `${t.backlogCount} file(s), ${formatBytes(t.backlogBytes)}`),
                h('td', {}, t.lastError ?? ''),
              ),
            ),
          ),
        ),
      )
    : null;

  clear(main, page('Status', healthSection, cameraTable, vaultSection, storageSection, backupSection));
}
