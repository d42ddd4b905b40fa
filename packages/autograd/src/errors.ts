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
