import { storageOf } from "./batched.js";
import { activatePoolScope, mayOwnBuffer, openPoolScope, type PoolScope, releaseToPool } from "./storage.js";
import type { Tensor } from "./tensor.js";

/**
 * The buffers a backward walk allocated, with how many cotangent slots (a node's pending cotangent,
 * an entry of the walk's results) hold each. A buffer goes back to the pool when its last slot lets
 * go, and everything a node's vjp allocated that no slot took (its temporaries) when the walk moves
 * on. Buffers the walk did not allocate are never counted, so never returned.
 */
export class WalkBuffers {
  private readonly holds = new Map<ArrayBuffer, number>();
  private previous: PoolScope | null = null;

  private constructor(private readonly scope: PoolScope) {}

  /** Starts drawing large allocations into a new scope; null when reuse is turned off. */
  static open(): WalkBuffers | null {
    const scope = openPoolScope();
    if (scope === null) return null;
    const walk = new WalkBuffers(scope);
    walk.previous = activatePoolScope(scope);
    return walk;
  }

  /** Restores the allocation scope that was active before open(). */
  close(): void {
    activatePoolScope(this.previous);
  }

  /** Allocations outside the pool until resume(): for user code that may keep what it computes. */
  suspend(): void {
    activatePoolScope(null);
  }

  resume(): void {
    activatePoolScope(this.scope);
  }

  hold(t: Tensor): void {
    const data = storageOf(t); // a batched tensor's values are its batch value's
    if (!mayOwnBuffer(data)) return;
    const b = data.buffer as ArrayBuffer;
    if (this.scope.owned.has(b)) this.holds.set(b, (this.holds.get(b) ?? 0) + 1);
  }

  drop(t: Tensor): void {
    const data = storageOf(t); // a batched tensor's values are its batch value's
    if (!mayOwnBuffer(data)) return;
    const b = data.buffer as ArrayBuffer;
    const n = this.holds.get(b);
    if (n === undefined) return;
    if (n > 1) this.holds.set(b, n - 1);
    else {
      this.holds.delete(b);
      releaseToPool(this.scope, b);
    }
  }

  /** Returns what was allocated since the last call and is held by no slot. */
  releaseUnheld(): void {
    const fresh = this.scope.fresh;
    if (fresh.length === 0) return;
    for (const b of fresh) if (!this.holds.has(b)) releaseToPool(this.scope, b);
    fresh.length = 0;
  }
}
