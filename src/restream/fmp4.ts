// Fragmented MP4 as ffmpeg writes it with -movflags frag_keyframe+empty_moov+default_base_moof:
// ftyp, moov (the init segment), then moof+mdat pairs. Pure bytes-in, boxes-out code.

export interface Box {
  type: string;
  /** Whole box including its header. */
  data: Buffer;
  /** Offset of the payload within data. */
  headerSize: number;
}

/** Reads the boxes laid end to end in buf (children of a container's payload). */
export function readBoxes(buf: Buffer): Box[] {
  const boxes: Box[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    let header: ReturnType<typeof boxHeader>;
    try {
      header = boxHeader(buf, offset, buf.length - offset);
    } catch {
      break; // a malformed child ends the listing; nothing in it is trusted
    }
    if (!header || offset + header.size > buf.length) break;
    boxes.push({ type: header.type, data: buf.subarray(offset, offset + header.size), headerSize: header.headerSize });
    offset += header.size;
  }
  return boxes;
}

/** `toEnd` is the size a box of size 0 ("to the end of its container") gets; a live stream has no end. */
function boxHeader(buf: Buffer, offset: number, toEnd?: number): { size: number; type: string; headerSize: number } | undefined {
  if (offset + 8 > buf.length) return undefined;
  let size = buf.readUInt32BE(offset);
  const type = buf.toString('latin1', offset + 4, offset + 8);
  let headerSize = 8;
  if (size === 1) {
    if (offset + 16 > buf.length) return undefined;
    const large = buf.readBigUInt64BE(offset + 8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`MP4 box ${type} is too large`);
    size = Number(large);
    headerSize = 16;
  } else if (size === 0) {
    if (toEnd !== undefined) return { size: toEnd, type, headerSize };
    throw new Error(`MP4 box ${type} runs to the end of the stream; a live stream must size its boxes`);
  }
  if (size < headerSize) throw new Error(`MP4 box ${type} has an invalid size ${size}`);
  return { size, type, headerSize };
}

const payload = (box: Box) => box.data.subarray(box.headerSize);

/** Finds the first box along a path of types, e.g. ['trak', 'mdia', 'minf']. */
export function findBox(buf: Buffer, path: string[]): Box | undefined {
  let boxes = readBoxes(buf);
  let found: Box | undefined;
  for (const type of path) {
    found = boxes.find((b) => b.type === type);
    if (!found) return undefined;
    boxes = readBoxes(payload(found));
  }
  return found;
}

/**
 * The RFC 6381 codecs MSE needs, one per track in track order, e.g. "avc1.4D401E, mp4a.40.2":
 * video from avcC (H.264) or hvcC (H.265), audio from esds (AAC and other MPEG-4 audio) or Opus.
 * Undefined when the init segment has no track whose codec can be named.
 */
export function codecFromInit(init: Buffer): string | undefined {
  const codecs = sampleEntries(init).map(sampleEntryCodec).filter((c) => c !== undefined);
  return codecs.length ? codecs.join(', ') : undefined;
}

/** The first sample entry of each track, as views into init (writing to them changes init). */
function sampleEntries(init: Buffer): Box[] {
  const moov = findBox(init, ['moov']);
  if (!moov) return [];
  const entries: Box[] = [];
  for (const trak of readBoxes(payload(moov)).filter((b) => b.type === 'trak')) {
    const stsd = findBox(payload(trak), ['mdia', 'minf', 'stbl', 'stsd']);
    // stsd: full box header (4) + entry_count (4), then sample entries; a track has one.
    const entry = stsd ? readBoxes(payload(stsd).subarray(8))[0] : undefined;
    if (entry) entries.push(entry);
  }
  return entries;
}

/**
 * Renames an H.265 sample entry from hev1 (ffmpeg's choice for stream copy) to hvc1, in place:
 * Safari plays only hvc1, and the parameter sets hvc1 requires in hvcC are there (ffmpeg writes them
 * from the stream's extradata); Chrome plays both.
 */
export function tagHevcAsHvc1(init: Buffer): void {
  for (const entry of sampleEntries(init)) if (entry.type === 'hev1') entry.data.write('hvc1', 4, 'latin1');
}

const hex = (n: number) => n.toString(16).toUpperCase();
const hex2 = (n: number) => hex(n).padStart(2, '0');

