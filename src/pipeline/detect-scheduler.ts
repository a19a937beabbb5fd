import { iou, type Box } from '../geometry/box.ts';
import type { Detection, ObjectDetector } from '../detect/detector.ts';
import type { Frame } from '../camera/supervisor.ts';

export interface DetectJob {
  frame: Frame;
  regions: Box[];
  onResult: (detections: Detection[], frame: Frame) => void;
  onDropped: () => void;
}

/**
 * Shares one detector between all cameras. Each camera has a single waiting slot: a newer frame
 * replaces the waiting one (which counts as dropped) so a slow detector never builds a queue.
 * Cameras take turns, so a busy one cannot starve the others. The scheduler holds each submitted
 * frame until its job is done (result delivered, dropped or failed), so at most two frames per
 * camera: the one being detected and the one waiting.
 */
export class DetectScheduler {
  private readonly waiting = new Map<string, HeldJob>();
  private turn: string[] = [];
  private running = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly detector: ObjectDetector,
    private readonly onError: (camera: string, err: unknown) => void = () => {},
  ) {}

  submit(job: DetectJob): void {
    if (this.closed) return job.onDropped();
    const camera = job.frame.camera;
    const replaced = this.waiting.get(camera);
    if (replaced) dropped(replaced);
    else this.turn.push(camera);
    this.waiting.set(camera, { ...job, release: job.frame.hold() });
    if (!this.running) this.idle = this.drain();
  }

  get busy(): boolean {
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.values()) dropped(job);
    this.waiting.clear();
    this.turn = [];
    await this.idle;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.turn.length > 0) {
        const camera = this.turn.shift()!;
        const job = this.waiting.get(camera)!;
        this.waiting.delete(camera);
        try {
          const detections = await this.detectRegions(job);
          job.onResult(detections, job.frame);
        } catch (err) {
          this.onError(camera, err);
        } finally {
          job.release();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async detectRegions(job: DetectJob): Promise<Detection[]> {
    const { frame } = job;
    const all: Detection[] = [];
    for (const region of job.regions) {
      const full = region.x === 0 && region.y === 0 && region.width === frame.width && region.height === frame.height;
      all.push(...(await this.detector.detectYuv420(frame, full ? undefined : region)));
    }
    return job.regions.length > 1 ? dedupeAcrossRegions(all) : all;
  }
}

interface HeldJob extends DetectJob {
  release: () => void;
}

function dropped(job: HeldJob): void {
  job.release();
  job.onDropped();
}

/** Overlapping regions can see the same object twice; keep the better box of each same-label pair. */
function dedupeAcrossRegions(detections: Detection[]): Detection[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (!kept.some((k) => k.label === d.label && boxIou(k.box, d.box) > 0.5)) kept.push(d);
  }
  return kept;
}

function boxIou(a: Detection['box'], b: Detection['box']): number {
  const asBox = (d: Detection['box']) => ({ x: d[0], y: d[1], width: d[2] - d[0], height: d[3] - d[1] });
  return iou(asBox(a), asBox(b));
}
