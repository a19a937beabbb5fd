// Export mode: the range drawn on the bar (or set from the playhead) becomes an MP4 made on the
// server, one export at a time; progress is polled, and the file is deleted there once downloaded.
import { del, get, post } from '../api.js';
import { h } from '../ui.js';
import { clockTime, duration } from './format.js';

const POLL_MS = 700;

/** The export panel. camera() is the camera on the bar; playhead() the time under the playhead. */
export function exportPanel({ camera, playhead, onRange }) {
  let range = null;
  let job = null;
  let timer;

  const rangeText = h('p', { class: 'tl-range', 'aria-live': 'polite' });
  const start = h('button', { type: 'button' }, 'Start at playhead');
  const end = h('button', { type: 'button' }, 'End at playhead');
  const go = h('button', { type: 'button', class: 'primary', disabled: true }, 'Export MP4');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel export');
  const progress = h('progress', { max: '100', value: '0', hidden: true, 'aria-label': 'Export progress' });
  const status = h('p', { class: 'tl-export-status', role: 'status' });
  const link = h('a', { class: 'button primary tl-download', hidden: true, download: '' }, 'Download MP4');

  const show = () => {
    rangeText.textContent = range
      ? `${camera()}: ${clockTime(range.from)} – ${clockTime(range.to)} (${duration(range.to - range.from)})`
      : 'Drag across the bar to choose what to export, or set the start and end at the playhead.';
    go.disabled = !range || Boolean(job && ['queued', 'running'].includes(job.state));
  };

  const setRange = (next) => {
    range = next && next.to - next.from >= 1000 ? next : null;
    onRange(range);
    show();
  };
  start.addEventListener('click', () => {
    const t = playhead();
    setRange({ from: t, to: range && range.to > t ? range.to : t + 30_000 });
  });
  end.addEventListener('click', () => {
    const t = playhead();
    setRange({ from: range && range.from < t ? range.from : t - 30_000, to: t });
  });

  const poll = async () => {
    try {
      job = await get(`/exports/${job.id}`);
    } catch (err) {
      status.textContent = err.message;
      job = null;
      return done();
    }
    const percent = job.state === 'ready' ? 100 : Math.round((job.progress ?? 0) * (job.progress > 1 ? 1 : 100));
    progress.value = percent;
    if (job.state === 'queued') status.textContent = 'Waiting for the export before it…';
    else if (job.state === 'running') status.textContent = `Exporting… ${percent} %`;
    else if (job.state === 'failed') {
      status.textContent = `Export failed: ${job.error ?? 'unknown error'}`;
      return done();
    } else if (job.state === 'ready') {
      status.textContent = 'Ready. The file is removed from Volet once downloaded.';
      link.href = `/api/exports/${job.id}/download`;
      link.hidden = false;
      return done();
    }
    timer = setTimeout(poll, POLL_MS);
  };
  const done = () => {
    cancel.hidden = true;
    show();
  };

  go.addEventListener('click', async () => {
    if (!range) return;
    link.hidden = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = 'Starting the export…';
    try {
      const { id } = await post('/exports', { camera: camera(), from: Math.round(range.from), to: Math.round(range.to) });
      job = { id, state: 'queued' };
      cancel.hidden = false;
      show();
      poll();
    } catch (err) {
      progress.hidden = true;
      status.textContent = err.message;
    }
  });
  cancel.addEventListener('click', async () => {
    clearTimeout(timer);
    if (job) await del(`/exports/${job.id}`).catch(() => {});
    job = null;
    progress.hidden = true;
    status.textContent = 'Export cancelled.';
    done();
  });
  link.addEventListener('click', () => {
    setTimeout(() => {
      link.hidden = true;
      status.textContent = 'Downloaded; the file is no longer on Volet.';
    }, 500);
  });

  show();
  const el = h('section', { class: 'card tl-export', 'aria-labelledby': 'tl-export-title' },
    h('h2', { id: 'tl-export-title' }, 'Export'),
    rangeText,
    h('div', { class: 'toolbar' }, start, end, go, cancel),
    progress,
    status,
    link,
  );
  return {
    el,
    setRange,
    stop: () => clearTimeout(timer),
  };
}
