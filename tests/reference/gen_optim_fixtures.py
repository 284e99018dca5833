#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference fixtures for lib/optim, written with torch.optim (torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/reference/gen_optim_fixtures.py

optim_<case>.tfx, one per optimizer/option combination: three small parameters
("a.weight" 3x4, "b.weight" 5, "b.bias" 2x2x3), 10 steps. The gradient of step t is
A * (p_t - c) + noise_t (a fixed quadratic loss plus a recorded perturbation); the gradients
actually used are recorded ("<name>.grads", shape (10, ...)) together with the parameters after
every step ("<name>.after", shape (10, ...)), so the C test feeds the same gradients.
Hyper-parameters are f64 scalars. A parameter listed in "frozen" gets no gradient (torch skips
it; the C test marks it requires_grad 0). "group_b_lr_mult"/"group_b_wd" describe a second torch
param group holding the "b." parameters.

optim_sched.tfx: learning rates of torch's CosineAnnealingLR and OneCycleLR per step.
optim_clip.tfx: gradients before and after torch.nn.utils.clip_grad_norm_ and the returned norm.
"""
import math
import os

import numpy as np
import torch

from fixture_io import write_fixture

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
STEPS = 10
NAMES = ["a.weight", "b.weight", "b.bias"]
SHAPES = [(3, 4), (5,), (2, 2, 3)]

SGD, ADAM, ADAMW = 1, 2, 3
SCHED_CONSTANT, SCHED_ONE_CYCLE = 0, 4

CASES = {
    "sgd_plain": dict(alg=SGD, lr=0.1),
    "sgd_momentum": dict(alg=SGD, lr=0.05, momentum=0.9, dampening=0.1),
    "sgd_nesterov": dict(alg=SGD, lr=0.05, momentum=0.9, nesterov=1),
    "sgd_wd": dict(alg=SGD, lr=0.05, momentum=0.8, weight_decay=0.01),
    "sgd_plain_wd": dict(alg=SGD, lr=0.1, weight_decay=0.05),
    "adam": dict(alg=ADAM, lr=0.01),
    "adam_wd": dict(alg=ADAM, lr=0.01, weight_decay=0.1, beta1=0.8, beta2=0.99),
    "adam_amsgrad": dict(alg=ADAM, lr=0.01, weight_decay=0.05, amsgrad=1),
    "adamw": dict(alg=ADAMW, lr=0.01, weight_decay=0.1),
    "adamw_amsgrad": dict(alg=ADAMW, lr=0.01, weight_decay=0.05, amsgrad=1, eps=1e-6),
    "adamw_frozen": dict(alg=ADAMW, lr=0.01, weight_decay=0.1, frozen=1),
    "adamw_groups": dict(alg=ADAMW, lr=0.01, weight_decay=0.1, group_b_lr_mult=1 / 2.6,
                         group_b_wd=0.0),
    "sgd_onecycle": dict(alg=SGD, lr=0.1, momentum=0.9, schedule=SCHED_ONE_CYCLE),
}


def run_case(name, cfg, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g).float().requires_grad_(True) for s in SHAPES]
    centers = [torch.randn(s, generator=g).float() for s in SHAPES]
    scales = [torch.rand(s, generator=g).float() * 2 + 0.1 for s in SHAPES]
    init = [p.detach().clone() for p in params]
    frozen = int(cfg.get("frozen", -1))
    lr = cfg["lr"]
    wd = cfg.get("weight_decay", 0.0)
    if "group_b_lr_mult" in cfg:
        groups = [{"params": [params[0]]},
                  {"params": params[1:], "lr": lr * cfg["group_b_lr_mult"],
                   "weight_decay": cfg["group_b_wd"]}]
    else:
        groups = [{"params": params}]
    alg = cfg["alg"]
    if alg == SGD:
        opt = torch.optim.SGD(groups, lr=lr, momentum=cfg.get("momentum", 0.0),
                              dampening=cfg.get("dampening", 0.0), weight_decay=wd,
                              nesterov=bool(cfg.get("nesterov", 0)))
    else:
        cls = torch.optim.Adam if alg == ADAM else torch.optim.AdamW
        opt = cls(groups, lr=lr, betas=(cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)),
                  eps=cfg.get("eps", 1e-8), weight_decay=wd, amsgrad=bool(cfg.get("amsgrad", 0)))
    sched = None
    if cfg.get("schedule", SCHED_CONSTANT) == SCHED_ONE_CYCLE:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=STEPS,
                                                    cycle_momentum=False)
    grads = [[] for _ in params]
    after = [[] for _ in params]
    for t in range(STEPS):
        opt.zero_grad(set_to_none=True)
        for j, p in enumerate(params):
            noise = torch.randn(SHAPES[j], generator=g).float() * 0.1
            gj = (scales[j] * (p.detach() - centers[j]) + noise).float()
            grads[j].append(gj.clone())
            if j != frozen:
                p.grad = gj.clone()
        opt.step()
        if sched is not None:
            sched.step()
        for j, p in enumerate(params):
            after[j].append(p.detach().clone())
    entries = {}
    for key in ("alg", "lr", "momentum", "dampening", "nesterov", "weight_decay", "beta1",
                "beta2", "eps", "amsgrad", "frozen", "schedule", "group_b_lr_mult", "group_b_wd"):
        default = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "frozen": -1}.get(key, 0.0)
        entries[key] = np.array([float(cfg.get(key, default))], dtype=np.float64)
    entries["has_groups"] = np.array([1.0 if "group_b_lr_mult" in cfg else 0.0])
    entries["steps"] = np.array([float(STEPS)])
    for j, n in enumerate(NAMES):
        entries[n + ".init"] = init[j]
        entries[n + ".grads"] = torch.stack(grads[j])
        entries[n + ".after"] = torch.stack(after[j])
    write_fixture(os.path.join(OUT, "optim_" + name + ".tfx"), entries)


def schedules():
    p = torch.nn.Parameter(torch.zeros(1))
    entries = {}
    # CosineAnnealingLR: lr 0.1, T_max 20, eta_min 0.005, 25 steps (past the end it rises again in
    # torch; the C schedule stays at the floor, so only steps 0..20 are compared).
    opt = torch.optim.SGD([p], lr=0.1)
    s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.005)
    lrs = []
    for _ in range(21):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    entries["cosine.lr"] = np.array(lrs, dtype=np.float64)
    # OneCycleLR with the defaults (pct_start 0.3, div_factor 25, final_div_factor 1e4, cos).
    opt = torch.optim.SGD([p], lr=0.1)
    s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50,
                                            cycle_momentum=False)
    lrs = []
    for _ in range(50):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    entries["onecycle.lr"] = np.array(lrs, dtype=np.float64)
    write_fixture(os.path.join(OUT, "optim_sched.tfx"), entries)


def clipping():
    g = torch.Generator().manual_seed(7)
    entries = {}
    for case, max_norm in (("clip", 1.0), ("noclip", 100.0)):
        ps = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES]
        for j, p in enumerate(ps):
            p.grad = torch.randn(SHAPES[j], generator=g).float()
            entries[f"{case}.{NAMES[j]}.before"] = p.grad.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        for j, p in enumerate(ps):
            entries[f"{case}.{NAMES[j]}.after"] = p.grad.clone()
        entries[f"{case}.max_norm"] = np.array([max_norm], dtype=np.float64)
        entries[f"{case}.norm"] = np.array([float(norm)], dtype=np.float64)
    write_fixture(os.path.join(OUT, "optim_clip.tfx"), entries)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for i, (name, cfg) in enumerate(CASES.items()):
        run_case(name, cfg, 1000 + i)
    schedules()
    clipping()
    print("torch", torch.__version__, "->", OUT)


if __name__ == "__main__":
    main()
