# torch.ao's post-training quantization of resnet18 (FX: prepare, calibrate on the .npy samples, convert), as a
# whole process: the baseline `npm run bench -- speed` compares `quantkit quantize` with. Needs python3-torch and
# python3-torchvision (Debian). Usage: python3 torch_ptq.py CALIB_DIR
import os
import sys

import numpy as np
import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

calib = sys.argv[1]
torch.manual_seed(0)
model = torchvision.models.resnet18().eval()
samples = [torch.from_numpy(np.load(os.path.join(calib, f))) for f in sorted(os.listdir(calib)) if f.endswith('.npy')]
prepared = prepare_fx(model, get_default_qconfig_mapping('x86'), example_inputs=(samples[0],))
with torch.no_grad():
    for x in samples:
        prepared(x)
quantized = convert_fx(prepared)
with torch.no_grad():
    quantized(samples[0])
