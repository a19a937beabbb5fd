import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { repackageToFragmentedMp4 } from '../../src/camera/ffmpeg.ts';
import { codecFromInit, findBox, Fmp4Splitter, hevcCodec, mpeg4AudioCodec, readBoxes, type Fragment } from '../../src/restream/fmp4.ts';
import { h265Clip, personWalkClip } from '../support/clips.ts';

const run = promisify(execFile);

interface LiveOutput {
  init: Buffer;
  codec: string | undefined;
  fragments: Fragment[];
}

/** What the live view gets from a source: the init segment, its codec string and the first fragments. */
async function liveOutput(path: string, fragmentCount = 4): Promise<LiveOutput> {
  const command = repackageToFragmentedMp4(pathToFileURL(path).href);
  const out: Partial<LiveOutput> & { fragments: Fragment[] } = { fragments: [] };
  await new Promise<void>((resolve, reject) => {
    const splitter = new Fmp4Splitter(
      (init, codec) => Object.assign(out, { init, codec }),
      (fragment) => {
        if (out.fragments.push(fragment) === fragmentCount) {
          command.kill('SIGKILL');
          resolve();
        }
      },
    );
    command.on('error', (err: Error) => (out.fragments.length >= fragmentCount ? resolve() : reject(err)));
    command.pipe().on('data', (chunk: Buffer) => splitter.push(chunk));
  });
  return out as LiveOutput;
}

/** The sample entry type of every track of an init segment, in track order. */
function sampleEntries(init: Buffer): string[] {
  const moov = findBox(init, ['moov'])!;
  return readBoxes(moov.data.subarray(moov.headerSize))
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const stsd = findBox(trak.data.subarray(trak.headerSize), ['mdia', 'minf', 'stbl', 'stsd'])!;
      return readBoxes(stsd.data.subarray(stsd.headerSize + 8))[0].type;
    });
}

/** The live output as an MP4 file: init segment, then the fragments. */
function writeLive(dir: string, live: LiveOutput): string {
  const path = join(dir, 'live.mp4');
  writeFileSync(path, Buffer.concat([live.init, ...live.fragments.map((f) => f.data)]));
  return path;
}

/** ffprobe's view of a file's streams: an independent reading of what our parser reads. */
async function probe(path: string): Promise<Record<string, string>[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,codec_tag_string,profile,level', '-of', 'json', path]);
  return JSON.parse(stdout).streams;
}

describe('live view audio', () => {
  let dir: string;
  let aacClip: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'volet-live-codecs-'));
    aacClip = (await personWalkClip({ emptySeconds: 1, walkSeconds: 2, tailSeconds: 1, audio: true })).path;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a camera with AAC: the init segment has an mp4a track and the codec string names it for MSE', async () => {
    const live = await liveOutput(aacClip);
    assert.deepEqual(sampleEntries(live.init), ['avc1', 'mp4a']);
    assert.match(live.codec!, /^avc1\.4D[0-9A-F]{4}, mp4a\.40\.2$/);

    // ffprobe reads the same stream's audio as AAC LC (audio object type 2).
    const audio = (await probe(writeLive(dir, live))).find((s) => s.codec_type === 'audio')!;
    assert.equal(audio.codec_tag_string, 'mp4a');
    assert.equal(audio.profile, 'LC');

    // Fragments carry both tracks, and a viewer still joins at a video keyframe.
    assert.equal(live.fragments[0].keyframe, true);
    const trafs = readBoxes(live.fragments[0].data.subarray(8, live.fragments[0].data.readUInt32BE(0)));
    assert.equal(trafs.filter((b) => b.type === 'traf').length, 2);
  });

  test('a camera with G.711 audio, which MP4 cannot carry, still plays live, with AAC sound', async () => {
    const alaw = join(dir, 'alaw.mkv');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', aacClip, '-c:v', 'copy', '-c:a', 'pcm_alaw', '-ar', '8000', alaw]);
    assert.equal((await probe(alaw)).find((s) => s.codec_type === 'audio')!.codec_name, 'pcm_alaw');
    const live = await liveOutput(alaw, 2);
    assert.deepEqual(sampleEntries(live.init), ['avc1', 'mp4a']);
    assert.match(live.codec!, /, mp4a\.40\.2$/);
  });

  test('esds parsing follows ISO/IEC 14496-1 descriptors: long sizes, escaped object types, other codecs', () => {
    // ES_Descriptor(ES_ID 1, no flags) → DecoderConfigDescriptor(OTI, 12 bytes) → DecoderSpecificInfo(config).
    const esds = (oti: number, config: number[], longSizes = false) => {
      const size = (n: number) => (longSizes ? [0x80, 0x80, 0x80, n] : [n]);
      const specific = [0x05, ...size(config.length), ...config];
      const decoder = [0x04, ...size(13 + specific.length), oti, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...specific];
      const es = [0x03, ...size(3 + decoder.length), 0, 1, 0, ...decoder];
      return Buffer.from([0, 0, 0, 0, ...es]);
    };
    assert.equal(mpeg4AudioCodec(esds(0x40, [0x12, 0x10])), 'mp4a.40.2'); // AAC LC, 44.1 kHz stereo
    assert.equal(mpeg4AudioCodec(esds(0x40, [0x12, 0x10], true)), 'mp4a.40.2');
    assert.equal(mpeg4AudioCodec(esds(0x40, [0x2b, 0x8a, 0x08])), 'mp4a.40.5'); // HE-AAC (SBR)
    // Object type 31 escapes to 32 + the next 6 bits: 42 (USAC) is 31, then 10.
    assert.equal(mpeg4AudioCodec(esds(0x40, [0xf9, 0x46, 0x00])), 'mp4a.40.42');
    assert.equal(mpeg4AudioCodec(esds(0x6b, [])), 'mp4a.6B'); // MPEG-1 Layer 3
    assert.equal(mpeg4AudioCodec(esds(0x40, [0x12, 0x10]).subarray(0, 20)), undefined);
  });
});

