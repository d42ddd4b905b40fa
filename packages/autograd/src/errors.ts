/** Base class of every error tapegrad throws on purpose. Messages name the op, the values involved and what was expected. */
export class TapegradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Incompatible or invalid shapes, axes or sizes. */
export class ShapeError extends TapegradError {}

/** A dtype an operation cannot take (e.g. differentiating int32). */
export class DTypeError extends TapegradError {}

/** Misuse of the recorded graph: backward twice through a freed graph, a non-scalar output without a seed, ... */
export class GraphError extends TapegradError {}

/** A bad value: NaN under anomaly mode, a hyper-parameter out of range, malformed data. */
export class ValueError extends TapegradError {}

/**
 * A tensor that cannot be allocated: more bytes than the JS engine gives one ArrayBuffer, than memory
 * holds, or than StorageOptions.maxTensorBytes allows. A ValueError (the shape asked for is the bad
 * value); its own class so that a program can tell "too big" from other bad input, e.g. to retry with
 * a smaller batch. The message names the op the user called, the shape, the dtype and the bytes.
 */
export class AllocationError extends ValueError {
  constructor(
    /** The op the user called (null until known, while the error travels up from storage). */
    readonly op: string | null,
    readonly shape: readonly number[] | null,
    readonly dtype: string,
    readonly elements: number,
    readonly bytes: number,
    readonly reason: string,
  ) {
    const what =
      shape === null ? `${elements} ${dtype} elements` : `a ${dtype} tensor of shape [${shape.join(", ")}]`;
    const counts = shape === null ? `${bytes} bytes` : `${elements} elements, ${bytes} bytes`;
    super(`${op ?? "allocate"}: cannot allocate ${what} (${counts}): ${reason}`);
  }

  /** The same error with the op and shape filled in where they were not known yet. */
  naming(op: string | null, shape: readonly number[] | null = null): AllocationError {
    if ((this.op !== null || op === null) && (this.shape !== null || shape === null)) return this;
    const e = new AllocationError(
      this.op ?? op,
      this.shape ?? shape,
      this.dtype,
      this.elements,
      this.bytes,
      this.reason,
    );
    e.stack = this.stack?.replace(this.message, e.message);
    return e;
  }
}
