import ffmpeg from 'fluent-ffmpeg';

/** The one place that builds ffmpeg commands. Callers never see argument lists. */

export type FfmpegCommand = ffmpeg.FfmpegCommand;

const RTSP_IO_TIMEOUT_US = 5_000_000;

function rtspInput(url: string): ffmpeg.FfmpegCommand {
  const input = url.startsWith('rtsp')
    ? ['-rtsp_transport', 'tcp', '-timeout', String(RTSP_IO_TIMEOUT_US)]
    : ['-re', '-stream_loop', '-1'];
  return ffmpeg(url, { stdoutLines: 0 })
    .inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'warning', ...input]);
}

export interface DecodeOptions {
  fps: number;
  width: number;
  height: number;
}

/** Decodes a stream to raw yuv420p frames of exactly width×height at `fps`, written to stdout. */
export function decodeToRawFrames(url: string, opts: DecodeOptions): ffmpeg.FfmpegCommand {
  return rtspInput(url)
    .inputOptions(['-fflags', 'nobuffer', '-flags', 'low_delay'])
    .outputOptions([
      '-map', '0:v:0',
      '-an',
      '-vf', `fps=${opts.fps},scale=${opts.width}:${opts.height}:flags=fast_bilinear`,
      '-pix_fmt', 'yuv420p',
      '-f', 'rawvideo',
    ]);
}