describe('live view H.265', () => {
  test('the codec string comes from the stream’s hvcC, tagged hvc1 for Safari, and agrees with ffprobe', async (t) => {
    const clip = await h265Clip(await personWalkClip({ emptySeconds: 1, walkSeconds: 2, tailSeconds: 1 }));
    const live = await liveOutput(clip.path, 2);
    const dir = mkdtempSync(join(tmpdir(), 'volet-live-hevc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [video] = await probe(writeLive(dir, live));
    assert.equal(video.profile, 'Main');
    // Main profile is general_profile_idc 1, compatible with profiles 1 and 2 (flags 0x60000000, reversed: 6).
    // ffmpeg writes hev1; the viewer gets hvc1, the only tag Safari plays, and the file stays readable.
    assert.equal(video.codec_tag_string, 'hvc1');
    assert.ok(live.codec!.startsWith(`hvc1.1.6.L${video.level}.`), live.codec);
    assert.match(live.codec!, /^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2}){1,6}$/);
    assert.equal(live.fragments[0].keyframe, true);
  });

  test('hvcC fields map to the ISO/IEC 14496-15 Annex E string', () => {
    const hvcC = (byte1: number, compat: number, constraints: number[], level: number) => {
      const b = Buffer.alloc(23);
      b[0] = 1;
      b[1] = byte1;
      b.writeUInt32BE(compat, 2);
      Buffer.from(constraints).copy(b, 6);
      b[12] = level;
      return b;
    };
    // Main profile, Main tier, level 3.1, progressive, non-packed, frame-only.
    assert.equal(hevcCodec('hev1', hvcC(0x01, 0x60000000, [0xb0, 0, 0, 0, 0, 0], 93)), 'hev1.1.6.L93.B0');
    // Profile space 1, idc 4, High tier, level 4: flags 0x82000000 reversed are 0x41; zero bytes at the end dropped.
    assert.equal(hevcCodec('hvc1', hvcC(0x40 | 0x20 | 4, 0x82000000, [0xb0, 0x23, 0, 0, 0, 0], 120)), 'hvc1.A4.41.H120.B0.23');
    // Main 10, no constraint flags at all.
    assert.equal(hevcCodec('hvc1', hvcC(0x02, 0x20000000, [0, 0, 0, 0, 0, 0], 150)), 'hvc1.2.4.L150');
    assert.equal(hevcCodec('hvc1', Buffer.alloc(12)), undefined);
  });
});

test('codecFromInit never throws on a damaged init segment', async () => {
  const clip = await personWalkClip({ emptySeconds: 1, walkSeconds: 2, tailSeconds: 1, audio: true });
  const { init } = await liveOutput(clip.path, 1);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(init.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.nat(init.length), (flips, cut) => {
      const damaged = Buffer.from(init.subarray(0, cut));
      for (const [at, value] of flips) if (at < damaged.length) damaged[at] = value;
      const codec = codecFromInit(damaged);
      assert.ok(codec === undefined || typeof codec === 'string');
    }),
    { numRuns: 2000 },
  );
});
