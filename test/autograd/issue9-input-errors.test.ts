import {
  AllocationError,
  adaptiveAvgPool2d,
  add,
  arange,
  argsort,
  avgPool2d,
  chunk,
  clamp,
  concat,
  conv1d,
  conv2d,
  convTranspose2d,
  cumsum,
  customOp,
  DTypeError,
  einsum,
  eye,
  flip,
  full,
  gelu,
  grad,
  leakyRelu,
  logSoftmax,
  logsumexp,
  matmul,
  maxPool2d,
  mean,
  norm,
  ones,
  prod,
  rand,
  randn,
  roll,
  ShapeError,
  scatterAdd,
  setStorageOptions,
  softmax,
  sort,
  split,
  stack,
  std,
  TapegradError,
  Tensor,
  takeAlongAxis,
  tensor,
  topk,
  tril,
  triu,
  unfold,
  ValueError,
  variance,
  where,
  zeros,
} from "@tapegrad/autograd";
import { afterEach, describe, expect, it } from "vitest";

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, none was thrown");
}

function expectError(fn: () => unknown, type: abstract new (...a: never[]) => Error, message: RegExp): Error {
  const e = caught(fn);
  expect(e).toBeInstanceOf(TapegradError);
  expect(e).toBeInstanceOf(type);
  expect(e.message).toMatch(message);
  return e;
}

describe("issue 9.8: scatterAdd validates size", () => {
  const g = ones([2, 3]);
  it.each([-1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, "3", undefined])(
    "size %s is a ValueError",
    (size) => {
      expectError(
        () => scatterAdd(g, [0, 1], 0, size as number),
        ValueError,
        new RegExp(`^scatterAdd: size must be an integer >= 0, got ${String(size === "3" ? '"3"' : size)}`),
      );
    },
  );
  it.each([-1, 2.5])("also when another dim is empty (size %s, g of shape [2, 0])", (size) => {
    expectError(() => zeros([2, 0]).scatterAdd([0, 1], 0, size), ValueError, /^scatterAdd: size must be/);
    expectError(() => zeros([0, 2]).scatterAdd([], 0, size), ValueError, /^scatterAdd: size must be/);
  });
  it("a valid size still works, empty dims included", () => {
    expect(scatterAdd(g, [0, 0], 0, 1).toArray()).toEqual([[2, 2, 2]]);
    expect(zeros([2, 0]).scatterAdd([1, 1], 0, 3).shape).toEqual([3, 0]);
  });
});

describe("issue 9.9: new Tensor(data, shape) validates the shape", () => {
  it.each([
    [[-1, -2], 2],
    [[1.5, 2], 3],
    [[Number.NaN], 0],
    [[2, 3], 5],
    [[Number.POSITIVE_INFINITY, 0], 0],
  ])("shape %j with %i values is a ShapeError naming Tensor and the shape", (shape, n) => {
    expectError(() => new Tensor(new Float32Array(n), shape), ShapeError, /^Tensor: /);
    const e = caught(() => new Tensor(new Float32Array(n), shape));
    expect(e.message).toContain(`[${shape.join(", ")}]`);
  });
  it("a shape that is not an array, and data that is not a tensor array", () => {
    expectError(
      () => new Tensor(new Float32Array(1), 1 as unknown as number[]),
      ShapeError,
      /^Tensor: shape/,
    );
    expectError(
      () => new Tensor([1, 2] as unknown as Float32Array, [2]),
      DTypeError,
      /^Tensor: data must be a Float32Array, Float64Array or Int32Array/,
    );
  });
  it("valid shapes (0-d, empty, ordinary) still construct", () => {
    expect(new Tensor(new Float64Array(1), []).size).toBe(1);
    expect(new Tensor(new Int32Array(0), [3, 0]).size).toBe(0);
    expect(new Tensor(new Float32Array(6), [2, 3]).dtype).toBe("float32");
  });
});

