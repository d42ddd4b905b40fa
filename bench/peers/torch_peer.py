"""PyTorch peer of W1, W2 and W5 (bench/peers/torch*.ts), one thread, driven over stdin/stdout.

One JSON request per line in, one JSON answer per line out:
  {"cmd": "info"}                                   -> {"torch": version}
  {"cmd": "mlp", "kind": "w1" | "w2", "x": a, "y": a, "weights": [a], "biases": [a], "batch": b, "lr": lr}
      W1 or W2 from the shared initial weights; each a is {"path", "shape"} of a raw float32 file,
      weights in tapegrad's [in, out] layout (transposed here into nn.Linear's [out, in])
  {"cmd": "mlp_train", "batches": k | null}         -> {"seconds": s, "cpuSeconds": c}
      trains over the first k batches (all when null), in order, from where the last call left off
  {"cmd": "mlp_grads", "dir": d}                    -> {"loss": l}
      loss and gradients of the first batch, untrained weights; writes d/w<i>.f32 ([in, out]) and d/b<i>.f32
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
from torch import nn

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


def load_array(spec):
    return torch.from_numpy(np.fromfile(spec["path"], dtype=np.float32).reshape(spec["shape"]).copy())


def quadratic(out, target):
    # nn's quadratic: 1/2 sum ||y_hat - y||^2 / rows
    return 0.5 * F.mse_loss(out, target, reduction="sum") / out.shape[0]


class Mlp:
    """W1 (sigmoid, quadratic loss, SGD) or W2 (ReLU, cross-entropy, Adam): nn.Linear layers, torch.optim."""

    def __init__(self, req):
        self.kind = req["kind"]
        self.batch = req["batch"]
        self.x = load_array(req["x"])
        y = load_array(req["y"])
        self.linears = []
        layers = []
        for i, (w_spec, b_spec) in enumerate(zip(req["weights"], req["biases"])):
            w = load_array(w_spec)
            linear = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                linear.weight.copy_(w.T)
                linear.bias.copy_(load_array(b_spec).reshape(-1))
            self.linears.append(linear)
            layers.append(linear)
            if self.kind == "w1":
                layers.append(nn.Sigmoid())
            elif i + 1 < len(req["weights"]):
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        if self.kind == "w1":
            self.y = y
            self.loss = quadratic
            self.opt = torch.optim.SGD(self.model.parameters(), lr=req["lr"])
        else:
            self.y = y.argmax(1)  # class indices, as a PyTorch user feeds CrossEntropyLoss
            self.loss = nn.CrossEntropyLoss()
            self.opt = torch.optim.Adam(self.model.parameters(), lr=req["lr"], eps=1e-8)

    def train(self, req):
        x, y, b, model, loss, opt = self.x, self.y, self.batch, self.model, self.loss, self.opt
        starts = range(0, x.shape[0], b)
        if req["batches"] is not None:
            starts = starts[: req["batches"]]
        c0 = time.process_time()
        t0 = time.perf_counter()
        for s in starts:
            opt.zero_grad()
            loss(model(x[s : s + b]), y[s : s + b]).backward()
            opt.step()
        return {"seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}

    def grads(self, req):
        self.model.zero_grad()
        value = self.loss(self.model(self.x[: self.batch]), self.y[: self.batch])
        value.backward()
        for i, linear in enumerate(self.linears):
            linear.weight.grad.T.contiguous().numpy().tofile(f"{req['dir']}/w{i}.f32")
            linear.bias.grad.numpy().tofile(f"{req['dir']}/b{i}.f32")
        return {"loss": value.item()}


def setup_mlp(req):
    state["mlp"] = Mlp(req)
    return {"ok": True}


HANDLERS = {
    "info": lambda req: {"torch": torch.__version__},
    "w5": setup_w5,
    "train": train,
    "conv": conv,
    "mlp": setup_mlp,
    "mlp_train": lambda req: state["mlp"].train(req),
    "mlp_grads": lambda req: state["mlp"].grads(req),
}

for line in sys.stdin:
    req = json.loads(line)
    try:
        out = HANDLERS[req["cmd"]](req)
    except Exception as e:  # reported to the bench as this peer's error
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
