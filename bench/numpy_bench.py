"""numpy side of `pnpm bench`: a line-oriented JSON server driven by bench/peers/numpy.ts.

Each request is one JSON line on stdin; each reply one JSON line on stdout. The Node harness
interleaves numpy's repetitions with the JavaScript implementations, so all share the same load.
Requests: info | setup {kind, ...} -> {id} | warmup {id} | measure {id} -> {value} | dispose {id}.
W1/W2 gradients are derived by hand (numpy has no autograd), batched, in float32.
"""

import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def blas_core():
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for lib_path in libs:
        lib = ctypes.CDLL(lib_path)
        for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return "OpenBLAS " + fn().decode()
    return "unknown BLAS"


def load(spec):
    return np.fromfile(spec["path"], dtype=np.float32).reshape(spec["shape"])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Epochs:
    """W1 and W2: one epoch of mini-batch training per call, continuing from the current weights."""

    def __init__(self, req):
        self.kind = req["kind"]
        self.x = load(req["x"])
        self.y = load(req["y"])
        self.w = [load(s) for s in req["weights"]]
        self.b = [load(s) for s in req["biases"]]
        self.batch = req["batch"]
        self.lr = np.float32(req["lr"])
        self.warm_batches = req["warmBatches"]
        if self.kind == "w2":
            self.m = [np.zeros_like(p) for p in self.w + self.b]
            self.v = [np.zeros_like(p) for p in self.w + self.b]
            self.t = 0

    def run(self, batches=None):
        n = self.x.shape[0]
        starts = range(0, n, self.batch)
        if batches is not None:
            starts = list(starts)[:batches]
        step = self.w1_step if self.kind == "w1" else self.w2_step
        for s in starts:
            step(self.x[s : s + self.batch], self.y[s : s + self.batch])

    def w1_step(self, x, y):
        # sigmoid layers, quadratic loss 1/2 sum ||a - y||^2 / n, plain SGD
        (w1, w2), (b1, b2) = self.w, self.b
        a1 = sigmoid(x @ w1 + b1)
        a2 = sigmoid(a1 @ w2 + b2)
        d2 = (a2 - y) * (a2 * (1 - a2)) / np.float32(x.shape[0])
        d1 = (d2 @ w2.T) * (a1 * (1 - a1))
        grads_w = (x.T @ d1, a1.T @ d2)
        grads_b = (d1.sum(axis=0, keepdims=True), d2.sum(axis=0, keepdims=True))
        for p, g in zip(self.w + self.b, grads_w + grads_b):
            p -= self.lr * g

    def w2_step(self, x, y):
        # relu hidden layers, softmax cross-entropy on logits (mean over rows), Adam
        w, b = self.w, self.b
        acts = [x]
        for i in range(len(w) - 1):
            acts.append(np.maximum(acts[-1] @ w[i] + b[i], 0))
        logits = acts[-1] @ w[-1] + b[-1]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        delta = (p - y) / np.float32(x.shape[0])
        gw = [None] * len(w)
        gb = [None] * len(b)
        for i in range(len(w) - 1, -1, -1):
            gw[i] = acts[i].T @ delta
            gb[i] = delta.sum(axis=0, keepdims=True)
            if i > 0:
                delta = (delta @ w[i].T) * (acts[i] > 0)
        self.adam(w + b, gw + gb)

    def adam(self, params, grads, beta1=0.9, beta2=0.999, eps=1e-8):
        self.t += 1
        c1 = 1 - beta1**self.t
        c2 = 1 - beta2**self.t
        step = np.float32(self.lr * np.sqrt(c2) / c1)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= beta1
            m += np.float32(1 - beta1) * g
            v *= beta2
            v += np.float32(1 - beta2) * (g * g)
            p -= step * m / (np.sqrt(v) + np.float32(eps * np.sqrt(c2)))

    def warmup(self):
        self.run(self.warm_batches)

    def measure(self):
        start = time.perf_counter()
        self.run()
        return time.perf_counter() - start


class Matmul:
    """W3: GFLOP/s of op(A) @ op(B), with transposes as views so BLAS gets the trans flags."""

    def __init__(self, req):
        m, n, k = req["m"], req["n"], req["k"]
        dtype = np.float32 if req["dtype"] == "float32" else np.float64
        rng = np.random.default_rng(7)
        a = rng.standard_normal((k, m) if req["transA"] else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if req["transB"] else (k, n)).astype(dtype)
        self.a = a.T if req["transA"] else a
        self.b = b.T if req["transB"] else b
        self.flops = 2.0 * m * n * k
        self.min_seconds = req["minSeconds"]
        self.iters = 1

    def warmup(self):
        start = time.perf_counter()
        self.a @ self.b
        once = max(time.perf_counter() - start, 1e-7)
        self.iters = max(1, int(np.ceil(self.min_seconds / once)))

    def measure(self):
        a, b = self.a, self.b
        start = time.perf_counter()
        for _ in range(self.iters):
            a @ b
        return self.flops * self.iters / (time.perf_counter() - start) / 1e9


KINDS = {"w1": Epochs, "w2": Epochs, "matmul": Matmul}


def main():
    states = {}
    next_id = 0
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "info":
                reply = {"numpy": np.__version__, "blas": blas_core(), "python": sys.version.split()[0]}
            elif op == "setup":
                next_id += 1
                states[next_id] = KINDS[req["kind"]](req)
                reply = {"id": next_id}
            elif op == "warmup":
                states[req["id"]].warmup()
                reply = {}
            elif op == "measure":
                reply = {"value": states[req["id"]].measure()}
            elif op == "dispose":
                states.pop(req["id"], None)
                reply = {}
            else:
                reply = {"error": "unknown op " + op}
        except Exception as error:  # reported to the harness, which marks numpy as failed for that item
            reply = {"error": type(error).__name__ + ": " + str(error)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
