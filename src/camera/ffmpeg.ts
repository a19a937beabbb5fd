import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ffmpeg from 'fluent-ffmpeg';
import { GUARDED_FFMPEG } from '../process/child-lifetime.ts';
import type { HwAccel } from './hwaccel.ts';

/** The one place that builds ffmpeg commands. Callers never see argument lists. */

export type FfmpegCommand = ffmpeg.FfmpegCommand;

const RTSP_IO_TIMEOUT_US = 5_000_000;

/** Every command runs ffmpeg through the guard that kills it when Volet dies, even by SIGKILL. */
function newCommand(input?: string): ffmpeg.FfmpegCommand {
  const command = input === undefined ? ffmpeg({ stdoutLines: 20 }) : ffmpeg(input, { stdoutLines: 20 });
  return command.setFfmpegPath(GUARDED_FFMPEG);
}

/** An RTSP camera, or a file:/// URL played in real time in a loop (demo, tests). */
function rtspInput(url: string): ffmpeg.FfmpegCommand {
  const isFile = url.startsWith('file://');
  // RTSP: the SDP already names the codecs, so one second of probing is enough and connects faster.
  const input = isFile
    ? ['-re', '-stream_loop', '-1']
    : ['-rtsp_transport', 'tcp', '-timeout', String(RTSP_IO_TIMEOUT_US), '-analyzeduration', '1000000'];
  return newCommand(isFile ? fileURLToPath(url) : url)
    .inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'warning', ...input]);
}

/** Where a command reads a camera: its RTSP (or file://) URL, or fragmented MP4 on stdin from a tap of another connection. */
export type StreamSource = string | Readable;

function sourceInput(source: StreamSource): ffmpeg.FfmpegCommand {
  if (typeof source === 'string') return rtspInput(source);
  return newCommand().input(source).inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'warning', '-f', 'mp4']);
}

export type { HwAccel };

/**
 * Decoder options per hardware API. Decoded frames come back to system memory, where the same
 * fps/scale filters run; v4l2m2m (Raspberry Pi and other SoCs) is a decoder, named per codec.
 */
const HWACCEL_INPUT: Record<HwAccel, { input: string[]; filterPrefix: string }> = {
  none: { input: [], filterPrefix: '' },
  auto: { input: ['-hwaccel', 'auto'], filterPrefix: '' },
  vaapi: { input: ['-hwaccel', 'vaapi'], filterPrefix: '' },
  cuda: { input: ['-hwaccel', 'cuda'], filterPrefix: '' },
  qsv: { input: ['-hwaccel', 'qsv', '-hwaccel_output_format', 'qsv'], filterPrefix: 'hwdownload,format=nv12,' },
  v4l2m2m: { input: ['-c:v', 'h264_v4l2m2m'], filterPrefix: '' },
};

export interface DecodeOptions {
  fps: number;
  width: number;
  height: number;
  /** Where the raw frames go. */
  frames: Writable;
  hwaccel?: HwAccel;
  /** Raw input options for decoders the presets do not cover, placed before the input. */
  inputArgs?: string[];
  /**
   * Also send the stream, video copied, as fragmented MP4 to this unix socket (the sub stream's
   * live view, from the detector's connection). Nobody listening never stops the decoding.
   */
  liveSocket?: string;
}

/** Decodes a stream to raw yuv420p frames of exactly width×height at `fps`. */
export function decodeToRawFrames(source: StreamSource, opts: DecodeOptions): ffmpeg.FfmpegCommand {
  const hw = HWACCEL_INPUT[opts.hwaccel ?? 'none'];
  // No -fflags nobuffer / -flags low_delay: with RTSP they corrupt the decoded picture.
  // A small stream at a few fps needs one decoder thread and one filter thread; ffmpeg's default
  // (one per core, plus one) gives each thread its own frame buffers, for no gain here.
  const command = sourceInput(source).inputOptions(['-threads', '1', '-filter_threads', '1', ...hw.input, ...(opts.inputArgs ?? [])]);
  if (opts.liveSocket) {
    // tee with onfail=ignore, beside a null slave so one slave is always left: a socket that is
    // missing or closes ends only the live copy.
    command
      .output(`[f=mp4:movflags=frag_keyframe+empty_moov+default_base_moof:frag_duration=500000:onfail=ignore]unix:${opts.liveSocket}|[f=null]-`)
      .outputOptions(['-map', '0:v:0', '-c:v', 'copy', '-f', 'tee']);
  }
  return command.output(opts.frames).outputOptions([
    '-map', '0:v:0',
    '-an',
    '-vf', `${hw.filterPrefix}fps=${opts.fps},scale=${opts.width}:${opts.height}:flags=fast_bilinear`,
    '-pix_fmt', 'yuv420p',
    '-f', 'rawvideo',
  ]);
}

export interface SegmentOptions {
  segmentSeconds: number;
  /** printf-style output pattern in the RAM cache, e.g. /dev/shm/volet/porch/<run>-%06d.ts */
  outputPattern: string;
  /** Also write the stream as fragmented MP4 here (live view from the same connection). */
  live?: Writable;
}

/**
 * Records the stream without re-encoding into MPEG-TS segments cut at keyframes; audio is kept
 * when present. With `live`, the same connection also feeds the live view: video as is, audio as
 * AAC (MP4 cannot carry the G.711 many cameras send, and an unplayable live output must never
 * stop the recording), fragmented MP4 on stdout.
 */