describe("issue 9.10: an allocation that cannot succeed is an AllocationError (a ValueError)", () => {
  afterEach(() => setStorageOptions({ maxTensorBytes: Number.POSITIVE_INFINITY }));

  it("zeros([1e5, 1]).add(zeros([1, 1e5])) names add, the shape and the bytes", () => {
    // 40 GB: whether the engine refuses it depends on the machine, so a 1 GiB cap makes it certain
    // (and keeps a machine with that much memory from trying).
    setStorageOptions({ maxTensorBytes: 2 ** 30 });
    const e = expectError(
      () => zeros([1e5, 1]).add(zeros([1, 1e5])),
      AllocationError,
      /^add: cannot allocate a float32 tensor of shape \[100000, 100000\] \(10000000000 elements, 40000000000 bytes\): above StorageOptions.maxTensorBytes/,
    );
    expect(e).toBeInstanceOf(ValueError);
  });

  it("what the engine refuses (a RangeError before) is an AllocationError too", () => {
    expectError(
      () => zeros([1, 1]).broadcastTo([2 ** 20, 2 ** 40]),
      AllocationError,
      /^broadcastTo: cannot allocate a float32 tensor of shape \[1048576, 1099511627776\] \(\d+ elements, \d+ bytes\): /,
    );
  });

  it.each([
    ["zeros", () => zeros([1e8, 1e8])],
    ["ones", () => ones([1e8, 1e8], { dtype: "float64" })],
    ["full", () => full([1e16], 2)],
    ["rand", () => rand([1e8, 1e8])],
    ["randn", () => randn([1e8, 1e8])],
    ["eye", () => eye(1e8)],
    ["arange", () => arange(0, 1e16)],
  ])("%s with a huge shape", (op, fn) => {
    expectError(
      fn,
      AllocationError,
      new RegExp(
        `^${op}: cannot allocate a \\w+ tensor of shape \\[[0-9, ]+\\] \\(\\d+ elements, \\d+ bytes\\)`,
      ),
    );
  });

  it("maxTensorBytes must be an integer >= 0 or Infinity", () => {
    expectError(() => setStorageOptions({ maxTensorBytes: -1 }), ValueError, /maxTensorBytes/);
    expectError(() => setStorageOptions({ maxTensorBytes: 1.5 }), ValueError, /maxTensorBytes/);
  });
});

