/**
 * Which segment files ffmpeg's segment muxer has finished, from listings of its folder in the RAM
 * cache: a file is finished once the next one of the same run exists (ffmpeg opens the next file
 * only after closing this one), or once the run has ended. Pure: names and times in.
 */
export interface FinishedFile {
  name: string;
  /** When the file was first seen (the first of a run) or when the one before it was finished. */
  startMs: number;
}

export class SegmentFiles {
  private run = '';
  private lastSeq = -1;
  private open?: FinishedFile;

  /** A new ffmpeg run writes `<run>-<sequence>.ts`; files of earlier runs are no longer followed. */
  newRun(run: string): void {
    this.run = run;
    this.lastSeq = -1;
    this.open = undefined;
  }

  /** Names in the folder now; returns the files finished since the last call, oldest first. */
  seen(names: readonly string[], nowMs: number): FinishedFile[] {
    const prefix = `${this.run}-`;
    const fresh = names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.ts'))
      .map((name) => ({ name, seq: Number(name.slice(prefix.length, -3)) }))
      .filter((f) => Number.isInteger(f.seq) && f.seq > this.lastSeq)
      .sort((a, b) => a.seq - b.seq);
    const finished: FinishedFile[] = [];
    for (const file of fresh) {
      if (this.open) finished.push(this.open);
      this.open = { name: file.name, startMs: nowMs };
      this.lastSeq = file.seq;
    }
    return finished;
  }

  /** The run ended: its last file is finished too (ffmpeg closed it, or died while writing it). */
  endRun(): FinishedFile | undefined {
    const last = this.open;
    this.open = undefined;
    return last;
  }

  /**
   * The finished file's end (its last write, when ffmpeg closed it to open the next): the next file
   * starts there, so the segments of a run are contiguous whatever the delay in seeing them.
   */
  ended(endMs: number): void {
    if (this.open) this.open.startMs = endMs;
  }
}