export function recordSegments(url: string, opts: SegmentOptions): ffmpeg.FfmpegCommand {
  const command = rtspInput(url)
    .output(opts.outputPattern)
    .outputOptions([
      '-map', '0:v:0',
      '-map', '0:a:0?',
      '-c', 'copy',
      '-f', 'segment',
      '-segment_time', String(opts.segmentSeconds),
      '-segment_format', 'mpegts',
      '-reset_timestamps', '1',
    ]);
  if (!opts.live) return command;
  return command.output(opts.live).outputOptions(LIVE_MP4);
}

/** Live-view output: video as is, audio as mono AAC (the fast coder: ffmpeg's default two-loop search cost 1.8 % of a core per camera), fragmented MP4 (init once, then a fragment per keyframe or half second). */
const LIVE_MP4 = [
  '-map', '0:v:0',
  '-map', '0:a:0?',
  '-c:v', 'copy',
  '-c:a', 'aac', '-aac_coder', 'fast', '-ac', '1', '-b:a', '48k',
  '-f', 'mp4',
  '-movflags', 'frag_keyframe+empty_moov+default_base_moof',
  '-frag_duration', '500000',
];

/**
 * Joins decrypted MPEG-TS segments streamed from `input` into a playable MP4, without re-encoding;
 * with `durationSeconds`, the MP4 stops after that much.
 */
export function remuxToMp4(input: Readable, outputPath: string, opts: { durationSeconds?: number } = {}): ffmpeg.FfmpegCommand {
  const duration = opts.durationSeconds === undefined ? [] : ['-t', opts.durationSeconds.toFixed(3)];
  return newCommand()
    .input(input)
    .inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'mpegts'])
    .output(outputPath)
    .outputOptions(['-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', ...duration, '-movflags', '+faststart', '-f', 'mp4', '-y']);
}

/**
 * Playback of recordings: decrypted MPEG-TS segments streamed from `input` as fragmented MP4 on
 * stdout (ftyp+moov, then a moof+mdat per keyframe), video as is and audio as AAC like the live
 * view. Time 0 is the first packet's time: negative times are not shifted (an AAC encoder's
 * priming would otherwise move every frame), so the caller knows which instant time 0 is.
 */
export function remuxToFragmentedMp4(input: Readable): ffmpeg.FfmpegCommand {
  // One second of probing: a span that ends near the live edge must not wait for five.
  return newCommand()
    .input(input)
    .inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'error', '-analyzeduration', '1000000', '-f', 'mpegts'])
    .outputOptions([
      '-map', '0:v:0',
      '-map', '0:a:0?',
      '-c:v', 'copy',
      '-c:a', 'aac', '-aac_coder', 'fast', '-ac', '1', '-b:a', '48k',
      '-avoid_negative_ts', 'disabled',
      '-f', 'mp4',
      '-movflags', 'frag_keyframe+empty_moov+default_base_moof',
    ]);
}

/**
 * Live view: the camera's H.264 or H.265 repackaged without re-encoding as fragmented MP4 on stdout
 * (ftyp+moov once, then moof+mdat fragments starting at keyframes or every half second), its audio
 * as AAC like recordSegments' live output: copied G.711 would stop ffmpeg ("codec not currently
 * supported in container"), and MSE plays AAC.
 */
export function repackageToFragmentedMp4(url: string): ffmpeg.FfmpegCommand {
  return rtspInput(url)
    .outputOptions(LIVE_MP4);
}

export interface Mpeg1Options {
  /** Output width; height follows the aspect ratio. */
  width: number;
  /** MPEG-1 only knows 24, 25, 30, 50 and 60 (and the NTSC variants); 24 is the cheapest. */
  fps: 24 | 25 | 30;
  kbps: number;
}

/** Live-view fallback for browsers without Media Source Extensions: MPEG-1 in MPEG-TS for JSMpeg. */
export function transcodeToMpeg1(source: StreamSource, opts: Mpeg1Options): ffmpeg.FfmpegCommand {
  return sourceInput(source)
    .outputOptions([
      '-map', '0:v:0',
      '-an',
      '-vf', `fps=${opts.fps},scale=${opts.width}:-2`,
      '-c:v', 'mpeg1video',
      '-b:v', `${opts.kbps}k`,
      '-bf', '0',
      '-f', 'mpegts',
    ]);
}

/**
 * The built-in demo camera's clip: a grid background crossed by a figure every 12 s, H.264 with a
 * keyframe every second. Synthetic, so it needs no camera and no test image.
 */
export function demoClip(outputPath: string): ffmpeg.FfmpegCommand {
  return newCommand()
    .input('color=c=0x34495e:s=1280x720:r=15,drawgrid=w=80:h=80:t=1:c=0x4a6278')
    .inputOptions(['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi'])
    .input('color=c=0xe67e22:s=90x220:r=15')
    .inputOptions(['-f', 'lavfi'])
    .complexFilter("[0][1]overlay=x='if(lt(mod(t,12),6),-90+mod(t,12)*240,-200)':y=420:shortest=1")
    .output(outputPath)
    .outputOptions(['-t', '12', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '15', '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'mp4']);
}
