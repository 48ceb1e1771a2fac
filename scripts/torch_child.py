#!/usr/bin/python3
"""PyTorch rebuild of a MobileNet-style child described by a JSON file like
reference_child.json, for side-by-side speed and numerical comparisons.

Needs Debian's python3-torch, with OpenBLAS as the system BLAS (without it torch's GEMMs
fall back to the slow reference BLAS); run it with /usr/bin/python3, not a pyenv python:
    apt-get install -y python3-torch libopenblas0-pthread

    torch_child.py cost  ARCH.json                      # params and MACs
    torch_child.py bench ARCH.json [--threads 2] [--batch 64] [--steps 20] [--nchw]
    torch_child.py logits ARCH.json WEIGHTS.safetensors INPUT.f32 OUT.f32 [--batch N]
    torch_child.py grads  ARCH.json WEIGHTS.safetensors INPUT.f32 LABELS.i32 OUT.safetensors [--double]
    torch_child.py steps  ARCH.json WEIGHTS.safetensors INPUT.f32 LABELS.i32 OUT.safetensors \
                   [--opt sgd|adam] [--lr LR] [--momentum M] [--nesterov] [--eps E] [--wd WD] [--clip NORM] [--steps N]

`logits` reads weights named as `names` prints them (PyTorch layout: conv weights
[out, in/groups, kh, kw]; BN weight, bias, running_mean, running_var; fc weight [out, in]),
an input of float32 NHWC values, and writes float32 logits with BN in eval mode, so the file
must hold the running statistics too. Missing or extra tensors are reported and rejected.

`grads` reads the same weights, an input and int32 labels, runs one forward pass in training
mode (BN with batch statistics) with the mean cross-entropy loss, and writes a safetensors file
with "logits" [N, classes], "loss" [1] and "grad.NAME" for every parameter NAME. With --double
it computes in float64 (and still writes float32), a reference free of float32 rounding.

`steps` trains for --steps steps on that one batch with the given optimizer and writes the
resulting state_dict. Weight decay applies to conv and fc weights only (tensors of two or more
dimensions), and --clip scales gradients to a global L2 norm of at most NORM.

An architecture whose "resolution" differs from its input height is resized first with
F.interpolate(mode="bilinear", align_corners=False); a head "out" of 0 means no head conv.
"""
import argparse, json, struct, sys, time

import torch.nn.functional as F

import numpy as np
import torch
import torch.nn as nn


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, s, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6())
        super().__init__(*layers)