function sampleEntryCodec(entry: Box): string | undefined {
  const p = payload(entry);
  switch (entry.type) {
    case 'avc1':
    case 'avc3': {
      const avcC = visualChild(p, 'avcC');
      return avcC && avcC.length >= 4 ? `${entry.type}.${hex2(avcC[1])}${hex2(avcC[2])}${hex2(avcC[3])}` : undefined;
    }
    case 'hvc1':
    case 'hev1': {
      const hvcC = visualChild(p, 'hvcC');
      return hvcC ? hevcCodec(entry.type, hvcC) : undefined;
    }
    case 'mp4a': {
      const esds = audioChild(p, 'esds');
      return esds ? mpeg4AudioCodec(esds) : undefined;
    }
    case 'Opus':
      return 'opus';
    default:
      return undefined;
  }
}

/** A visual sample entry's child box: 8 bytes (reserved + data_reference_index) + 70 bytes of fields before the children. */
function visualChild(entry: Buffer, type: string): Buffer | undefined {
  const box = readBoxes(entry.subarray(78)).find((b) => b.type === type);
  return box && payload(box);
}

/**
 * An audio sample entry's child box: 8 bytes + 20 bytes of fields, plus the 16 or 36 bytes that
 * QuickTime sound description versions 1 and 2 add.
 */
function audioChild(entry: Buffer, type: string): Buffer | undefined {
  if (entry.length < 28) return undefined;
  const version = entry.readUInt16BE(8);
  const fields = 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
  const box = readBoxes(entry.subarray(fields)).find((b) => b.type === type);
  return box && payload(box);
}

/**
 * "hev1|hvc1.<profile space A-C><profile idc>.<compatibility flags, bit-reversed, hex>.<L|H><level idc>
 * .<constraint bytes, hex, trailing zero bytes left out>", from the HEVCDecoderConfigurationRecord
 * (ISO/IEC 14496-15 §8.3.3.1 and Annex E).
 */
export function hevcCodec(type: string, hvcC: Buffer): string | undefined {
  if (hvcC.length < 13) return undefined;
  const space = hvcC[1] >> 6;
  const tier = (hvcC[1] >> 5) & 1;
  const profile = hvcC[1] & 0x1f;
  const flags = hvcC.readUInt32BE(2);
  let reversed = 0;
  for (let bit = 0; bit < 32; bit++) if (flags & (1 << bit)) reversed |= 1 << (31 - bit);
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = hvcC[12];
  return [
    type,
    `${['', 'A', 'B', 'C'][space]}${profile}`,
    hex(reversed >>> 0),
    `${tier ? 'H' : 'L'}${level}`,
    ...constraints.map(hex),
  ].join('.');
}

/**
 * "mp4a.<objectTypeIndication>[.<audio object type>]" from an esds box: ES_Descriptor →
 * DecoderConfigDescriptor → DecoderSpecificInfo, whose AudioSpecificConfig starts with the audio
 * object type (2 for AAC-LC), as RFC 6381 §3.3 describes.
 */
export function mpeg4AudioCodec(esds: Buffer): string | undefined {
  // Full box header (4), then the ES_Descriptor (tag 3).
  const es = readDescriptor(esds, 4);
  if (!es || es.tag !== 0x03 || es.start + 3 > es.end) return undefined;
  const esFlags = esds[es.start + 2];
  let offset = es.start + 3;
  if (esFlags & 0x80) offset += 2; // dependsOn_ES_ID
  if (esFlags & 0x40) offset += 1 + (esds[offset] ?? 0); // URL
  if (esFlags & 0x20) offset += 2; // OCR_ES_Id
  const config = readDescriptor(esds, offset, es.end);
  if (!config || config.tag !== 0x04 || config.start + 13 > config.end) return undefined;
  const objectType = esds[config.start];
  if (objectType !== 0x40) return `mp4a.${hex2(objectType)}`;
  const specific = readDescriptor(esds, config.start + 13, config.end);
  if (!specific || specific.tag !== 0x05 || specific.start >= specific.end) return undefined;
  const first = esds[specific.start];
  let audioObjectType = first >> 3;
  if (audioObjectType === 31) {
    if (specific.start + 1 >= specific.end) return undefined;
    audioObjectType = 32 + (((first & 0x07) << 3) | (esds[specific.start + 1] >> 5));
  }
  return `mp4a.40.${audioObjectType}`;
}

