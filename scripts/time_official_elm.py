"""Seconds per training step of the official PyTorch ELM (AaronSpieler/elmneuron), for the speed
ratios in the README. Nothing of the official code is copied here: pass the path of a checkout.

    python scripts/time_official_elm.py --elm-repo PATH [--task shd|neuronio|lra-image|lra-listops|...] [--bin-ms 1]

SHD shape (Figure 5): batch 8, 700 channels, 1000 steps at 1 ms bins, 20 classes, cross-entropy on
the last output, Adamax, as the official notebook `train_elm_on_shd.ipynb` trains it; inputs are
2 % non-zero ones (SHD counts). `--model branch-elm` uses 100 branches x 15 random synapses;
`--model lstm` times `torch.nn.LSTM(700, 250)` + `nn.Linear` (the paper's SHD LSTM) instead.
NeuronIO shape: batch 8 x 500 steps, 1278 signed spike inputs, spike + soma outputs, MSE, Adam;
`--model lstm` times `torch.nn.LSTM(1278, 50)` + `nn.Linear` (the paper's Figure 2 LSTM).
LRA shapes (the paper's LRA ELM: d_m 150, one MLP layer of 300, tau_s = lambda = 5, memory taus
from 1 to T): one-hot tokens (exactly one non-zero per
step, value 1, a uniformly random feature), cross-entropy on the last output, Adam lr 2e-4 (pass
`--batch 32`); `lra-image`: 1,024 steps of 16 grey levels, 10 classes; `lra-listops`: 2,000 steps
of 25 tokens, 10 classes; also lra-pathfinder, lra-text, lra-path-x (Retrieval's two-tower is not
here). `--time` shortens the sequence (and memory_tau_max with it).
Prints one JSON line: median, min and max seconds over the timed steps.

Measured on the LRA shapes (2026-11-30, a shared 2-core machine): the official ELM's TorchScript
cell keeps optimising for its first steps (single steps of 10-45 s among 1 s ones with
`--warmup 1`), so pass `--warmup 10`; and with `--threads 2` under CPU contention its steps
swing between 0.3 and 10 s (OpenMP threads waiting on each other), so `--threads 1` (against
`RAYON_NUM_THREADS=1 elmbench bench train-step ...`) is the comparison that reproduces.
"""

import argparse
import json
import statistics
import sys
import time

import torch

# (one-hot width, steps, classes), as `elmbench bench train-step --shape lra-...` uses them.
LRA_SHAPES = {"lra-image": (16, 1024, 10), "lra-pathfinder": (16, 1024, 2), "lra-listops": (25, 2000, 10),
              "lra-text": (169, 4096, 2), "lra-path-x": (8, 16384, 2)}


def lstm_with_readout(inputs, hidden, outputs):
    """`torch.nn.LSTM` and a linear readout at every step: the paper's LSTM baselines."""

    class LstmWithReadout(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(inputs, hidden, batch_first=True)
            self.readout = torch.nn.Linear(hidden, outputs)

        def forward(self, x):
            return self.readout(self.lstm(x)[0])

    return LstmWithReadout()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--elm-repo", required=True)
    p.add_argument("--task", default="shd", choices=["shd", "neuronio", *LRA_SHAPES])
    p.add_argument("--model", default="elm", choices=["elm", "branch-elm", "lstm"])
    p.add_argument("--bin-ms", type=float, default=1.0)
    p.add_argument("--time", type=int, default=None)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    sys.path.insert(0, a.elm_repo)
    from src.expressive_leaky_memory_neuron import ELM  # noqa: E402

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    if a.task == "shd":
        steps = a.time or int(round(1000 / a.bin_ms))
        kwargs = dict(num_input=700, num_output=20, num_memory=100, lambda_value=5.0, memory_tau_min=1.0,
                      memory_tau_max=150.0, delta_t=a.bin_ms)
        if a.model == "branch-elm":
            kwargs.update(num_branch=100, num_synapse_per_branch=15, input_to_synapse_routing="random_routing")
        if a.model == "lstm":
            model = lstm_with_readout(700, 250, 20)
        else:
            model = ELM(**kwargs)
        x = (torch.rand(a.batch, steps, 700) < a.density).float()
        y = torch.randint(0, 20, (a.batch,))
        optimizer = torch.optim.Adamax(model.parameters(), lr=5e-3)
        loss_of = lambda out: torch.nn.functional.cross_entropy(out[:, -1, :], y)  # noqa: E731
    elif a.task.startswith("lra-"):
        inputs, default_steps, classes = LRA_SHAPES[a.task]
        steps = a.time or default_steps
        if a.model != "elm":
            p.error("the LRA shapes time the ELM only")
        model = ELM(num_input=inputs, num_output=classes, num_memory=150, mlp_num_layers=1, mlp_hidden_size=300,
                    lambda_value=5.0, tau_s_value=5.0, memory_tau_min=1.0, memory_tau_max=float(steps))
        tokens = torch.randint(0, inputs, (a.batch, steps))
        x = torch.nn.functional.one_hot(tokens, inputs).float()
        y = torch.randint(0, classes, (a.batch,))
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
        loss_of = lambda out: torch.nn.functional.cross_entropy(out[:, -1, :], y)  # noqa: E731
    else:
        steps = a.time or 500
        kwargs = dict(num_input=1278, num_output=2, num_memory=20, memory_tau_min=1.0, memory_tau_max=150.0,
                      num_branch=45, num_synapse_per_branch=100, input_to_synapse_routing="neuronio_routing")
        model = lstm_with_readout(1278, 50, 2) if a.model == "lstm" else ELM(**kwargs)
        u = torch.rand(a.batch, steps, 1278)
        sign = torch.cat([torch.ones(639), -torch.ones(639)])
        x = (u < a.density).float() * sign
        target = torch.randn(a.batch, steps, 2)
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
        loss_of = lambda out: torch.nn.functional.mse_loss(out, target)  # noqa: E731

    def step():
        optimizer.zero_grad()
        loss = loss_of(model(x))
        loss.backward()
        optimizer.step()

    for _ in range(a.warmup):
        step()
    seconds = []
    for _ in range(a.iterations):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"task": a.task, "model": a.model, "batch": a.batch, "time": steps, "threads": a.threads,
                      "torch": torch.__version__, "median_s": statistics.median(seconds), "min_s": min(seconds),
                      "max_s": max(seconds), "iterations": len(seconds)}))


if __name__ == "__main__":
    main()