describe("issue 9.12: custom op vjps are checked, errors name the op the user called", () => {
  const double = (vjp: (g: Tensor) => unknown) =>
    customOp({ name: "twice", forward: (x) => x.mul(2), vjp: vjp as never });
  const x = tensor([1, 2, 3], { requiresGrad: true });

  it("a vjp returning undefined is a GraphError naming the custom op (not a silently null .grad)", () => {
    expectError(
      () =>
        double(() => undefined)(x)
          .sum()
          .backward(),
      TapegradError,
      /customOp "twice": vjp returned undefined/,
    );
    expectError(
      () =>
        double(() => [undefined])(x)
          .sum()
          .backward(),
      TapegradError,
      /customOp "twice": vjp returned undefined for input 0/,
    );
  });
  it("a wrong count, a non-Tensor, a wrong shape or dtype are errors naming the op and the input index", () => {
    expectError(
      () =>
        double((g) => [g, g])(x)
          .sum()
          .backward(),
      TapegradError,
      /customOp "twice": vjp returned 2 cotangents for 1 inputs/,
    );
    expectError(
      () =>
        double(() => [3])(x)
          .sum()
          .backward(),
      TapegradError,
      /customOp "twice": vjp returned a number for input 0/,
    );
    expectError(
      () =>
        double((g) => g.sum())(x)
          .sum()
          .backward(),
      ShapeError,
      /the vjp of twice \(f_\d+\) returned a cotangent of shape \[\] for input 0 of shape \[3\]/,
    );
    expectError(
      () =>
        double((g) => g.cast("float64"))(x)
          .sum()
          .backward(),
      DTypeError,
      /customOp "twice": vjp returned a float64 cotangent for input 0 of dtype float32/,
    );
    expectError(
      () => grad((t: Tensor) => double(() => undefined)(t).sum())(x),
      TapegradError,
      /customOp "twice"/,
    );
  });
  it("null still means no gradient, and a good vjp still works", () => {
    expect(grad((t: Tensor) => double(() => null)(t).sum())(x)).toBeNull();
    expect(grad((t: Tensor) => double((g) => g.mul(2))(t).sum())(x)?.toArray()).toEqual([2, 2, 2]);
  });

  const i32 = tensor([1, 2], { dtype: "int32" });
  it("int32 clamp with a fractional bound names clamp (was less:)", () => {
    expectError(
      () => clamp(i32, -0.5, 1),
      DTypeError,
      /^clamp: the number -0.5 cannot take the int32 dtype.*\(raised by less inside clamp\)$/,
    );
    expectError(() => i32.clamp(0, 1.5), DTypeError, /^clamp: the number 1.5 cannot take the int32 dtype/);
  });

  // An error raised by an inner op of each composite: an allocation refused by a byte cap set after
  // the input exists. The error keeps its class and fields and names the op the user called.
  const m = tensor(
    Array.from({ length: 64 }, (_, i) => i / 10 - 3),
    { shape: [8, 8] },
  );
  const m64 = m.cast("float64");
  const order = argsort(m, 1);
  const m4 = m.reshape([1, 1, 8, 8]);
  const w4 = m.slice(0, 0, 2).slice(1, 0, 2).reshape([1, 1, 2, 2]);
  const m3 = m.reshape([1, 8, 8]);
  const w3 = m.slice(0, 0, 2).reshape([2, 8, 1]).slice(0, 0, 1).reshape([1, 8, 1]);
  const composites: [string, () => unknown][] = [
    ["clamp", () => clamp(m, -1, 1)],
    ["leakyRelu", () => leakyRelu(m, 0.1)],
    ["gelu", () => gelu(m)],
    ["mean", () => mean(m, 0)],
    ["logsumexp", () => logsumexp(m, 1)],
    ["softmax", () => softmax(m)],
    ["logSoftmax", () => logSoftmax(m)],
    ["stack", () => stack([m, m])],
    ["concat", () => concat([m, m64])],
    ["matmul", () => matmul(m, m64)],
    ["add", () => add(m, m64)],
    ["where", () => where(m, m, m64)],
    ["var", () => variance(m, 0)],
    ["std", () => std(m, 1)],
    ["norm", () => norm(m, 3, 0)],
    ["prod", () => prod(m, [0, 1])],
    ["cumsum", () => cumsum(m, 0)],
    ["split", () => split(m, 2, 0)],
    ["chunk", () => chunk(m, 4, 1)],
    ["flip", () => flip(m, 0)],
    ["roll", () => roll(m, 3, 1)],
    ["tril", () => tril(m)],
    ["triu", () => triu(m, 1)],
    ["einsum", () => einsum("ij,jk->ik", m, m)],
    ["takeAlongAxis", () => takeAlongAxis(m, order, 1)],
    ["sort", () => sort(m, 0)],
    ["argsort", () => argsort(m, 0)],
    ["topk", () => topk(m, 3)],
    ["conv2d", () => conv2d(m4, w4)],
    ["conv1d", () => conv1d(m3, w3)],
    ["convTranspose2d", () => convTranspose2d(m4, w4)],
    ["unfold", () => unfold(m4, 2)],
    ["maxPool2d", () => maxPool2d(m4, 2)],
    ["avgPool2d", () => avgPool2d(m4, 2)],
    ["adaptiveAvgPool2d", () => adaptiveAvgPool2d(m4, [3, 3])],
  ];
  it.each(composites)("%s names itself for an error raised inside it", (op, fn) => {
    fn(); // works without the cap
    setStorageOptions({ maxTensorBytes: 16 });
    try {
      const e = expectError(fn, AllocationError, new RegExp(`^${op}: cannot allocate .*bytes`));
      expect((e as AllocationError).bytes).toBeGreaterThan(16);
      if (!e.message.startsWith(`${op}: cannot allocate a`)) throw e;
    } finally {
      setStorageOptions({ maxTensorBytes: Number.POSITIVE_INFINITY });
    }
  });
  it("relabelling keeps the class, the fields and the original as cause", () => {
    setStorageOptions({ maxTensorBytes: 16 });
    try {
      const e = caught(() => softmax(m)) as AllocationError & { cause?: unknown };
      expect(e).toBeInstanceOf(AllocationError);
      expect(e.name).toBe("AllocationError");
      expect(e.message).toMatch(/^softmax: .*\(raised by \w+ inside softmax\)$/);
      expect(e.op).toBe("softmax");
      expect(e.stack?.split("\n")[0]).toBe(`AllocationError: ${e.message}`);
      expect(e.cause).toBeInstanceOf(AllocationError);
      expect((e.cause as Error).message).not.toMatch(/^softmax/);
    } finally {
      setStorageOptions({ maxTensorBytes: Number.POSITIVE_INFINITY });
    }
  });
});
