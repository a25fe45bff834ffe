"""PyTorch CPU reference for bench/train.ts: the same models, optimiser and batch, timed by the same steady-state rules.

Run with Debian's interpreter (/usr/bin/python3, package python3-torch). Prints one JSON object.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(256, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class VGGSmall(nn.Module):
    """unprune's vgg-small: [32, 32, M, 64, 64, M, 128, M], conv3x3 (no bias) + BN + ReLU, global mean, fc."""

    def __init__(self, cin=3, classes=10):
        super().__init__()
        layers = []
        for item in [32, 32, "M", 64, 64, "M", 128, "M"]:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            layers += [nn.Conv2d(cin, item, 3, padding=1, bias=False), nn.BatchNorm2d(item), nn.ReLU()]
            cin = item
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


MODELS = {"mlp": (MLP, (1, 28, 28)), "lenet5": (LeNet5, (1, 28, 28)), "vgg-small": (VGGSmall, (3, 32, 32))}


def matmul_gflops(n=1024, seconds=1.0):
    """The FLOP/s ceiling as PyTorch sees it: float32 n×n×n products for about `seconds`."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def sgemm_rel_error(n=384):
    """How far this build's float32 products (its BLAS kernels) are from float64 ones: max |C32 - C64| / max |C64|.
    A kernel type the CPU runs incorrectly shows here before its speed is believed."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    exact = torch.mm(a.double(), b.double())
    return float((torch.mm(a, b).double() - exact).abs().max() / exact.abs().max())


def measure(model, shape, batch, a):
    """Steady-state examples/s: warm up for at least a.warmup steps and a.warmup_seconds (a.max_seconds / 4 at
    most, one step at least), then time at least a.steps steps and a.min_seconds (a.max_seconds at most)."""
    torch.manual_seed(0)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    warm, start = 0, time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if warm > 0 and ((warm >= a.warmup and elapsed >= a.warmup_seconds) or elapsed >= a.max_seconds / 4):
            break
        step()
        warm += 1
    done, start = 0, time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if done > 0 and ((done >= a.steps and elapsed >= a.min_seconds) or elapsed >= a.max_seconds):
            break
        step()
        done += 1
    return batch * done / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="mlp,lenet5")
    p.add_argument("--batch", default="128", help="one batch size, or one per model (comma-separated)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--max-seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.01)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "sgemm_rel_error": sgemm_rel_error(),
        "matmul_gflops": matmul_gflops(),
    }
    names = a.models.split(",")
    batches = [int(b) for b in a.batch.split(",")]
    for i, name in enumerate(names):
        cls, shape = MODELS[name]
        out[name] = measure(cls(), shape, batches[min(i, len(batches) - 1)], a)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