class MBConv(nn.Module):
    def __init__(self, cin, cout, t, k, s):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers.append(ConvBN(cin, hidden, 1, 1))
        layers += [ConvBN(hidden, hidden, k, s, groups=hidden), ConvBN(hidden, cout, 1, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class DSConv(nn.Sequential):
    def __init__(self, cin, cout, k, s):
        super().__init__(ConvBN(cin, cin, k, s, groups=cin), ConvBN(cin, cout, 1, 1))


class Child(nn.Module):
    def __init__(self, arch):
        super().__init__()
        c = arch["input"]["channels"]
        st = arch["stem"]
        self.stem = ConvBN(c, st["out"], st["kernel"], st["stride"])
        c = st["out"]
        blocks = []
        for b in arch["blocks"]:
            if b["op"] == "skip":
                continue
            if b["op"] == "mbconv":
                blocks.append(MBConv(c, b["out"], b["expansion"], b["kernel"], b["stride"]))
            elif b["op"] == "dsconv":
                blocks.append(DSConv(c, b["out"], b["kernel"], b["stride"]))
            else:
                sys.exit(f"unknown op {b['op']!r}")
            c = b["out"]
        self.blocks = nn.Sequential(*blocks)
        head = arch.get("head", {}).get("out", 0)
        self.head = ConvBN(c, head, 1, 1) if head else nn.Identity()
        self.fc = nn.Linear(head or c, arch["classes"])
        self.resolution = arch.get("resolution") or arch["input"]["height"]

    def forward(self, x):
        if x.shape[2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(x.mean((2, 3)))


def count_macs(model, arch):
    macs = 0
    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += out.numel() // out.shape[0] * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    i = arch["input"]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, i["channels"], i["height"], i["width"]))
    for h in hs:
        h.remove()
    return macs


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            sys.exit(f"{name}: dtype {meta['dtype']} not supported")
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().numpy().astype("<f4"))
        blob = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


def load_weights(model, path):
    sd = read_safetensors(path)
    want = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, extra = sorted(want - sd.keys()), sorted(sd.keys() - want)
    if missing or extra:
        sys.exit(f"weights do not match the architecture: missing {missing[:5]}, extra {extra[:5]}")
    model.load_state_dict(sd, strict=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["cost", "bench", "names", "logits", "grads", "steps"])
    p.add_argument("arch")
    p.add_argument("rest", nargs="*")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--nchw", action="store_true", help="use NCHW instead of channels-last")
    p.add_argument("--double", action="store_true", help="compute the grads mode in float64")
    p.add_argument("--opt", choices=["sgd", "adam"], default="sgd", help="optimizer of the steps mode")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--eps", type=float, default=1e-8, help="Adam's epsilon")
    p.add_argument("--wd", type=float, default=0.0, help="weight decay of conv and fc weights")
    p.add_argument("--clip", type=float, default=0.0, help="global gradient norm limit; 0 disables")
    a = p.parse_args()
    arch = json.load(open(a.arch))
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = Child(arch)
    i = arch["input"]

    if a.mode == "cost":
        params = sum(t.numel() for t in model.parameters())
        print(json.dumps({"params": params, "macs": count_macs(model, arch)}))
        return
    if a.mode == "names":
        for k, v in model.state_dict().items():
            print(k, tuple(v.shape))
        return
    if a.mode == "logits":
        weights_path, input_path, out_path = a.rest
        load_weights(model, weights_path)
        model.eval()
        x = np.fromfile(input_path, dtype="<f4").reshape(-1, i["height"], i["width"], i["channels"])
        with torch.no_grad():
            y = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
        y.numpy().astype("<f4").tofile(out_path)
        return

    if a.mode == "grads":
        weights_path, input_path, labels_path, out_path = a.rest
        load_weights(model, weights_path)
        model.train()
        x = np.fromfile(input_path, dtype="<f4").reshape(-1, i["height"], i["width"], i["channels"])
        y = torch.from_numpy(np.fromfile(labels_path, dtype="<i4").astype(np.int64))
        x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        if a.double:
            model, x = model.double(), x.double()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        out = {"logits": logits, "loss": loss.reshape(1)}
        for name, prm in model.named_parameters():
            out["grad." + name] = prm.grad
        write_safetensors(out_path, out)
        return

    if a.mode == "steps":
        weights_path, input_path, labels_path, out_path = a.rest
        load_weights(model, weights_path)
        model.train()
        x = np.fromfile(input_path, dtype="<f4").reshape(-1, i["height"], i["width"], i["channels"])
        x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        y = torch.from_numpy(np.fromfile(labels_path, dtype="<i4").astype(np.int64))
        decay = [q for q in model.parameters() if q.dim() > 1]
        rest = [q for q in model.parameters() if q.dim() <= 1]
        groups = [{"params": decay, "weight_decay": a.wd}, {"params": rest, "weight_decay": 0.0}]
        if a.opt == "sgd":
            opt = torch.optim.SGD(groups, lr=a.lr, momentum=a.momentum, nesterov=a.nesterov)
        else:
            opt = torch.optim.Adam(groups, lr=a.lr, eps=a.eps)
        for _ in range(a.steps):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            if a.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
        write_safetensors(out_path, {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")})
        return

    fmt = torch.contiguous_format if a.nchw else torch.channels_last
    model = model.to(memory_format=fmt)
    x = torch.randn(a.batch, i["channels"], i["height"], i["width"]).to(memory_format=fmt)
    y = torch.randint(0, arch["classes"], (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    train = (time.perf_counter() - t0) / a.steps
    model.eval()
    with torch.no_grad():
        for _ in range(3):
            model(x)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            model(x)
    evals = (time.perf_counter() - t0) / a.steps
    layout = "nchw" if a.nchw else "channels_last"
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "layout": layout,
                      "train_step_ms": round(train * 1e3, 2), "train_images_per_s": round(a.batch / train, 1),
                      "eval_images_per_s": round(a.batch / evals, 1)}))


if __name__ == "__main__":
    main()
