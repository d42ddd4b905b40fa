# PyTorch, one thread, the same layers as bench/profile/cnn-cli-step.ts: ms per training step at batch 64.
#   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/profile/cnn_cli_step_torch.py
import time, torch, torch.nn as nn
torch.set_num_threads(1)
torch.manual_seed(1)
m = nn.Sequential(nn.Conv2d(1,16,5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16,32,5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(512,10))
opt = torch.optim.Adam(m.parameters(), lr=0.002)
x = torch.rand(64,1,28,28); y = torch.randint(0,10,(64,))
lf = nn.CrossEntropyLoss()
def step():
    opt.zero_grad(); lf(m(x), y).backward(); opt.step()
for _ in range(10): step()
ts = []
for _ in range(7):
    t = time.perf_counter()
    for _ in range(20): step()
    ts.append((time.perf_counter() - t) / 20 * 1000)
ts.sort(); print("PyTorch 1 thread, CLI CNN step batch 64: %.2f ms (median of 7x20)" % ts[3])
