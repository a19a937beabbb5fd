// The codecs string Media Source Extensions needs, read from a fragmented MP4's init segment
// (ftyp + moov): avc1.PPCCLL from avcC, hvc1/hev1 from hvcC, mp4a.40.N from esds, opus.

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
/** Bytes between a sample entry's header and its child boxes (ISO/IEC 14496-12). */
const ENTRY_HEADER = { visual: 78, audio: 28 };

const type = (b, at) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const hex = (n) => n.toString(16).padStart(2, '0');

function* boxes(b, from, to) {
  let at = from;
  while (at + 8 <= to) {
    const size = u32(b, at);
    if (size < 8 || at + size > to) return;
    yield { type: type(b, at + 4), start: at + 8, end: at + size };
    at += size;
  }
}

/** End offset of the top-level moov box once `bytes` holds all of it, else -1. */
export function initSegmentEnd(bytes) {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const size = u32(bytes, at);
    if (size < 8) return -1;
    if (type(bytes, at + 4) === 'moov') return at + size <= bytes.length ? at + size : -1;
    at += size;
  }
  return -1;
}

function sampleEntryCodec(b, entry) {
  if (entry.type === 'avc1' || entry.type === 'avc3') {
    for (const child of boxes(b, entry.start + ENTRY_HEADER.visual, entry.end)) {
      if (child.type === 'avcC') return `${entry.type}.${hex(b[child.start + 1])}${hex(b[child.start + 2])}${hex(b[child.start + 3])}`;
    }
    return 'avc1.42E01E';
  }
  if (entry.type === 'hvc1' || entry.type === 'hev1') {
    for (const child of boxes(b, entry.start + ENTRY_HEADER.visual, entry.end)) {
      if (child.type !== 'hvcC') continue;
      const profile = b[child.start + 1] & 0x1f;
      const tier = b[child.start + 1] & 0x20 ? 'H' : 'L';
      return `${entry.type}.${profile}.6.${tier}${b[child.start + 12]}.B0`;
    }
    return `${entry.type}.1.6.L93.B0`;
  }
  if (entry.type === 'mp4a') {
    for (const child of boxes(b, entry.start + ENTRY_HEADER.audio, entry.end)) {
      if (child.type !== 'esds') continue;
      // The AudioSpecificConfig's first 5 bits are the object type (2 = AAC-LC, 5 = HE-AAC).
      let at = b.indexOf(0x05, child.start + 4) + 1;
      while (at > 0 && at < child.end && b[at] & 0x80) at += 1;
      const objectType = at > 0 && at + 1 < child.end ? b[at + 1] >> 3 : 2;
      return `mp4a.40.${[2, 5, 29].includes(objectType) ? objectType : 2}`;
    }
    return 'mp4a.40.2';
  }
  if (entry.type === 'Opus') return 'opus';
  return undefined;
}

/** The codecs of every track in the init segment, e.g. ['avc1.64001f', 'mp4a.40.2']. */
export function codecsOf(bytes) {
  const found = [];
  const walk = (from, to) => {
    for (const box of boxes(bytes, from, to)) {
      if (CONTAINERS.has(box.type)) walk(box.start, box.end);
      else if (box.type === 'stsd') {
        for (const entry of boxes(bytes, box.start + 8, box.end)) {
          const codec = sampleEntryCodec(bytes, entry);
          if (codec) found.push(codec);
        }
      }
    }
  };
  walk(0, bytes.length);
  return found;
}