/** An MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3): a tag, then a size in 7-bit groups (high bit: more follow). */
function readDescriptor(buf: Buffer, offset: number, limit = buf.length): { tag: number; start: number; end: number } | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = buf[offset];
  let size = 0;
  let o = offset + 1;
  for (let i = 0; i < 4; i++) {
    if (o >= limit) return undefined;
    const b = buf[o++];
    size = (size << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  const end = o + size;
  return end <= limit ? { tag, start: o, end } : undefined;
}

/** default_sample_flags of the track's trex (moov/mvex/trex), used when a fragment gives none. */
export function trexDefaultSampleFlags(init: Buffer): number | undefined {
  const trex = findBox(init, ['moov', 'mvex', 'trex']);
  if (!trex) return undefined;
  const p = payload(trex);
  // version/flags(4) track_ID(4) default_sample_description_index(4) duration(4) size(4) flags(4)
  return p.length >= 24 ? p.readUInt32BE(20) : undefined;
}

const SAMPLE_IS_NON_SYNC = 0x00010000;

/** True when the first sample of the fragment is a sync sample (a keyframe a decoder can start at). */
export function fragmentStartsWithKeyframe(moof: Buffer, trexFlags?: number): boolean {
  const traf = findBox(moof, ['moof', 'traf']);
  if (!traf) return false;
  const children = readBoxes(payload(traf));
  const tfhd = children.find((b) => b.type === 'tfhd');
  const trun = children.find((b) => b.type === 'trun');
  if (!trun) return false;

  let defaultFlags = trexFlags;
  if (tfhd) {
    const p = payload(tfhd);
    const flags = p.readUInt32BE(0) & 0xffffff;
    let o = 8; // version/flags + track_ID
    if (flags & 0x01) o += 8;
    if (flags & 0x02) o += 4;
    if (flags & 0x08) o += 4;
    if (flags & 0x10) o += 4;
    if (flags & 0x20) defaultFlags = p.readUInt32BE(o);
  }

  const p = payload(trun);
  const flags = p.readUInt32BE(0) & 0xffffff;
  const sampleCount = p.readUInt32BE(4);
  if (sampleCount === 0) return false;
  let o = 8;
  if (flags & 0x01) o += 4; // data_offset
  let sampleFlags: number | undefined;
  if (flags & 0x04) {
    sampleFlags = p.readUInt32BE(o);
  } else if (flags & 0x400) {
    let s = o;
    if (flags & 0x100) s += 4;
    if (flags & 0x200) s += 4;
    sampleFlags = p.readUInt32BE(s);
  } else {
    sampleFlags = defaultFlags;
  }
  if (sampleFlags === undefined) return false;
  return (sampleFlags & SAMPLE_IS_NON_SYNC) === 0;
}

export interface Fragment {
  /** moof followed by its mdat. */
  data: Buffer;
  keyframe: boolean;
}

/**
 * Splits a byte stream of fragmented MP4 into the init segment (everything before the first moof)
 * and moof+mdat fragments, whatever the chunk boundaries of the pipe were.
 */
export class Fmp4Splitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private initParts: Buffer[] = [];
  private moof?: Buffer;
  private trexFlags?: number;
  init?: Buffer;
  codec?: string;

  constructor(
    private readonly onInit: (init: Buffer, codec: string | undefined) => void,
    private readonly onFragment: (fragment: Fragment) => void,
  ) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < 8) return;
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    let offset = 0;
    for (;;) {
      const header = boxHeader(buf, offset);
      if (!header || offset + header.size > buf.length) break;
      this.onBox(header.type, buf.subarray(offset, offset + header.size));
      offset += header.size;
    }
    buf = buf.subarray(offset);
    // Copy the remainder so the large chunk it came from can be freed.
    this.pending = buf.length ? [Buffer.from(buf)] : [];
    this.pendingBytes = buf.length;
  }

  private onBox(type: string, box: Buffer): void {
    if (type === 'moof') {
      if (!this.init) {
        this.init = Buffer.concat(this.initParts);
        this.initParts = [];
        tagHevcAsHvc1(this.init);
        this.codec = codecFromInit(this.init);
        this.trexFlags = trexDefaultSampleFlags(this.init);
        this.onInit(this.init, this.codec);
      }
      this.moof = Buffer.from(box);
    } else if (type === 'mdat') {
      if (!this.moof) return;
      const moof = this.moof;
      this.moof = undefined;
      this.onFragment({ data: Buffer.concat([moof, box]), keyframe: fragmentStartsWithKeyframe(moof, this.trexFlags) });
    } else if (!this.init && (type === 'ftyp' || type === 'moov')) {
      this.initParts.push(Buffer.from(box));
    }
    // styp, sidx, mfra, free… carry nothing a live viewer needs.
  }
}
