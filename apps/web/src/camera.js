// Live camera through getUserMedia (needs https or localhost on phones).

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
  }

  get active() {
    return this.stream !== null;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser has no camera access (getUserMedia); use https or localhost');
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment', width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
