/** Thrown when a display helper is given input it cannot show; the message names the input and what was wrong. */
export class VizInputError extends Error {
  override readonly name = "VizInputError";
  constructor(readonly action: string, readonly reason: string) {
    super(`Cannot ${action}: ${reason}`);
  }
}
