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
 * The RFC 6381 codec string MSE needs, from the first video track's sample entry:
 * avc1/avc3 → "avc1.PPCCLL" from avcC (profile, constraint flags, level).
 */
export function codecFromInit(init: Buffer): string | undefined {
  const moov = findBox(init, ['moov']);
  if (!moov) return undefined;
  for (const trak of readBoxes(payload(moov)).filter((b) => b.type === 'trak')) {
    const stsd = findBox(payload(trak), ['mdia', 'minf', 'stbl', 'stsd']);
    if (!stsd) continue;
    // stsd: full box header (4) + entry_count (4), then sample entries.
    const entries = readBoxes(payload(stsd).subarray(8));
    for (const entry of entries) {
      if (entry.type === 'avc1' || entry.type === 'avc3') {
        // Visual sample entry: 8 bytes (reserved + data_reference_index) + 70 bytes of fields before child boxes.
        const avcC = readBoxes(payload(entry).subarray(78)).find((b) => b.type === 'avcC');
        if (!avcC) return undefined;
        const p = payload(avcC);
        if (p.length < 4) return undefined;
        const hex = (n: number) => n.toString(16).padStart(2, '0').toUpperCase();
        return `avc1.${hex(p[1])}${hex(p[2])}${hex(p[3])}`;
      }
      if (entry.type === 'hvc1' || entry.type === 'hev1') return `${entry.type}.1.6.L93.B0`;
    }
  }
  return undefined;
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
