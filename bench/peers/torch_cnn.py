"""PyTorch peer of W5 (bench/workloads/w5.ts), one thread, driven over stdin/stdout.

One JSON request per line in, one JSON answer per line out:
  {"cmd": "info"}                                   -> {"torch": version}
  {"cmd": "w5", "dir": d, "n": n, "test": t, "batch": b, "lr": lr}
      loads d/x.f32 ([n + t, 784]), d/labels.i32, d/w*.f32 (the shared initial weights, torch layouts)
  {"cmd": "train", "batches": k | null}             -> {"seconds": s, "accuracy": a}
      trains over the first k batches (all when null), in order; accuracy on the t held-out digits
  {"cmd": "conv", "batch": b, "steps": s}           -> {"ms": median, "cpuMs": median}
      forward+backward of the researcher's conv trunk (bench/kernels/conv.ts), ms per step
The timings are taken here, around the work alone (no pipe or JSON in them).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

state = {}


def load(d, name, shape, dtype=np.float32):
    return torch.from_numpy(np.fromfile(f"{d}/{name}", dtype=dtype).reshape(shape).copy())


def forward(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2)
    return F.linear(h.reshape(h.shape[0], -1), p[4], p[5])


def setup_w5(req):
    d, n, t = req["dir"], req["n"], req["test"]
    x = load(d, "x.f32", (n + t, 1, 28, 28))
    labels = load(d, "labels.i32", (n + t,), np.int32).long()
    p = [
        load(d, "w1.f32", (16, 1, 5, 5)),
        load(d, "b1.f32", (16,)),
        load(d, "w2.f32", (32, 16, 5, 5)),
        load(d, "b2.f32", (32,)),
        load(d, "w3.f32", (10, 512)),
        load(d, "b3.f32", (10,)),
    ]
    for t_ in p:
        t_.requires_grad_()
    state.update(
        x=x[:n], y=labels[:n], tx=x[n:], ty=labels[n:], p=p, batch=req["batch"],
        opt=torch.optim.Adam(p, lr=req["lr"], eps=1e-8),
    )
    return {"ok": True}


def train(req):
    x, y, p, opt, b = state["x"], state["y"], state["p"], state["opt"], state["batch"]
    limit = req.get("batches")
    t0 = time.perf_counter()
    for i, s in enumerate(range(0, x.shape[0], b)):
        if limit is not None and i >= limit:
            break
        opt.zero_grad()
        F.cross_entropy(forward(p, x[s:s + b]), y[s:s + b]).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        acc = (forward(p, state["tx"]).argmax(1) == state["ty"]).float().mean().item()
    return {"seconds": seconds, "accuracy": acc}


def conv(req):
    b, steps = req["batch"], req["steps"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, 1, 28, 28, generator=g)
    w1 = (torch.randn(16, 1, 5, 5, generator=g) * 0.2).requires_grad_()
    b1 = (torch.randn(16, generator=g) * 0.1).requires_grad_()
    w2 = (torch.randn(32, 16, 5, 5, generator=g) * 0.05).requires_grad_()
    b2 = (torch.randn(32, generator=g) * 0.1).requires_grad_()

    def step():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        out = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2).sum()
        torch.autograd.grad(out, [w1, b1, w2, b2])

    for _ in range(3):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        step()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    wall.sort()
    cpu.sort()
    return {"ms": wall[len(wall) // 2], "cpuMs": cpu[len(cpu) // 2]}


HANDLERS = {
    "info": lambda req: {"torch": torch.__version__},
    "w5": setup_w5,
    "train": train,
    "conv": conv,
}

for line in sys.stdin:
    req = json.loads(line)
    try:
        out = HANDLERS[req["cmd"]](req)
    except Exception as e:  # reported to the bench as this peer's error
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
