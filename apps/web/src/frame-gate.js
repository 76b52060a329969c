// Camera frames, photos and the tools (self-test, benchmark) share one ONNX session and one
// input buffer. The gate keeps them apart: a camera frame is skipped while a frame is in flight
// or any exclusive task waits or runs; an exclusive task waits for the frame in flight, and
// exclusive tasks run one after another.

export class FrameGate {
  constructor() {
    this.inflight = null; // the camera frame being processed
    this.waiting = 0; // exclusive tasks queued or running
    this.tail = Promise.resolve();
  }

  get paused() {
    return this.waiting > 0;
  }

  // Run one camera frame now, or skip it; resolves to whether it ran.
  async frame(fn) {
    if (this.waiting > 0 || this.inflight !== null) return false;
    this.inflight = Promise.resolve().then(fn);
    try {
      await this.inflight;
      return true;
    } finally {
      this.inflight = null;
    }
  }

  // Run `fn` alone: after the frame in flight and after earlier exclusive tasks.
  exclusive(fn) {
    this.waiting += 1;
    const run = this.tail.then(async () => {
      await this.inflight?.catch(() => {});
      return fn();
    });
    this.tail = run.catch(() => {});
    return run.finally(() => {
      this.waiting -= 1;
    });
  }
}
