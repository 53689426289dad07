/** A stand-in for stdout/stderr that keeps what was written. */
export class CaptureStream {
  readonly chunks: string[] = [];
  constructor(readonly isTTY = false) {}
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  text(): string {
    return this.chunks.join('');
  }
}
