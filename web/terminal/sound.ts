/**
 * The new-order chime: two short tones made with WebAudio, so there is no
 * asset to load. Browsers only start audio after a user gesture, so the
 * context is created (or resumed) from a click: the sign-in, or the "Enable
 * sound" button the screen shows while audio is blocked.
 */
export class Chime {
  #context: AudioContext | null = null;

  /** True when a chime would be heard now. */
  get enabled(): boolean {
    return this.#context?.state === "running";
  }

  /** Creates or resumes the audio context; call from a user gesture. */
  async unlock(): Promise<boolean> {
    try {
      this.#context ??= new AudioContext();
      if (this.#context.state === "suspended") await this.#context.resume();
    } catch {
      return false;
    }
    return this.enabled;
  }

  /** Plays the chime if audio is allowed; silently does nothing otherwise. */
  play(): void {
    const context = this.#context;
    if (context?.state !== "running") return;
    const start = context.currentTime + 0.01;
    this.#tone(context, 880, start, 0.16);
    this.#tone(context, 1320, start + 0.2, 0.24);
  }

  #tone(context: AudioContext, frequency: number, at: number, duration: number): void {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    // A quick attack and an exponential release, so the tone does not click.
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + duration);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + duration + 0.02);
  }
}
